import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/**
 * A stand-in for Google's OIDC signing keys (`https://www.googleapis.com/oauth2/v3/certs`): a
 * JWKS of RS256 keys with `kid`, `alg` and `use: sig`, served with a max-age as Google does,
 * and the tokens Cloud Scheduler sends (`oidcToken{serviceAccountEmail, audience}`): issuer
 * `https://accounts.google.com`, `aud` the audience, `email`, `email_verified: true`, `azp`
 * and `sub` the account's numeric id, one hour of life.
 */
export interface GoogleOidcFake {
  jwksUrl: string
  /** How many times the key set was fetched. */
  fetches: number
  /** A token as Cloud Scheduler gets it from Google for `email` and `audience`. */
  token(input: {
    audience: string
    email: string
    emailVerified?: boolean
    issuer?: string
    expiresInSeconds?: number
    /** Sign with a key that is not in the published set. */
    foreignKey?: boolean
  }): Promise<string>
  /** What IAM-enforced Cloud Run forwards: the same token with its signature replaced. */
  iamForwarded(token: string): string
  close(): Promise<void>
}

export async function startGoogleOidcFake(): Promise<GoogleOidcFake> {
  const make = async (kid: string) => {
    const pair = await generateKeyPair('RS256', { extractable: true })
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' }
    return { kid, privateKey: pair.privateKey, jwk }
  }
  const published = [await make('google-key-1'), await make('google-key-2')]
  const foreign = await make('google-key-1')
  const state = { fetches: 0 }

  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/oauth2/v3/certs') {
      state.fetches++
      res.writeHead(200, {
        'content-type': 'application/json; charset=UTF-8',
        'cache-control': 'public, max-age=19708, must-revalidate, no-transform',
      })
      res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }))
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    jwksUrl: `http://127.0.0.1:${port}/oauth2/v3/certs`,
    get fetches() {
      return state.fetches
    },
    async token({
      audience,
      email,
      emailVerified = true,
      issuer = 'https://accounts.google.com',
      expiresInSeconds = 3600,
      foreignKey = false,
    }) {
      const key = foreignKey ? foreign : (published[1] as (typeof published)[number])
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ email, email_verified: emailVerified, azp: '1029384756' })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject('102938475610293847561')
        .setIssuedAt(now - 5)
        .setExpirationTime(now + expiresInSeconds)
        .sign(key.privateKey)
    },
    iamForwarded(token) {
      const [header, payload] = token.split('.')
      return `${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
