#!/usr/bin/env node
// Compose helsegraf's subgraphs into a Federation 2 supergraph with @theguild/federation-composition.
//
// Usage: node compose.mjs subgraphs.json supergraph.graphql
//   subgraphs.json: [{"name": "preg", "sdl": "subgraphs/preg.graphql", "url": "http://127.0.0.1:4101/graphql"}, ...]
//   (`helsegraf federation` writes both the SDL files and this list.)
// Exit code: 0 when the supergraph is written, 1 on composition errors (each printed as CODE: message), 2 on usage.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';

const [listFile, out] = process.argv.slice(2);
if (!listFile || !out) {
  console.error('usage: node compose.mjs subgraphs.json supergraph.graphql');
  process.exit(2);
}
const base = dirname(resolve(listFile));
const services = JSON.parse(readFileSync(listFile, 'utf8')).map(({ name, sdl, url }) => ({
  name,
  url,
  typeDefs: parse(readFileSync(resolve(base, sdl), 'utf8')),
}));
const result = composeServices(services);
if (compositionHasErrors(result)) {
  for (const error of result.errors) console.error(`${error.extensions?.code ?? 'ERROR'}: ${error.message}`);
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl);
console.error(`supergraph of ${services.length} subgraphs written to ${out}`);
