/**
 * The Debian packages the test suite needs, in one list. Before any test runs, `npm test`
 * installs the missing ones with apt-get (as root, or through passwordless sudo) and otherwise
 * stops with one line naming them. Add a row when a test starts to need a new program.
 */
export interface DebianPackage {
  /** The package name for `apt-get install`. */
  name: string
  /** A file the package installs; the package counts as present when it exists. */
  provides: string
  /** Who needs it, shown when it cannot be installed. */
  neededBy: string
  /** A server package: needed only when that service is not already reachable. */
  server?: 'postgres' | 'redis'
}

export const DEBIAN_PACKAGES: readonly DebianPackage[] = [
  {
    name: 'postgresql',
    provides: '/usr/bin/pg_ctlcluster',
    neededBy: 'the database tests',
    server: 'postgres',
  },
  {
    name: 'redis-server',
    provides: '/usr/bin/redis-server',
    neededBy: 'the rate-limit and flag tests',
    server: 'redis',
  },
  {
    name: 'chromium',
    provides: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    neededBy: 'the browser tests',
  },
  { name: 'poppler-utils', provides: '/usr/bin/pdftotext', neededBy: 'the PDF statement tests' },
  {
    name: 'openssl',
    provides: '/usr/bin/openssl',
    neededBy: 'the HTTPS legacy test (a certificate of its own)',
  },
]
