const encoder = new TextEncoder()

/**
 * Compare two secrets without an early exit on the first differing byte. Length differences
 * still return false, after a comparison of the same cost.
 */
export function timingSafeEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ (b[i] as number)
  return diff === 0
}
