// Bundles the Node entry into dist/node.js, dependencies included: resolving and compiling
// hundreds of package files one by one was most of the start-up time (see BENCHMARKS.md).
// PGlite stays external because it loads its WebAssembly and data files from beside its own
// module; pg-native is an optional native addon that pg only tries. Sentry and OpenTelemetry
// are imported only when configured (SENTRY_DSN, OTEL_EXPORTER_OTLP_ENDPOINT): kept out of the
// bundle, a gateway without them does not parse them at start.
import { build } from 'esbuild'
import { copyDocsScript } from './docs-assets.mjs'

await build({
  entryPoints: ['src/entries/node.ts'],
  outfile: 'dist/node.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: [
    '@electric-sql/pglite',
    'pg-native',
    '@sentry/node',
    '@opentelemetry/sdk-trace',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/resources',
  ],
  // CommonJS packages in an ESM bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: 'warning',
})

// The /docs reference's script beside the bundle (scripts/docs-assets.mjs).
await copyDocsScript('dist/assets')
