#!/usr/bin/env node
// Run the graphql-http GraphQL-over-HTTP server audit suite against a URL.
//
// Usage:
//   node audit.mjs http://localhost:4000/graphql [--fail-on-notice] [--skip=ID,ID] [--verbose]
//
// Installed from this folder's package.json (npm ci); Node 20 or newer (global fetch).
// Exit code: 0 = every MUST/SHOULD audit passed; 1 = at least one 'error' (MUST)
// or 'warn' (SHOULD) failed (or a notice failed with --fail-on-notice); 2 = usage.
import { serverAudits } from 'graphql-http';

const args = process.argv.slice(2);
const url = args.find((a) => !a.startsWith('--'));
if (!url) {
  console.error('usage: node audit.mjs <graphql-url> [--fail-on-notice] [--skip=ID,ID] [--verbose]');
  process.exit(2);
}
const failOnNotice = args.includes('--fail-on-notice');
const verbose = args.includes('--verbose');
const skip = new Set(
  (args.find((a) => a.startsWith('--skip=')) ?? '--skip=')
    .slice('--skip='.length)
    .split(',')
    .filter(Boolean),
);

async function describeResponse(res) {
  if (!res) return '';
  let body = '';
  try {
    body = await res.clone().text();
  } catch {
    body = '<body already consumed>';
  }
  if (body.length > 300) body = body.slice(0, 300) + '…';
  return `      -> HTTP ${res.status} content-type=${res.headers.get('content-type')} body=${body}`;
}

const audits = serverAudits({ url }).filter((a) => !skip.has(a.id));
const results = [];
// Run sequentially so the server log stays readable and we don't hammer it.
for (const a of audits) {
  let r;
  try {
    r = await a.fn(); // { id, name, status: 'ok' | 'notice' | 'warn' | 'error', reason?, response? }
  } catch (err) {
    // fn() only throws on fatal problems (e.g. connection refused) -> count as error
    r = { id: a.id, name: a.name, status: 'error', reason: `fatal: ${err?.cause?.code ?? ''} ${err?.message ?? err}` };
  }
  results.push(r);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const label = { error: 'ERROR ', warn: 'WARN  ', notice: 'NOTICE' };
for (const r of results) {
  counts[r.status]++;
  if (r.status === 'ok') {
    if (verbose) console.log(`ok     [${r.id}] ${r.name}`);
    continue;
  }
  console.log(`${label[r.status]} [${r.id}] ${r.name}\n      reason: ${r.reason}`);
  const d = await describeResponse(r.response);
  if (d) console.log(d);
}
console.log(
  `\n${results.length} audits: ${counts.ok} ok, ${counts.error} error (MUST), ${counts.warn} warn (SHOULD), ${counts.notice} notice (MAY)`,
);
const failed = counts.error > 0 || counts.warn > 0 || (failOnNotice && counts.notice > 0);
process.exit(failed ? 1 : 0);
