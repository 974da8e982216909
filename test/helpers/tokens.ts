import { SignJWT } from 'jose'

/** The HS256 secret the test apps are configured with (SUPABASE_JWT_SECRET). */
export const TEST_JWT_SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'

/** A user access token signed the way Supabase Auth signs with the legacy HS256 secret. */
export async function userToken(sub: string, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({
    role: 'authenticated',
    aal: 'aal1',
    session_id: crypto.randomUUID(),
    ...extra,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET))
}

/** A service-role token (no subject), as a cron job or another backend would send. */
export async function serviceToken(): Promise<string> {
  return new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience('service_role')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET))
}
