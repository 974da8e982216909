// `npm run identity:rotate`: re-encrypt identity records with the current key, the first entry
// of IDENTITY_CI_KEYS (keep the old key in the list until this has finished). Uses the
// gateway's database configuration. Prints {reencrypted, skipped}; exit 1 on failure.
import { identityCrypto, rotateIdentityKeys } from '../routes/identity/index.js'
import { loadConfig } from '../src/config.js'
import { createDb } from '../src/platform/db/create.js'

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  if (!config.IDENTITY_CI_KEYS || !config.IDENTITY_CI_HASH_KEY) {
    throw new Error('IDENTITY_CI_KEYS and IDENTITY_CI_HASH_KEY must be set')
  }
  const crypto = identityCrypto({
    keys: config.IDENTITY_CI_KEYS,
    hashKey: config.IDENTITY_CI_HASH_KEY,
  })
  const db = await createDb(config)
  try {
    console.log(JSON.stringify(await rotateIdentityKeys(db, crypto)))
  } finally {
    await db.close()
  }
}

main().catch((error: unknown) => {
  console.error(`identity:rotate: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
