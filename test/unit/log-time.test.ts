import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLogger, isoTimeFormatter } from '../../src/observability/log.js'

describe('the log time', () => {
  it('is what Date#toISOString writes, for any instant and in any order', () => {
    const format = isoTimeFormatter()
    // Instants from year -271821 to 275760, clustered so consecutive ones share a second.
    const instant = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: 1_790_000_000_000, max: 1_790_000_005_000 }),
      fc.double({ min: 0, max: 4e12, noNaN: true }),
    )
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (list) => {
        for (const ms of list) expect(format(ms)).toBe(new Date(Math.floor(ms)).toISOString())
      }),
      { numRuns: 500 },
    )
  })

  it('is the clock of the logger on every kind of line', () => {
    let now = Date.UTC(2026, 11, 3, 14, 0, 59, 998)
    const lines: Record<string, unknown>[] = []
    const logger = createLogger({ clock: () => now, write: (l) => lines.push(JSON.parse(l)) })
    logger.info('one')
    now += 3 // across a second boundary
    logger.warn('two')
    expect(lines.map((l) => l.time)).toEqual([
      '2026-12-03T14:00:59.998Z',
      '2026-12-03T14:01:00.001Z',
    ])
  })
})
