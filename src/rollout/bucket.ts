import { murmur3_x86_32 } from './murmur3.js'

/** Buckets per route: a percentage with two decimals maps to a whole number of buckets. */
export const BUCKETS = 10_000

const encoder = new TextEncoder()

/**
 * The sticky bucket (1..10000) of `subject` within a route or group (DESIGN.md section 4):
 * `murmur3_x86_32(utf8("<group or route id>:<subject>"), 0) % 10000 + 1`.
 *
 * @example bucketOf('payments', 'user-1') // the same number on Node and in workerd
 */
export function bucketOf(scope: string, subject: string): number {
  return (murmur3_x86_32(encoder.encode(`${scope}:${subject}`), 0) % BUCKETS) + 1
}

/** Native iff the bucket is within the percentage: raising it only ever adds subjects. */
export function isNative(bucket: number, nativeBasisPoints: number): boolean {
  return bucket <= nativeBasisPoints
}

/** 12.34 % → 1234 buckets. */
export const percentToBasisPoints = (percent: number) => Math.round(percent * 100)
