import { readFileSync } from 'node:fs';
import { defineConfig, type GatewayPlugin } from '@graphql-hive/gateway';
import { Logger, type LogLevel, type LogWriter } from '@graphql-hive/logger';
import { errors, importJWK, jwtVerify, type JWK, type JWTVerifyGetKey, type KeyLike } from 'jose';

// Hive Gateway in front of helsegraf's register subgraphs.
//
// - Tokens: a present Authorization header is verified here, with the same rules as the subgraphs
//   (RS256/ES256/PS256 only, issuer, audience, exp/iss/aud/sub required, 30 s leeway), against the
//   development key's public half (HELSEGRAF_GATEWAY_JWKS_FILE, written by `helsegraf federation`
//   and `helsegraf subgraphs`) or the production JWKS (HELSEGRAF_AUTH_JWKS_URL / _JWKS_FILE). A bad
//   token is HTTP 401 UNAUTHENTICATED, as the contract says; no header is anonymous. The subgraphs
//   verify the forwarded token again and enforce authorisation themselves (defence in depth).
// - A subgraph that cannot be reached is answered with SERVICE_UNAVAILABLE naming its register.
// - Logs never carry request bodies, variables, query text or tokens (they hold identity numbers):
//   only the level, the message and a few plain attributes, with any 11-digit run masked.

const ALGORITHMS = ['RS256', 'ES256', 'PS256'];
const LEEWAY_SECONDS = 30;
const JWKS_MIN_REFETCH_MS = 1000 * Number(process.env.HELSEGRAF_AUTH_JWKS_MIN_REFETCH_S ?? 30);
const JWKS_LIFETIME_MS = 300_000;
const KID_ECHO_LIMIT = 40;

// ---- logging ---------------------------------------------------------------------------------

const LOGGED_ATTRIBUTES = new Set(['subgraph', 'subgraphName', 'status', 'statusCode', 'code', 'requestId', 'port', 'host']);
const mask = (text: string) => text.replace(/\d{11,}/g, '[number]');

// Writes one line per log record: time, level, message, and only allow-listed scalar attributes.
// Error objects contribute their name and message, never their stack, request or response.
class SafeLogWriter implements LogWriter {
  write(level: LogLevel, attrs: Record<string, unknown> | null | undefined, msg: string | null | undefined) {
    const fields: string[] = [];
    for (const [key, value] of Object.entries(attrs ?? {})) {
      if (LOGGED_ATTRIBUTES.has(key) && ['string', 'number', 'boolean'].includes(typeof value)) {
        fields.push(`${key}=${mask(String(value))}`);
      } else if (value instanceof Error || (key === 'error' && value && typeof value === 'object')) {
        const error = value as { name?: unknown; message?: unknown };
        fields.push(`error=${mask(`${String(error.name ?? 'Error')}: ${String(error.message ?? '')}`).slice(0, 300)}`);
      }
    }
    const line = [new Date().toISOString(), level.toUpperCase(), mask(String(msg ?? '')).slice(0, 500), ...fields];
    process.stderr.write(line.join(' ') + '\n');
  }
}

const log = new Logger({ level: (process.env.HELSEGRAF_GATEWAY_LOG_LEVEL as LogLevel) ?? 'info', writers: [new SafeLogWriter()] });

// ---- token verification ----------------------------------------------------------------------

class TokenError extends Error {}

type KeySource = { get: JWTVerifyGetKey; describe: () => string };

const kidText = (kid: unknown) => {
  const text = JSON.stringify(kid) ?? String(kid);
  return text.length <= KID_ECHO_LIMIT ? text : `${text.slice(0, KID_ECHO_LIMIT)}...`;
};

async function importKeys(jwks: { keys?: JWK[] }): Promise<Map<string | undefined, KeyLike | Uint8Array>> {
  const keys = new Map<string | undefined, KeyLike | Uint8Array>();
  const usable = (jwks.keys ?? []).filter((k) => !k.alg || ALGORITHMS.includes(k.alg));
  for (const jwk of usable) {
    const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
    keys.set(jwk.kid, await importJWK(jwk, alg));
  }
  if (usable.length === 1) keys.set(undefined, keys.get(usable[0].kid)!); // a token without kid may use the only key
  return keys;
}

function fileKeys(path: string): KeySource {
  const loaded = importKeys(JSON.parse(readFileSync(path, 'utf8')));
  const describe = () => `the keys of ${path}`;
  return {
    async get(header) {
      const key = (await loaded).get(header.kid);
      if (!key) throw new TokenError(unknownKey(header.kid, describe()));
      return key;
    },
    describe,
  };
}

