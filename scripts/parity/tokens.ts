import { SignJWT } from 'jose'
import type { AuthKind } from './cases.js'

/** The users parity cases act as, unless `PARITY_USER_ID` / `PARITY_OTHER_USER_ID` say otherwise. */
export const PARITY_USER_ID = '7d0f6a52-3c1e-4b8a-9f2d-0a1b2c3d4e51'
export const PARITY_OTHER_USER_ID = '9e2a1b63-4d5f-4c7b-8e9a-1b2c3d4e5f62'

async function sign(secret: string, claims: Record<string, unknown>, sub?: string) {
  const jwt = new SignJWT({ aal: 'aal1', session_id: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(claims.role === 'service_role' ? 'service_role' : 'authenticated')
    .setIssuedAt()
    .setExpirationTime('1h')
  if (sub) jwt.setSubject(sub)
  return jwt.sign(new TextEncoder().encode(secret))
}

/**
 * One bearer token per auth kind, signed the way Supabase Auth signs with the project's HS256
 * secret. Against staging, pass real session tokens instead (`PARITY_USER_JWT`...).
 */
export async function mintParityTokens(
  secret: string,
  users = { user: PARITY_USER_ID, other: PARITY_OTHER_USER_ID },
): Promise<Partial<Record<AuthKind, string>>> {
  return {
    user: await sign(secret, { role: 'authenticated' }, users.user),
    'other-user': await sign(secret, { role: 'authenticated' }, users.other),
    ops: await sign(
      secret,
      { role: 'authenticated', app_metadata: { role: 'ops' } },
      '3b4c5d6e-7f80-4192-a3b4-c5d6e7f80912',
    ),
    service: await sign(secret, { role: 'service_role' }),
  }
}
