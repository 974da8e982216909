// The import rules of docs/ARCHITECTURE.md ("Layers and their import rules"), checked by
// `npm run lint`. There is no exceptions list: a module that needs to break a rule moves to the
// layer it belongs to.

/** Core primitives: imported by every layer, import nothing above themselves. */
const PRIMITIVES =
  '^src/(errors|problems|types|config|route-table)\\.ts$|^src/(platform|observability|kit)/'
const ROLLOUT = '^src/rollout/'
const LEGACY = '^legacy-proxy/'
const CORE = '^src/[^/]+\\.tsx?$|^src/(middleware|security)/'
const ADMIN = '^src/admin/'
const ENTRIES = '^src/entries/'
const FEATURES = '^routes/[^/]+/'
const OURS = '^(src|routes|legacy-proxy)/'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No module reaches itself through its imports, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'only-entries-import-features',
      comment: 'The core reaches the features only through the route table the entries pass in.',
      severity: 'error',
      from: { path: '^(src|legacy-proxy)/', pathNot: ENTRIES },
      to: { path: '^routes/' },
    },
    {
      name: 'nothing-imports-entries',
      severity: 'error',
      from: { pathNot: ENTRIES },
      to: { path: ENTRIES },
    },
    {
      name: 'primitives-import-only-primitives',
      severity: 'error',
      from: { path: PRIMITIVES },
      to: { path: OURS, pathNot: PRIMITIVES },
    },
    {
      name: 'rollout-imports-only-primitives',
      comment:
        'The rollout runtime (flags, stores, breakers, auto-rollback, audit) sits under the core.',
      severity: 'error',
      from: { path: ROLLOUT },
      to: { path: OURS, pathNot: [PRIMITIVES, ROLLOUT] },
    },
    {
      name: 'legacy-proxy-imports-only-primitives',
      severity: 'error',
      from: { path: LEGACY },
      to: { path: '^(src|routes)/', pathNot: PRIMITIVES },
    },
    {
      name: 'core-does-not-import-admin',
      comment: 'The admin surface is mounted by the entries through Deps.mount.',
      severity: 'error',
      from: { path: CORE },
      to: { path: ADMIN },
    },
    {
      name: 'admin-imports-core-and-rollout',
      severity: 'error',
      from: { path: ADMIN },
      to: { path: LEGACY },
    },
    {
      name: 'features-import-only-primitives',
      comment: 'A feature is written against the core primitives, never the pipeline around it.',
      severity: 'error',
      from: { path: FEATURES },
      to: { path: '^(src|legacy-proxy)/', pathNot: PRIMITIVES },
    },
    {
      name: 'features-meet-through-index',
      comment: "A feature uses another only through that feature's index.ts.",
      severity: 'error',
      from: { path: '^routes/([^/]+)/' },
      to: { path: '^routes/', pathNot: ['^routes/$1/', '^routes/[^/]+/index\\.ts$'] },
    },
    {
      name: 'feature-list-imports-feature-indexes',
      severity: 'error',
      from: { path: '^routes/index\\.ts$' },
      to: { path: OURS, pathNot: [PRIMITIVES, '^routes/[^/]+/index\\.ts$'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import the checker cannot resolve would escape every rule above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.json'],
    },
  },
}
