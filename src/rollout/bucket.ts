import { murmur3_x86_32 } from './murmur3.js'

/** Buckets per route: a percentage with two decimals maps to a whole number of buckets. */
export const BUCKETS = 10_000

const encoder = new TextEncoder()
/** Reused across calls (bucketing is synchronous): no allocation per decision for usual keys. */
let scratch = new Uint8Array(256)

/**
 * The sticky bucket (1..10000) of `subject` within a route or group:
 * `murmur3_x86_32(utf8("<group or route id>:<subject>"), 0) % 10000 + 1`.
 *
 * @example bucketOf('payments', 'user-1') // the same number on Node and in workerd
 */
export function bucketOf(scope: string, subject: string): number {
  const key = `${scope}:${subject}`
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3)
  const { written } = encoder.encodeInto(key, scratch)
  return (murmur3_x86_32(scratch.subarray(0, written), 0) % BUCKETS) + 1
}

/** Native iff the bucket is within the percentage: raising it only ever adds subjects. */
export function isNative(bucket: number, nativeBasisPoints: number): boolean {
  return bucket <= nativeBasisPoints
}

/** 12.34 % → 1234 buckets. */
export const percentToBasisPoints = (percent: number) => Math.round(percent * 100)
