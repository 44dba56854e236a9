import { persistedExchange } from '@urql/exchange-persisted';
import { Client, cacheExchange, fetchExchange, type Exchange } from 'urql';
import type { AppConfig } from './config';

/** The server could not be reached at all (it is down, or the network is). */
export class ServiceUnreachableError extends Error {
  constructor(readonly requestId: string) {
    super('helsegraf svarer ikke');
  }
}

export interface Rejection {
  code: string | null;
  requestId: string | null;
}

/** The id each request was sent with (the server answers some refusals without echoing it). */
const sentIds = new WeakMap<Response, string>();

export function requestIdOf(response: Response | undefined): string | null {
  if (!response) return null;
  return response.headers?.get('x-request-id') ?? sentIds.get(response) ?? null;
}

function newRequestId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID().replace(/-/g, '');
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * fetch that names every request (`X-Request-Id`, which the server logs and echoes), so that an error the
 * citizen sees can be found in the server's log, even when no answer came back.
 */
function namedFetch(onRejected: (rejection: Rejection) => void): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const requestId = newRequestId();
    headers.set('x-request-id', requestId);
    let response: Response;
    try {
      response = await fetch(input, { ...init, headers });
    } catch {
      throw new ServiceUnreachableError(requestId);
    }
    sentIds.set(response, requestId);
    if (response.status === 401) {
      // An expired, revoked or otherwise refused token: the session is over, whatever the view was doing.
      const body = (await response
        .clone()
        .json()
        .catch(() => null)) as { errors?: { extensions?: { code?: string } }[] } | null;
      onRejected({ code: body?.errors?.[0]?.extensions?.code ?? null, requestId: requestIdOf(response) });
    }
    return response;
  };
}

/** The persisted-document id GraphQL Code Generator embedded in each document (`sha256:<hex>`). */
function documentHash(_query: string, document: unknown): Promise<string> {
  return Promise.resolve((document as { __meta__: { hash: string } }).__meta__.hash);
}

/** A client for one signed-in session: its cache never outlives the token it was filled with. */
export function createClient(config: AppConfig, token: string, onRejected: (rejection: Rejection) => void): Client {
  const exchanges: Exchange[] = [cacheExchange];
  if (config.trustedDocuments) {
    // Only ids leave the browser; the server runs the document its manifest holds under that id.
    exchanges.push(
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        preferGetForPersistedQueries: false,
        generateHash: documentHash,
      }),
    );
  }
  exchanges.push(fetchExchange);
  return new Client({
    url: config.graphqlUrl,
    exchanges,
    preferGetMethod: false,
    fetch: namedFetch(onRejected),
    fetchOptions: () => ({
      headers: { authorization: `Bearer ${token}`, 'x-purpose': 'innsyn' },
    }),
  });
}
