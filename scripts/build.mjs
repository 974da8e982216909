// Bundles the Node entry into dist/node.js. Packages stay external: the image installs the
// production dependencies next to it, and start-up skips parsing what it does not import.
import { build } from 'esbuild'

await build({
  entryPoints: ['src/node.ts'],
  outfile: 'dist/node.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
})
