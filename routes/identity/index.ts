import { closed, defineFeature, KiB } from '../../src/route-table.js'
import { identityCrypto } from './crypto.js'
import { portOneProvider } from './portone.js'
import { IDENTITY_PROBLEMS } from './problems.js'
import { createVerifyIdentity, type IdentityDeps, VerifyBody } from './verify.js'

export type { IdentityCrypto, SealedRecord } from './crypto.js'
export { identityCrypto } from './crypto.js'
export type { IdentityProvider, ProviderVerification } from './provider.js'
export { type IdentityStatus, identityStatus, isAdultInKst, isCreatorVerified } from './status.js'
export { type SealedPerson, sealAad } from './verify.js'

/**
 * Identity verification (`verify-identity`) through PortOne V2. Native when the database, the
 * PortOne secret and both identity keys are configured.
 */
export const identity = defineFeature({
  name: 'identity',
  problems: [IDENTITY_PROBLEMS],
  setup: ({ config, db, logger, vendorFetch }): IdentityDeps | undefined => {
    if (
      !db ||
      !config.PORTONE_API_SECRET ||
      !config.IDENTITY_CI_KEYS ||
      !config.IDENTITY_CI_HASH_KEY
    )
      return undefined
    return {
      db,
      logger,
      provider: portOneProvider({
        apiSecret: config.PORTONE_API_SECRET,
        ...(config.PORTONE_STORE_ID ? { storeId: config.PORTONE_STORE_ID } : {}),
        baseUrl: config.PORTONE_API_URL,
        ...(vendorFetch?.portone ? { fetch: vendorFetch.portone } : {}),
      }),
      crypto: identityCrypto({
        keys: config.IDENTITY_CI_KEYS,
        hashKey: config.IDENTITY_CI_HASH_KEY,
      }),
      maxAgeSeconds: config.IDENTITY_MAX_AGE_SECONDS,
    }
  },
  routes: [
    {
      id: 'verify-identity',
      phase: 3,
      summary: 'Identity verification through a third party',
      aliases: ['/api/v1/identity/verify'],
      methods: ['GET', 'POST'],
      // A provider outage before anything is written may go to legacy; after the record, never.
      policy: { replay: 'before-effect', rateLimit: closed(10), bodyLimitBytes: 4 * KiB },
      native: createVerifyIdentity,
      api: [
        { method: 'GET', summary: "The caller's identity verification status" },
        { method: 'POST', summary: 'Record a completed PortOne verification', body: VerifyBody },
      ],
    },
  ],
})

export { rotateIdentityKeys } from './rotate.js'
