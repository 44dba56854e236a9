import type { CodegenConfig } from '@graphql-codegen/cli';

// Types and typed documents from helsegraf's SDL (`helsegraf schema > schema.graphql`), and the
// trusted-documents manifest: every operation of the app, keyed by the sha256 of its text, the
// format `HELSEGRAF_TRUSTED_DOCUMENTS` reads. The SDL carries Federation directives whose
// definitions live in the federation spec, not in the file: `assumeValidSDL` lets them through.
const config: CodegenConfig = {
  schema: { './schema.graphql': { assumeValidSDL: true } } as unknown as string,
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { Date: 'string', DateTime: 'string' } },
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' },
      },
    },
  },
};

export default config;
