import { defineConfig } from '@graphql-hive/gateway';

// Hive Gateway in front of helsegraf's register subgraphs. The subgraphs enforce authorisation
// themselves on the forwarded token (the gateway does not act on @requiresScopes / @policy /
// @authenticated), so the caller's Authorization and X-Purpose headers go to every subgraph.
export const gatewayConfig = defineConfig({
  supergraph: process.env.HELSEGRAF_SUPERGRAPH ?? './supergraph.graphql',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      authorization: request.headers.get('authorization'),
      'x-purpose': request.headers.get('x-purpose'),
      'x-request-id': request.headers.get('x-request-id'),
    }),
  },
});
