/**
 * MurmurHash3 x86_32 over bytes (Austin Appleby's reference, SMHasher `MurmurHash3_x86_32`).
 *
 * It hashes UTF-8 bytes, not UTF-16 code units: several JS ports call `charCodeAt` and so
 * disagree with the reference for non-ASCII input. `test/vectors/bucketing.json` pins this.
 */
export function murmur3_x86_32(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  const length = bytes.length
  const blocks = length & ~3
  let h = seed >>> 0
  let k: number

  for (let i = 0; i < blocks; i += 4) {
    k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }

  k = 0
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the reference tail falls through
    case 3:
      k ^= (bytes[blocks + 2] as number) << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the reference tail falls through
    case 2:
      k ^= (bytes[blocks + 1] as number) << 8
    case 1:
      k ^= bytes[blocks] as number
      k = Math.imul(k, c1)
      k = (k << 15) | (k >>> 17)
      k = Math.imul(k, c2)
      h ^= k
  }

  h ^= length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
