/**
 * Settlement periods are calendar months in Korea Standard Time. Korea has no daylight saving
 * (none since 1988), so KST is a fixed UTC+9 and a KST date is a plain `YYYY-MM-DD`.
 */

const KST_OFFSET_MS = 9 * 60 * 60 * 1000

export interface Period {
  /** `YYYY-MM`. */
  id: string
  /** First KST day of the month (inclusive). */
  start: string
  /** First KST day of the next month (exclusive). */
  end: string
}

export const PERIOD_PATTERN = /^(20[0-9]{2})-(0[1-9]|1[0-2])$/

/** `2026-01` → its KST date range. The caller has validated the pattern. */
export function monthPeriod(id: string): Period {
  const match = PERIOD_PATTERN.exec(id)
  if (!match) throw new RangeError(`not a period: ${id}`)
  const year = Number(match[1])
  const month = Number(match[2])
  const next = month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 }
  return { id, start: `${id}-01`, end: `${next.year}-${pad(next.month)}-01` }
}

/** The KST calendar date of an instant. */
export function kstDate(instant: Date | number): string {
  return new Date(new Date(instant).getTime() + KST_OFFSET_MS).toISOString().slice(0, 10)
}

/** The instant a KST date begins. */
export function kstMidnight(date: string): Date {
  return new Date(`${date}T00:00:00+09:00`)
}

const pad = (n: number) => String(n).padStart(2, '0')
