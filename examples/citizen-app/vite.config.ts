import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

// The build ships inside the Python package, so that `helsegraf demo` serves it at /app/ without Node.
const OUT_DIR = fileURLToPath(new URL('../../src/helsegraf/http/static/app', import.meta.url));
const MANIFEST = fileURLToPath(new URL('./src/gql/persisted-documents.json', import.meta.url));

/** Ship the trusted-documents manifest GraphQL Code Generator extracted beside the bundle that sends its ids. */
function trustedDocuments(): Plugin {
  return {
    name: 'helsegraf-trusted-documents',
    apply: 'build',
    generateBundle() {
      const documents = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
      const sorted = Object.fromEntries(Object.entries(documents).sort(([a], [b]) => a.localeCompare(b)));
      this.emitFile({
        type: 'asset',
        fileName: 'trusted-documents.json',
        source: `${JSON.stringify(sorted, null, 2)}\n`,
      });
    },
  };
}

// `npm run dev` serves the sources on Vite's port and passes the API to a running helsegraf (`helsegraf demo`).
const HELSEGRAF = process.env.HELSEGRAF_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/app/',
  plugins: [react(), trustedDocuments()],
  server: {
    proxy: { '/graphql': HELSEGRAF, '/demo': HELSEGRAF, '/app/config.json': HELSEGRAF },
  },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    // No source maps: they would carry this machine's absolute paths into the package.
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
});
