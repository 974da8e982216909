import {
  type IdentityProvider,
  ProviderRejectedError,
  ProviderUnavailableError,
  type ProviderVerification,
} from './provider.js'

export interface PortOneOptions {
  /** V2 API secret (`Authorization: PortOne <secret>`). */
  apiSecret: string
  storeId?: string
  baseUrl?: string
  timeoutMs?: number
  fetch?: typeof fetch
}

interface PortOneCustomer {
  id?: unknown
  name?: unknown
  birthDate?: unknown
  phoneNumber?: unknown
  gender?: unknown
  isForeigner?: unknown
  ci?: unknown
  di?: unknown
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)

/**
 * PortOne V2 identity verification: `GET /identity-verifications/{id}?storeId=` answers
 * `{status: "READY" | "VERIFIED" | "FAILED", id, verifiedCustomer?, verifiedAt?, ...}`; an
 * unknown id is 404 `IDENTITY_VERIFICATION_NOT_FOUND`; errors are `{type, message}`.
 */
export function portOneProvider(options: PortOneOptions): IdentityProvider {
  const {
    apiSecret,
    storeId,
    baseUrl = 'https://api.portone.io',
    timeoutMs = 5_000,
    fetch: fetchImpl = fetch,
  } = options
  return {
    name: 'portone',
    async fetchVerification(id): Promise<ProviderVerification | undefined> {
      const url = new URL(`${baseUrl}/identity-verifications/${encodeURIComponent(id)}`)
      if (storeId) url.searchParams.set('storeId', storeId)
      let response: Response
      try {
        response = await fetchImpl(url, {
          headers: { authorization: `PortOne ${apiSecret}`, accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (cause) {
        throw new ProviderUnavailableError('PortOne could not be reached', { cause })
      }
      const body = (await response.json().catch(() => undefined)) as
        | Record<string, unknown>
        | undefined
      if (response.status === 404) return undefined
      if (response.status >= 500 || response.status === 429) {
        throw new ProviderUnavailableError(`PortOne answered ${response.status}`)
      }
      if (!response.ok || !body) {
        throw new ProviderRejectedError(response.status, str(body?.type) ?? 'UNKNOWN')
      }
      const status = body.status
      const returnedId = str(body.id) ?? id
      if (status === 'VERIFIED') {
        const c = (body.verifiedCustomer ?? {}) as PortOneCustomer
        const name = str(c.name)
        const birthDate = str(c.birthDate)
        const verifiedAt = str(body.verifiedAt)
        if (!name || !birthDate || !verifiedAt) {
          throw new ProviderRejectedError(502, 'INCOMPLETE_VERIFIED_CUSTOMER')
        }
        return {
          status: 'VERIFIED',
          id: returnedId,
          verifiedAt,
          person: {
            customerId: str(c.id),
            name,
            birthDate,
            ci: str(c.ci),
            di: str(c.di),
            phoneNumber: str(c.phoneNumber),
            gender: str(c.gender),
            isForeigner: typeof c.isForeigner === 'boolean' ? c.isForeigner : undefined,
          },
        }
      }
      if (status === 'READY' || status === 'FAILED') return { status, id: returnedId }
      throw new ProviderRejectedError(502, 'UNKNOWN_STATUS')
    },
  }
}
