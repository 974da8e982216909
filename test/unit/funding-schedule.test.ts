import { describe, expect, it } from 'vitest'
import {
  DEFAULT_RETRY_SCHEDULE,
  nextRetryAt,
  retryScheduleFrom,
} from '../../routes/funding/schedule.js'

const at = (iso: string) => Date.parse(iso)

describe('funding retry schedule', () => {
  it('retries on the next business day at 17:00 KST, skipping weekends', () => {
    // Friday 10:00 KST → Monday 17:00 KST.
    expect(nextRetryAt(at('2026-12-04T10:00:00+09:00'), 1)).toBe(at('2026-12-07T17:00:00+09:00'))
    // Monday 17:00 KST (a retry) → Tuesday 17:00 KST.
    expect(nextRetryAt(at('2026-12-07T17:00:00+09:00'), 2)).toBe(at('2026-12-08T17:00:00+09:00'))
    // Late Sunday UTC is already Monday in Korea: → Tuesday.
    expect(nextRetryAt(at('2026-12-06T20:00:00Z'), 1)).toBe(at('2026-12-08T17:00:00+09:00'))
  })

  it('stops after the configured retries', () => {
    const day = at('2026-12-07T17:00:00+09:00')
    expect(nextRetryAt(day, 4)).toBeDefined()
    expect(nextRetryAt(day, 5)).toBeUndefined()
    expect(nextRetryAt(day, 1, { ...DEFAULT_RETRY_SCHEDULE, retries: 0 })).toBeUndefined()
  })

  it('skips configured holidays and takes another time of day', () => {
    const schedule = retryScheduleFrom({ atKst: '09:30', holidays: '2026-12-07, 2026-12-08' })
    expect(nextRetryAt(at('2026-12-04T10:00:00+09:00'), 1, schedule)).toBe(
      at('2026-12-09T09:30:00+09:00'),
    )
  })

  it('refuses a malformed time or holiday list', () => {
    expect(() => retryScheduleFrom({ atKst: '25:00' })).toThrow(/FUNDING_RETRY_AT_KST/)
    expect(() => retryScheduleFrom({ holidays: '12/25' })).toThrow(/FUNDING_HOLIDAYS/)
  })
})
