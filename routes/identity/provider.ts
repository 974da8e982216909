import { AppError } from '../../src/errors.js'
/**
 * The identity provider port: the gateway asks the provider for a verification by id and never
 * trusts the client's copy. One implementation per provider (PortOne V2 first, `portone.ts`).
 */

export interface VerifiedPerson {
  /** The customer id the verification was requested for (bound to our user id). */
  customerId: string | undefined
  name: string
  /** `yyyy-MM-dd`. */
  birthDate: string
  ci: string | undefined
  di: string | undefined
  phoneNumber: string | undefined
  gender: string | undefined
  isForeigner: boolean | undefined
}

export type ProviderVerification =
  | { status: 'VERIFIED'; id: string; verifiedAt: string; person: VerifiedPerson }
  | { status: 'READY' | 'FAILED'; id: string }

export interface IdentityProvider {
  /** `portone`, stored with the record. */
  readonly name: string
  /**
   * The verification as the provider holds it, or undefined when it does not know the id.
   * @throws ProviderUnavailableError when the provider cannot be reached or answers 5xx;
   *   ProviderRejectedError when it refuses our credentials or the request.
   */
  fetchVerification(id: string): Promise<ProviderVerification | undefined>
}

export class ProviderUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProviderUnavailableError'
  }
}

export class ProviderRejectedError extends AppError {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`the identity provider refused the request (${status} ${code})`)
    this.name = 'ProviderRejectedError'
  }
}
