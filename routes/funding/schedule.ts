/**
 * When a declined charge is tried again. The default follows the Korean reward-funding practice
 * (Wadiz: a failed payment is retried on each of the next 4 business days at 17:00 KST, then the
 * pledge is cancelled): configurable, because the right schedule is a business decision.
 */
export interface RetrySchedule {
  /** Retries after the first attempt; the pledge fails after the last one. */
  retries: number
  /** Local time of each retry, `HH:MM` in KST. */
  atKst: string
  /** Only Monday to Friday, skipping `holidays`. */
  businessDaysOnly: boolean
  /** KST dates (`YYYY-MM-DD`) on which no retry is made (public holidays). */
  holidays: readonly string[]
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  retries: 4,
  atKst: '17:00',
  businessDaysOnly: true,
  holidays: [],
}

const KST_OFFSET_MS = 9 * 3600_000
const DAY_MS = 24 * 3600_000

/**
 * The moment of the next retry after a decline at `nowMs`: the next (business) day after today
 * in KST, at `atKst`. Returns undefined when `attempt` (1 = the first charge) was the last one.
 *
 * @example
 * // Declined on Friday 2026-12-04 at 10:00 KST: retried Monday 2026-12-07 at 17:00 KST.
 * nextRetryAt(Date.parse('2026-12-04T10:00:00+09:00'), 1) // → Date.parse('2026-12-07T17:00:00+09:00')
 */
export function nextRetryAt(
  nowMs: number,
  attempt: number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): number | undefined {
  if (attempt >= 1 + schedule.retries) return undefined
  const [hours, minutes] = schedule.atKst.split(':').map(Number) as [number, number]
  const holidays = new Set(schedule.holidays)
  // Midnight of today's KST date, expressed on a UTC clock shifted by +9 h.
  let day = Math.floor((nowMs + KST_OFFSET_MS) / DAY_MS) * DAY_MS
  for (let i = 0; i < 366; i++) {
    day += DAY_MS
    const date = new Date(day)
    const weekday = date.getUTCDay()
    if (schedule.businessDaysOnly && (weekday === 0 || weekday === 6)) continue
    if (holidays.has(date.toISOString().slice(0, 10))) continue
    return day + (hours * 60 + minutes) * 60_000 - KST_OFFSET_MS
  }
  return undefined
}

/** Parse `FUNDING_RETRY_*` settings; throws a TypeError naming the bad value. */
export function retryScheduleFrom(input: {
  retries?: number
  atKst?: string
  businessDaysOnly?: boolean
  holidays?: string
}): RetrySchedule {
  const atKst = input.atKst ?? DEFAULT_RETRY_SCHEDULE.atKst
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(atKst)) {
    throw new TypeError('FUNDING_RETRY_AT_KST must be HH:MM')
  }
  const holidays = (input.holidays ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
  for (const day of holidays) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
      throw new TypeError('FUNDING_HOLIDAYS must be comma-separated YYYY-MM-DD dates')
    }
  }
  return {
    retries: input.retries ?? DEFAULT_RETRY_SCHEDULE.retries,
    atKst,
    businessDaysOnly: input.businessDaysOnly ?? true,
    holidays,
  }
}
