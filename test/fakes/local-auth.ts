import { SignJWT } from 'jose'

/**
 * The local stand-in for Supabase Auth's signing: a gateway started with this HS256 secret
 * accepts the tokens minted here. Known to everyone, so only ever for a local gateway.
 */
export const LOCAL_JWT_SECRET = 'local-stand-in-jwt-secret-not-for-any-real-project'

/** A user access token as Supabase Auth issues it. */
export function localUserToken(sub: string): Promise<string> {
  return new SignJWT({ role: 'authenticated', aal: 'aal1' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(LOCAL_JWT_SECRET))
}
