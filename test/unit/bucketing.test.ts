import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BUCKETS, bucketOf, isNative, percentToBasisPoints } from '../../src/rollout/bucket.js'
import { decideBackend } from '../../src/rollout/decide.js'
import { compileFlags } from '../../src/rollout/flags.js'
import { murmur3_x86_32 } from '../../src/rollout/murmur3.js'
import vectors from '../vectors/bucketing.json'

const utf8 = (s: string) => new TextEncoder().encode(s)

describe('murmur3_x86_32', () => {
  it.each(vectors.murmur3)('matches the reference for %j', ({ seed, input, hash }) => {
    expect(murmur3_x86_32(utf8(input), seed)).toBe(hash)
  })

  it('buckets the UTF-8 bytes of the key, not its UTF-16 code units', () => {
    // A charCodeAt-based port hashes "π" as one unit (0x03c0, truncated to 0xc0) instead of its
    // two UTF-8 bytes (cf 80).
    const key = 'payment-checkout:π'
    const fromUtf8 = (murmur3_x86_32(utf8(key), 0) % BUCKETS) + 1
    const fromUnits =
      (murmur3_x86_32(
        Uint8Array.from(key, (ch) => ch.charCodeAt(0) & 0xff),
        0,
      ) %
        BUCKETS) +
      1
    // The two encodings lead to different buckets for this key, so the check below tells them apart.
    expect(fromUnits).not.toBe(fromUtf8)
    expect(bucketOf('payment-checkout', 'π')).toBe(fromUtf8)
  })
})

describe('bucketOf', () => {
  it.each(vectors.buckets)(
    'gives the published bucket for $scope:$subject',
    ({ scope, subject, bucket }) => {
      expect(bucketOf(scope, subject)).toBe(bucket)
    },
  )

  it('always falls in 1..10000', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'grapheme' }), (scope, subject) => {
        const b = bucketOf(scope, subject)
        return Number.isInteger(b) && b >= 1 && b <= BUCKETS
      }),
    )
  })

  it.each([1, 10, 50])(
    'serves %i percent of 100,000 subjects natively within ±1 point',
    (percent) => {
      const basisPoints = percentToBasisPoints(percent)
      let native = 0
      for (let i = 0; i < 100_000; i++) {
        if (isNative(bucketOf('payment-checkout', `user-${i}`), basisPoints)) native++
      }
      expect(Math.abs(native / 1000 - percent)).toBeLessThanOrEqual(1)
    },
  )

  it('is sticky: the same subject always gets the same bucket', () => {
    fc.assert(
      fc.property(fc.uuid(), (subject) => {
        const first = bucketOf('payments', subject)
        return [1, 2, 3].every(() => bucketOf('payments', subject) === first)
      }),
    )
  })

  it('is monotonic: raising a percentage never moves a native subject back to legacy', () => {
    const pct = fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100)
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), pct, pct, (subject, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a]
        const bucket = bucketOf('refund-process', subject)
        return (
          !isNative(bucket, percentToBasisPoints(low)) ||
          isNative(bucket, percentToBasisPoints(high))
        )
      }),
      { numRuns: 2_000 },
    )
  })

  it('keeps the 10 % cohort when the route is raised to 50 %', () => {
    const subjects = Array.from({ length: 20_000 }, (_, i) => `s-${i}`)
    const at10 = subjects.filter((s) => isNative(bucketOf('ai-reply-suggest', s), 1_000))
    const at50 = new Set(subjects.filter((s) => isNative(bucketOf('ai-reply-suggest', s), 5_000)))
    expect(at10.length).toBeGreaterThan(0)
    expect(at10.every((s) => at50.has(s))).toBe(true)
  })

  it('shares buckets within a group and differs across scopes', () => {
    const table = compileFlags(
      {
        routes: {
          'payment-checkout': { native: 50, group: 'payments' },
          'refund-process': { native: 50, group: 'payments' },
          'ai-reply-suggest': { native: 50 },
        },
      },
      {
        knownRoutes: new Set(['payment-checkout', 'refund-process', 'ai-reply-suggest']),
        nativeRoutes: new Set(['payment-checkout', 'refund-process', 'ai-reply-suggest']),
      },
      'test',
      'test',
    )
    const bucket = (routeId: string, subject: string) =>
      decideBackend({
        routeId,
        stayLegacy: false,
        hasNative: true,
        table,
        subject: { value: subject, source: 'jwt' },
        override: undefined,
        heldOnLegacy: undefined,
      }).bucket
    const subjects = Array.from({ length: 1_000 }, (_, i) => `u${i}`)
    // Same group: one bucket per person across the group's routes.
    for (const s of subjects)
      expect(bucket('refund-process', s)).toBe(bucket('payment-checkout', s))
    // A route outside the group is bucketed on its own.
    const differing = subjects.filter(
      (s) => bucket('ai-reply-suggest', s) !== bucket('payment-checkout', s),
    )
    expect(differing.length).toBeGreaterThan(900)
  })
})
