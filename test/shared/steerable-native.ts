import { DependencyUnavailableError } from '../../src/errors.js'
import type { NativeHandler } from '../../src/types.js'

/** A native handler for routing tests: `?mode=dependency-down` fails before any effect. */
export const steerableNative: NativeHandler = async (c) => {
  if (new URL(c.req.url).searchParams.get('mode') === 'dependency-down') {
    throw new DependencyUnavailableError('test-dependency')
  }
  return c.json({ served: 'native', body: await c.req.text() })
}
