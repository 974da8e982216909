import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for PortOne V2's identity verification API: `GET /identity-verifications/{id}
 * ?storeId=` with `Authorization: PortOne <secret>`, answering the verification object as the
 * server SDK types it (`status` READY | VERIFIED | FAILED, `verifiedCustomer{id, name,
 * birthDate, phoneNumber, gender, isForeigner, ci, di}`, `verifiedAt`, RFC 3339 times) and
 * errors as `{type, message}`: 401 UNAUTHORIZED, 403 FORBIDDEN (another store), 404
 * IDENTITY_VERIFICATION_NOT_FOUND.
 */
export interface PortOneCustomerSeed {
  customerId?: string
  name?: string
  birthDate?: string
  phoneNumber?: string
  gender?: 'MALE' | 'FEMALE'
  isForeigner?: boolean
  ci?: string | null
  di?: string | null
}

export interface PortOneFake {
  url: string
  secret: string
  storeId: string
  requests: Array<{ path: string; authorization: string | undefined }>
  verified(id: string, customer: PortOneCustomerSeed, verifiedAt?: Date): void
  ready(id: string, customerId: string): void
  failed(id: string, customerId: string): void
  /** Answer 503 to everything. */
  setDown(down: boolean): void
  close(): Promise<void>
}

/** A CI as providers issue it: 88 base64 characters. */
export function fakeCi(seed: string): string {
  return Buffer.from(`ci-${seed}-`.padEnd(66, 'x')).toString('base64')
}
export function fakeDi(seed: string): string {
  return Buffer.from(`di-${seed}-`.padEnd(48, 'y')).toString('base64')
}

export async function startPortOneFake({
  secret = 'portone-test-secret-0123456789abcdef',
  storeId = 'store-00000000-0000-0000-0000-000000000000',
} = {}): Promise<PortOneFake> {
  const records = new Map<string, Record<string, unknown>>()
  const requests: PortOneFake['requests'] = []
  let down = false
  const base = (id: string, at: Date) => ({
    id,
    channel: {
      type: 'LIVE',
      id: 'channel-id',
      key: 'channel-key',
      name: '다날',
      pgProvider: 'DANAL',
      pgMerchantId: 'A010002002',
    },
    requestedAt: at.toISOString(),
    updatedAt: at.toISOString(),
    statusChangedAt: at.toISOString(),
    version: 'V2',
  })

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://portone')
    requests.push({ path: url.pathname, authorization: req.headers.authorization })
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (down) return send(503, { type: 'UNKNOWN', message: 'service unavailable' })
    if (req.headers.authorization !== `PortOne ${secret}`) {
      return send(401, { type: 'UNAUTHORIZED', message: '인증 정보가 올바르지 않습니다.' })
    }
    const match = /^\/identity-verifications\/([^/]+)$/.exec(url.pathname)
    if (req.method !== 'GET' || !match)
      return send(404, { type: 'NOT_FOUND', message: 'not found' })
    const store = url.searchParams.get('storeId')
    if (store !== null && store !== storeId) {
      return send(403, { type: 'FORBIDDEN', message: '요청이 거절되었습니다.' })
    }
    const record = records.get(decodeURIComponent(match[1] as string))
    if (!record) {
      return send(404, {
        type: 'IDENTITY_VERIFICATION_NOT_FOUND',
        message: '요청된 본인인증 건이 존재하지 않는 경우',
      })
    }
    return send(200, record)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    secret,
    storeId,
    requests,
    verified(id, c, verifiedAt = new Date()) {
      records.set(id, {
        status: 'VERIFIED',
        ...base(id, verifiedAt),
        verifiedCustomer: {
          ...(c.customerId ? { id: c.customerId } : {}),
          name: c.name ?? '홍길동',
          birthDate: c.birthDate ?? '1990-01-15',
          phoneNumber: c.phoneNumber ?? '01012345678',
          gender: c.gender ?? 'MALE',
          isForeigner: c.isForeigner ?? false,
          ...(c.ci === null ? {} : { ci: c.ci ?? fakeCi(id) }),
          ...(c.di === null ? {} : { di: c.di ?? fakeDi(id) }),
        },
        verifiedAt: verifiedAt.toISOString(),
        pgTxId: `pg-${id}`,
        pgRawResponse: '{}',
      })
    },
    ready(id, customerId) {
      records.set(id, {
        status: 'READY',
        ...base(id, new Date()),
        requestedCustomer: { id: customerId },
      })
    },
    failed(id, customerId) {
      records.set(id, {
        status: 'FAILED',
        ...base(id, new Date()),
        requestedCustomer: { id: customerId },
        failure: { reason: '본인인증 실패', pgCode: 'E001', pgMessage: '인증 실패' },
      })
    },
    setDown(value) {
      down = value
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
