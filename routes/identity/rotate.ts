import type { Db } from '../../src/platform/db/port.js'
import type { IdentityCrypto } from './crypto.js'
import { sealAad } from './verify.js'

interface Sealed {
  userId: string
  piiKeyId: string
  piiCiphertext: string
}

/**
 * Re-encrypt every identity record not sealed with the current key (the first of
 * IDENTITY_CI_KEYS), in batches. Each record is replaced only if it is still the one read, so
 * a verification recorded meanwhile is never overwritten. Returns what it did.
 */
export async function rotateIdentityKeys(
  db: Db,
  crypto: IdentityCrypto,
  { batch = 100, shouldStop = () => false }: { batch?: number; shouldStop?: () => boolean } = {},
): Promise<{ reencrypted: number; skipped: number }> {
  let reencrypted = 0
  let skipped = 0
  const seen = new Set<string>()
  while (!shouldStop()) {
    const records = (
      await db.call<Sealed[]>('identity_records_to_rotate', {
        p_current_key_id: crypto.currentKeyId,
        p_limit: batch,
      })
    ).filter((r) => !seen.has(r.userId))
    if (records.length === 0) break
    for (const record of records) {
      seen.add(record.userId)
      const aad = sealAad(record.userId)
      const data = await crypto.open(
        { keyId: record.piiKeyId, ciphertext: record.piiCiphertext },
        aad,
      )
      const sealed = await crypto.seal(data, aad)
      const replaced = await db.call<boolean>('identity_reencrypt', {
        p_user_id: record.userId,
        p_old_ciphertext: record.piiCiphertext,
        p_key_id: sealed.keyId,
        p_ciphertext: sealed.ciphertext,
      })
      if (replaced) reencrypted++
      else skipped++
    }
  }
  return { reencrypted, skipped }
}
