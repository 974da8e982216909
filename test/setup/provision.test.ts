import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The suite's global set-up stops the run before any test, with one line saying what is wrong,
 * when a service it needs answers but cannot be used (here a Redis that wants a password).
 */
let redis: Server
let url: string

beforeAll(async () => {
  redis = createServer((socket) => {
    socket.on('data', () => socket.write('-NOAUTH Authentication required.\r\n'))
  })
  redis.listen(0, '127.0.0.1')
  await once(redis, 'listening')
  url = `redis://127.0.0.1:${(redis.address() as { port: number }).port}`
})

afterAll(() => new Promise<void>((resolve) => redis.close(() => resolve())))

describe('npm test provisioning', () => {
  it('stops at once with one line naming the service and its answer', async () => {
    const failed = await promisify(execFile)(
      'npx',
      ['vitest', 'run', 'test/unit/bucketing.test.ts'],
      { env: { ...process.env, TEST_REDIS_URL: url, CI: 'true' } },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error)
    expect(failed).toMatchObject({ code: 1 })
    const { stdout, stderr } = failed as { stdout: string; stderr: string }
    const lines = stderr.split('\n').filter((l) => l.startsWith('npm test:'))
    expect(lines).toEqual([
      `npm test: Redis at ${url} answered PING with "-NOAUTH Authentication required."`,
    ])
    expect(stdout).not.toMatch(/Test Files|passed|skipped/)
  }, 60_000)
})
