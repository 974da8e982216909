import { GatewayError } from '../errors.js'

/**
 * The 401/403 problems of bearer authentication, each with the `WWW-Authenticate` challenge of
 * RFC 6750 section 3 so OAuth-aware clients (supabase-js refreshes its session on 401) react.
 */

/** RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E in `error_description`. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')
}

/** A token was presented but is not acceptable (RFC 6750 `invalid_token`). */
export function invalidToken(
  description: string,
  code: 'invalid-token' | 'token-expired' = 'invalid-token',
) {
  return new GatewayError({
    status: 401,
    code,
    title: code === 'token-expired' ? 'Access token expired' : 'Invalid access token',
    detail: description,
    headers: {
      'www-authenticate': `Bearer error="invalid_token", error_description="${quotable(description)}"`,
    },
  })
}

/** No usable credentials: per RFC 6750 section 3.1 the challenge carries no error code. */
export function authenticationRequired(detail: string) {
  return new GatewayError({
    status: 401,
    code: 'authentication-required',
    title: 'Authentication required',
    detail,
    headers: { 'www-authenticate': 'Bearer' },
  })
}

/** Valid credentials without the role the route needs (RFC 6750 `insufficient_scope`). */
export function forbiddenRole(detail: string) {
  return new GatewayError({
    status: 403,
    code: 'forbidden-role',
    title: 'Forbidden for this role',
    detail,
    headers: {
      'www-authenticate': `Bearer error="insufficient_scope", error_description="${quotable(detail)}"`,
    },
  })
}