// The keys of a JWKS URL: answered from memory, refreshed in the background when old, refetched
// for an unknown kid at most once per JWKS_MIN_REFETCH_MS, and kept when a fetch fails.
function remoteKeys(url: string): KeySource {
  let keys = new Map<string | undefined, KeyLike | Uint8Array>();
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let inFlight: Promise<void> | null = null;
  const fetchKeys = () =>
    (inFlight ??= (async () => {
      attemptedAt = Date.now();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        keys = await importKeys(await response.json());
        fetchedAt = Date.now();
      } catch (error) {
        log.warn({ error }, `cannot fetch the JWKS at ${url}; keeping the ${keys.size} keys known`);
      } finally {
        inFlight = null;
      }
    })());
  const source: KeySource = {
    async get(header) {
      const now = Date.now();
      let key = keys.get(header.kid);
      if (key && now - fetchedAt > JWKS_LIFETIME_MS && now - attemptedAt >= JWKS_MIN_REFETCH_MS) void fetchKeys();
      if (!key && (inFlight || now - attemptedAt >= JWKS_MIN_REFETCH_MS)) {
        await fetchKeys();
        key = keys.get(header.kid);
      }
      if (!key) throw new TokenError(unknownKey(header.kid, source.describe()));
      return key;
    },
    describe: () => {
      const kids = [...keys.keys()].filter((k) => k !== undefined).sort();
      return `the keys ${kids.join(', ') || 'none (the key set could not be fetched)'} of the JWKS at ${url}`;
    },
  };
  return source;
}

function unknownKey(kid: unknown, known: string): string {
  const what = kid === undefined ? 'has no key id (kid)' : `key id ${kidText(kid)} is unknown`;
  return `the token's ${what}: the gateway knows ${known}`;
}

function keySource(): KeySource {
  const file = process.env.HELSEGRAF_GATEWAY_JWKS_FILE || process.env.HELSEGRAF_AUTH_JWKS_FILE;
  if (file) return fileKeys(file);
  const url = process.env.HELSEGRAF_AUTH_JWKS_URL;
  if (url) return remoteKeys(url);
  throw new Error(
    'the gateway verifies tokens: set HELSEGRAF_GATEWAY_JWKS_FILE (the jwks.json `helsegraf subgraphs` writes), ' +
      'HELSEGRAF_AUTH_JWKS_FILE or HELSEGRAF_AUTH_JWKS_URL',
  );
}

const issuer = process.env.HELSEGRAF_AUTH_ISSUER || 'helsegraf-development';
const audience = process.env.HELSEGRAF_AUTH_AUDIENCE || 'helsegraf';
const keys = keySource();

function reason(error: unknown): string {
  if (error instanceof TokenError) return error.message;
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'the token is not valid yet';
    if (error.claim === 'aud') return 'the token is for another audience';
    if (error.claim === 'iss') return 'the token comes from an untrusted issuer';
    return `the token is invalid: claim ${kidText(error.claim)} ${error.reason === 'missing' ? 'is missing' : 'fails'}`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof errors.JOSEAlgNotAllowed) return `token algorithm is not accepted; use one of ${ALGORITHMS.join(', ')}`;
  if (error instanceof errors.JOSEError) return 'the token is not a valid JWT';
  return 'the token is invalid';
}

async function verify(authorization: string): Promise<void> {
  const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length) {
    throw new TokenError("the Authorization header must be 'Bearer <token>'");
  }
  await jwtVerify(token, keys.get, {
    algorithms: ALGORITHMS,
    issuer,
    audience,
    clockTolerance: LEEWAY_SECONDS,
    requiredClaims: ['exp', 'iss', 'aud', 'sub'],
  });
}

const graphqlError = (message: string, code: string, extensions: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extensions } }],
});

const verifyTokens: GatewayPlugin = {
  async onRequest({ request, url, endResponse, fetchAPI }) {
    const authorization = request.headers.get('authorization');
    if (authorization === null || !url.pathname.startsWith('/graphql')) return;
    try {
      await verify(authorization);
    } catch (error) {
      const requestId = request.headers.get('x-request-id');
      endResponse(
        new fetchAPI.Response(JSON.stringify(graphqlError(reason(error), 'UNAUTHENTICATED')), {
          status: 401,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'www-authenticate': 'Bearer error="invalid_token"',
            ...(requestId ? { 'x-request-id': requestId } : {}),
          },
        }),
      );
    }
  },
};

// ---- an unavailable register -------------------------------------------------------------------

const registerByUrl = new Map<string, string>();
if (process.env.HELSEGRAF_SUBGRAPHS) {
  const listed: { name: string; url: string }[] = JSON.parse(readFileSync(process.env.HELSEGRAF_SUBGRAPHS, 'utf8'));
  for (const { name, url } of listed) registerByUrl.set(url, name);
}

const nameUnavailableRegisters: GatewayPlugin = {
  onFetch({ url, fetchFn, setFetchFn }) {
    const register = registerByUrl.get(url) ?? new URL(url).host;
    setFetchFn(async (...args) => {
      try {
        return await fetchFn(...args);
      } catch (error) {
        log.warn({ error, subgraph: register }, `the ${register} subgraph is unavailable`);
        const body = graphqlError(`the ${register} register is unavailable; try again later`, 'SERVICE_UNAVAILABLE', {
          register,
        });
        return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
      }
    });
  },
};

export const gatewayConfig = defineConfig({
  supergraph: process.env.HELSEGRAF_SUPERGRAPH ?? './supergraph.graphql',
  logging: log,
  plugins: () => [verifyTokens, nameUnavailableRegisters],
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      authorization: request.headers.get('authorization'),
      'x-purpose': request.headers.get('x-purpose'),
      'x-request-id': request.headers.get('x-request-id'),
    }),
  },
});
