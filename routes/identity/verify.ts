import { z } from 'zod'
import { DependencyUnavailableError } from '../../src/errors.js'
import { requireUserId } from '../../src/kit/caller.js'
import { parseInput, readJson } from '../../src/kit/request.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import { withEffect } from '../../src/platform/effect.js'
import type { NativeHandler } from '../../src/types.js'
import type { IdentityCrypto } from './crypto.js'
import { dbCall } from './http.js'
import { IDENTITY_PROBLEMS } from './problems.js'
import {
  type IdentityProvider,
  ProviderRejectedError,
  ProviderUnavailableError,
} from './provider.js'
import { type IdentityStatus, isAdultInKst } from './status.js'

export interface IdentityDeps {
  db: Db
  provider: IdentityProvider
  crypto: IdentityCrypto
  logger: Logger
  /** A verification older than this (since the provider's `verifiedAt`) is refused. */
  maxAgeSeconds: number
  clock?: () => number
}

export const VerifyBody = z
  .object({
    identityVerificationId: z
      .string({ error: 'required: the id the client passed to requestIdentityVerification' })
      .regex(/^[A-Za-z0-9_-]{1,200}$/, '1-200 characters of A-Z a-z 0-9 _ -'),
  })
  .strict()

/** Personal data the gateway stores encrypted (never logged, never answered). */
export interface SealedPerson {
  ci: string
  di: string | null
  name: string
  birthDate: string
  phoneNumber: string | null
  gender: string | null
  isForeigner: boolean | null
}

/** Additional data bound into the ciphertext: a record cannot be moved to another user. */
export const sealAad = (userId: string) => `identity:${userId}`

/**
 * `verify-identity`: `POST {identityVerificationId}` after the client finished the provider's
 * flow (PortOne `requestIdentityVerification` with `customer.id` = the user id). The result is
 * fetched from the provider server-side; it must be VERIFIED, requested for this user, recent
 * and carry a CI. Then CI, DI, name, birth date and phone are stored encrypted with a keyed CI
 * hash; the same CI on another account is flagged for ops and answered 409. `GET` answers the
 * caller's own status.
 */
export function createVerifyIdentity(deps: IdentityDeps): NativeHandler {
  const { db, provider, crypto, maxAgeSeconds, clock = Date.now } = deps
  const log = deps.logger.child({ component: 'identity' })
  return async function verifyIdentity(c) {
    const userId = requireUserId(c)
    if (c.req.method === 'GET') {
      return c.json(await dbCall(db.call<IdentityStatus>('identity_status', { p_user_id: userId })))
    }
    const { identityVerificationId: id } = parseInput(VerifyBody, await readJson(c))

    let verification: Awaited<ReturnType<IdentityProvider['fetchVerification']>>
    try {
      verification = await provider.fetchVerification(id)
    } catch (error) {
      if (error instanceof ProviderUnavailableError) {
        throw new DependencyUnavailableError('identity-provider', { cause: error })
      }
      if (error instanceof ProviderRejectedError) {
        log.error('identity provider refused the lookup', {
          status: error.status,
          code: error.code,
        })
        throw IDENTITY_PROBLEMS.error('identity-provider-error', { detail: error.code })
      }
      throw error
    }
    const field = 'identityVerificationId'
    if (!verification) {
      throw IDENTITY_PROBLEMS.error('verification-not-found', {
        detail: 'The provider does not know this id',
        field,
      })
    }
    if (verification.status !== 'VERIFIED') {
      throw IDENTITY_PROBLEMS.error('verification-not-verified', {
        detail: `The provider reports ${verification.status}`,
        field,
      })
    }
    const { person } = verification
    if (person.customerId?.toLowerCase() !== userId) {
      log.warn('verification bound to another customer refused', { provider: provider.name })
      throw IDENTITY_PROBLEMS.error('verification-other-user', {
        detail: 'The verification was not requested for the signed-in user',
        field,
      })
    }
    const verifiedAtMs = Date.parse(verification.verifiedAt)
    if (!Number.isFinite(verifiedAtMs) || clock() - verifiedAtMs > maxAgeSeconds * 1000) {
      throw IDENTITY_PROBLEMS.error('verification-expired', {
        detail: `Verify again: a result is accepted for ${maxAgeSeconds} seconds`,
        field,
      })
    }
    const birth = /^(\d{4})-(\d{2})-(\d{2})$/.exec(person.birthDate)
    if (!person.ci || !birth) {
      throw IDENTITY_PROBLEMS.error('verification-incomplete', {
        detail: 'This verification channel does not deliver what the platform needs',
        field,
      })
    }

    const sealed = await crypto.seal(
      {
        ci: person.ci,
        di: person.di ?? null,
        name: person.name,
        birthDate: person.birthDate,
        phoneNumber: person.phoneNumber ?? null,
        gender: person.gender ?? null,
        isForeigner: person.isForeigner ?? null,
      } satisfies SealedPerson,
      sealAad(userId),
    )
    const ciHash = await crypto.ciHash(person.ci)
    const birthYear = Number(birth[1])
    const result = await withEffect(c, 'identity-record', () =>
      dbCall(
        db.call<{ outcome: 'verified' | 'duplicate-ci'; flagId?: number } & IdentityStatus>(
          'identity_record',
          {
            p_user_id: userId,
            p_provider: provider.name,
            p_verification_id: id,
            p_ci_hash: ciHash,
            p_pii_key_id: sealed.keyId,
            p_pii_ciphertext: sealed.ciphertext,
            p_birth_year: birthYear,
            p_verified_at: new Date(verifiedAtMs).toISOString(),
          },
        ),
        {
          'verification-reused': () =>
            IDENTITY_PROBLEMS.error('verification-reused', {
              detail: 'Start a new verification',
              field,
            }),
        },
      ),
    )
    if (result.outcome === 'duplicate-ci') {
      log.warn('identity already verified on another account: flagged for ops', {
        flagId: result.flagId,
      })
      throw IDENTITY_PROBLEMS.error('identity-already-linked', {
        detail:
          'The identity is linked to another account. It was not added to this one; support has been notified and will contact you.',
        extra: { flagId: result.flagId },
      })
    }
    log.info('identity verified', { provider: provider.name })
    return c.json({
      verified: true,
      provider: provider.name,
      verifiedAt: result.verifiedAt,
      adult: isAdultInKst(birthYear, clock()),
    })
  }
}
