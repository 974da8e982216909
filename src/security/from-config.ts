import { type Config, ConfigError } from '../config.js'
import type { IdentityVerifier } from '../types.js'
import { createJwtVerifier } from './jwt.js'

/**
 * The JWT verifier the configuration asks for: Supabase's JWKS (ES256/RS256) and/or the legacy
 * HS256 secret. Development may run without either (tokens are then decoded, not verified);
 * anywhere else that is a configuration error, never a silent downgrade.
 * @throws ConfigError
 */
export function verifierFromConfig(
  config: Config,
  fetchImpl?: typeof fetch,
): IdentityVerifier | undefined {
  if (!config.jwksUrl && !config.SUPABASE_JWT_SECRET) {
    if (config.isDevelopment) return undefined
    throw new ConfigError(
      'SUPABASE_URL',
      'set (for its JWKS) or SUPABASE_JWT_SECRET set, to verify JWTs outside development',
    )
  }
  return createJwtVerifier({
    jwksUrl: config.jwksUrl,
    hs256Secret: config.SUPABASE_JWT_SECRET,
    issuer: config.jwtIssuer,
    ...(fetchImpl ? { fetchImpl } : {}),
  })
}
