import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Installs missing Debian packages and starts PostgreSQL and Redis (test/setup/).
    globalSetup: ['test/setup/provision.ts'],
    // Real servers (Postgres, Redis, workerd, Chromium) start inside tests.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
})
