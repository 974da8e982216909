/**
 * Masks personal data and secrets in anything about to be logged or shown in an error detail.
 *
 * Two layers, because neither is enough alone:
 * - by key: a value under a key such as `email`, `accessToken` or `customerMobilePhone` is
 *   replaced whole, whatever its shape;
 * - by content: strings are scanned for e-mail addresses, Korean phone numbers, resident
 *   registration numbers, card numbers (Luhn-checked), account numbers, identity keys (CI/DI:
 *   long base64 values), JWTs, bearer and basic credentials, TossPayments secret keys and URL
 *   credentials.
 *
 * It runs on every log line, so strings with nothing that could match leave on a fast path.
 * Untrusted text on its way to an outside service (a fan message sent to the AI model) goes
 * through `maskUntrusted`, which also finds numbers written to slip past these patterns.
 */
import { classifyDigitRun, digitRuns, foldText, luhn } from './normalise.js'

const REDACTED = '[redacted]'
const MAX_DEPTH = 8
const MAX_ITEMS = 200
const MAX_STRING = 16 * 1024

// Every content rule below needs one of these to match; most log strings have none. Digit
// rules need two digits in a row (`v1` in a path does not), percent-encoding has two hex
// characters after `%`; identity keys (60+ characters of base64) may have no digit pair, so
// every string that long is scanned.
const MAY_MATCH = /\d\d|%|[@=]|eyJ|bearer|basic|_sk_|_gsk_|sb_secret/i
const ALWAYS_SCAN = 60

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi
const JWT = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g
// The lookahead keeps prose ("basic information") out: credentials carry a digit or a symbol.
const AUTH_SCHEME = /\b(Bearer|Basic)\s+(?=[\w.~+/=-]*[\d.~+/=_-])[\w.~+/=-]{8,}/gi
// TossPayments secret keys (`test_sk_…`, `live_gsk_…`); client keys (`_ck_`) are public.
const TOSS_SECRET = /\b(?:test|live)_g?sk_[\w-]+/g
const SUPABASE_SECRET = /\bsb_secret_[\w-]+/g
const QUERY_SECRET =
  /([?&](?:access_token|refresh_token|id_token|token|apikey|api_key|key|secret|password|code)=)[^&#\s]+/gi
// CI (88 base64 characters) and DI (64) from identity providers; a hex digest or a base64url
// value (JWT parts, our ciphertexts) is left alone by the checks in `maskIdentityKey`.
const IDENTITY_KEY = /(?<![\w+/-])[A-Za-z0-9+/]{60,120}={0,2}(?![\w+/=-])/g
const EMAIL = /[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g

// Digit runs count only when not glued to a word or a dash, so UUIDs, order ids such as
// `ORD-20240101-0001` and ISO dates never match.
// Written with a dash or a space (`900101 1234567`, as forms and chat messages have it).
const RRN_DASHED = /(?<![\w-])\d{6}[- ][1-8]\d{6}(?![\w-])/g
const MOBILE = /(?<![\w+-])(?:\+82[-. ]?0?|0)1[016789][-. ]?\d{3,4}[-. ]?\d{4}(?![\w-])/g
const LANDLINE = /(?<![\w-])0(?:2|[3-6][1-5]|70|50\d)-\d{3,4}-\d{4}(?![\w-])/g
const CARD =
  /(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})(?![\w-])/g
const RRN_PLAIN = /(?<![\w-])\d{13}(?![\w-])/g
const ACCOUNT = /(?<![\w-])\d{2,6}(?:-\d{2,6}){1,3}(?![\w-])/g

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g

function decodePercentRun(run: string): string {
  try {
    return decodeURIComponent(run)
  } catch {
    return run
  }
}

/**
 * Mask personal data and secrets inside one string.
 * @example maskString('mail kim@example.com, call 010-1234-5678') // 'mail [email], call [phone]'
 */
export function maskString(value: string): string {
  if (value.length < ALWAYS_SCAN && !MAY_MATCH.test(value)) return value
  let s = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[truncated]` : value
  // Paths and queries arrive percent-encoded (`kim%40example.com`): mask what they decode to.
  if (s.includes('%')) s = s.replace(PERCENT_RUN, decodePercentRun)
  if (s.includes('://')) s = s.replace(URL_CREDENTIALS, `$1${REDACTED}@`)
  if (s.includes('eyJ')) s = s.replace(JWT, '[jwt]')
  s = s.replace(AUTH_SCHEME, `$1 ${REDACTED}`)
  if (s.includes('_sk_') || s.includes('_gsk_')) s = s.replace(TOSS_SECRET, '[toss-secret-key]')
  if (s.includes('sb_secret_')) s = s.replace(SUPABASE_SECRET, '[supabase-secret-key]')
  if (s.includes('=')) s = s.replace(QUERY_SECRET, `$1${REDACTED}`)
  if (s.includes('@')) s = s.replace(EMAIL, '[email]')
  if (s.length >= 60) s = s.replace(IDENTITY_KEY, maskIdentityKey)
  if (!/\d/.test(s)) return s
  return s
    .replace(RRN_DASHED, '[rrn]')
    .replace(MOBILE, '[phone]')
    .replace(LANDLINE, '[phone]')
    .replace(CARD, (m) => (isCardNumber(m.replace(/[ -]/g, '')) ? '[card]' : m))
    .replace(RRN_PLAIN, (m) => (isResidentNumber(m) ? '[rrn]' : m))
    .replace(ACCOUNT, (m) => (isAccountLength(m) ? '[account]' : m))
}

/**
 * Mask personal data in untrusted text before it leaves the gateway (a fan message sent to the
 * AI model): `maskString` on the folded text (`foldText`: NFKC, invisible characters removed,
 * percent-encoding and character references decoded), then every run of digits however it is
 * written (`digitRuns`: `900101 1234567`, `010ㅡ1234ㅡ5678`, `공일공 일이삼사 오육칠팔`,
 * full-width or circled digits) that is a resident registration, phone, card or account number.
 * @example maskUntrusted('주민번호 900101 1234567') // '주민번호 [rrn]'
 */
export function maskUntrusted(value: string): string {
  const folded = maskString(foldText(value))
  const runs = digitRuns(folded)
  if (runs.length === 0) return folded
  let out = ''
  let at = 0
  for (const run of runs) {
    const kind = classifyDigitRun(run)
    if (!kind) continue
    out += `${folded.slice(at, run.start)}[${kind}]`
    at = run.end
  }
  return out + folded.slice(at)
}

/** Base64 with its own symbols or mixed-case letters: not a hex digest or a plain word. */
function maskIdentityKey(match: string): string {
  return /[+/=]/.test(match) || (/[A-Z]/.test(match) && /[a-z]/.test(match))
    ? '[identity-key]'
    : match
}

/** Card numbers: ISO/IEC 7812 issuer prefixes seen in Korea plus the Luhn check. */
function isCardNumber(digits: string): boolean {
  const first = digits.charCodeAt(0) - 48
  // 13 digits exist only for old Visa (4…); a leading 1 is far more often an epoch timestamp.
  if (digits.length === 13 ? first !== 4 : first < 2 || first === 7 || first === 8) return false
  return luhn(digits)
}

const RRN_WEIGHTS = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]

/**
 * A resident registration number without its dash: a plausible birth date, a sex/century digit
 * 1–8 and the mod-11 check digit (issued numbers carried it until October 2020; people born
 * since are children, who do not pay on the platform).
 */
function isResidentNumber(digits: string): boolean {
  const month = Number(digits.slice(2, 4))
  const day = Number(digits.slice(4, 6))
  const sex = digits.charCodeAt(6) - 48
  if (month < 1 || month > 12 || day < 1 || day > 31 || sex < 1 || sex > 8) return false
  let sum = 0
  for (let i = 0; i < 12; i++) sum += (digits.charCodeAt(i) - 48) * (RRN_WEIGHTS[i] as number)
  return (11 - (sum % 11)) % 10 === digits.charCodeAt(12) - 48
}

/** Korean bank accounts are 10–14 digits written in dashed groups (e.g. 110-123-456789). */
function isAccountLength(grouped: string): boolean {
  const digits = grouped.length - (grouped.split('-').length - 1)
  return digits >= 10 && digits <= 14
}

// Key rules work on the words of a key (`customerMobilePhone` → customer, mobile, phone).
const SENSITIVE_WORDS = new Set([
  'secret',
  'password',
  'passwd',
  'pwd',
  'authorization',
  'cookie',
  'apikey',
  'jwt',
  'credential',
  'credentials',
  'rrn',
  'ssn',
  'resident',
  'phone',
  'mobile',
  'tel',
  'email',
  'cvc',
  'cvv',
  'pin',
  'otp',
  'signature',
  'birth',
  'birthday',
  'birthdate',
  // Identity verification: CI, DI and what the provider says about the person.
  'ci',
  'di',
  'gender',
  'nationality',
  'foreigner',
])
/** Objects that hold a verified person as a whole (PortOne, Toss identity results). */
const SENSITIVE_COMPOUNDS = ['verifiedcustomer', 'requestedcustomer', 'personaldata']
/**
 * `key` alone is not a secret (`idempotencyKey`, `routeKey`, `cacheKey` are ids we want in
 * logs); it is when one of these qualifies it (`apiKey`, `secretKey`, `serviceRoleKey`).
 */
const SECRET_KEY_QUALIFIERS = new Set([
  'api',
  'secret',
  'private',
  'access',
  'signing',
  'encryption',
  'service',
  'role',
  'master',
  'webhook',
  'admin',
])
const NUMBER_WORDS = new Set(['number', 'no', 'num'])
const NUMBERED = new Set(['account', 'card', 'registration'])
const NAME_QUALIFIERS = new Set([
  'customer',
  'holder',
  'depositor',
  'sender',
  'recipient',
  'payer',
  'real',
  'full',
  'legal',
])

const keyVerdicts = new Map<string, boolean>()

/** Whether a value stored under `key` is personal data or a secret. */
export function isSensitiveKey(key: string): boolean {
  const known = keyVerdicts.get(key)
  if (known !== undefined) return known
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
  const last = words[words.length - 1]
  const joined = words.join('')
  const verdict =
    SENSITIVE_COMPOUNDS.some((compound) => joined.includes(compound)) ||
    words.some((word, i) => {
      const before = words[i - 1]
      if (SENSITIVE_WORDS.has(word)) return true
      if (word === 'key') return before !== undefined && SECRET_KEY_QUALIFIERS.has(before)
      if (NUMBER_WORDS.has(word)) return before !== undefined && NUMBERED.has(before)
      if (word === 'name') return before !== undefined && NAME_QUALIFIERS.has(before)
      // `accessToken`, `x-bff-canary` are credentials; `maxTokens`, `tokenCount` are not.
      return (word === 'token' || word === 'canary') && word === last
    })
  if (keyVerdicts.size < 4096) keyVerdicts.set(key, verdict)
  return verdict
}

/**
 * A deep copy of `value` fit for a log line: values under sensitive keys are replaced, strings
 * are masked with `maskString`, cycles and depth beyond 8 are cut, and values JSON cannot
 * hold (bigint, Error, Date, Map, bytes) are turned into something it can.
 */
export function maskPii(value: unknown): unknown {
  return copy(value, 0, new Set())
}

function copy(value: unknown, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return maskString(value)
    case 'bigint':
      return value.toString()
    case 'function':
    case 'symbol':
      return undefined
    case 'object':
      break
    default:
      return value
  }
  if (value === null) return null
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (value instanceof URL) return maskString(value.href)
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[binary ${value.byteLength} bytes]`
  }
  if (ancestors.has(value)) return '[circular]'
  if (depth >= MAX_DEPTH) return '[depth limit]'
  ancestors.add(value)
  try {
    if (Array.isArray(value)) return copyList(value, depth, ancestors)
    if (value instanceof Set) return copyList([...value], depth, ancestors)
    if (value instanceof Error) return copyError(value, depth, ancestors)
    const entries =
      value instanceof Map || value instanceof Headers
        ? [...value.entries()].map(([k, v]) => [String(k), v] as const)
        : Object.entries(value)
    return copyEntries(entries, depth, ancestors)
  } finally {
    ancestors.delete(value)
  }
}

function copyList(list: readonly unknown[], depth: number, ancestors: Set<object>): unknown[] {
  const out = list.slice(0, MAX_ITEMS).map((item) => copy(item, depth + 1, ancestors))
  if (list.length > MAX_ITEMS) out.push(`[+${list.length - MAX_ITEMS} more]`)
  return out
}

function copyEntries(
  entries: ReadonlyArray<readonly [string, unknown]>,
  depth: number,
  ancestors: Set<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let count = 0
  for (const [key, item] of entries) {
    if (++count > MAX_ITEMS) {
      out['…'] = `[+${entries.length - MAX_ITEMS} more keys]`
      break
    }
    // A boolean or null under `emailVerified` or `phone` says nothing about the person.
    const keep = item === null || item === undefined || typeof item === 'boolean'
    out[key] = !keep && isSensitiveKey(key) ? REDACTED : copy(item, depth + 1, ancestors)
  }
  return out
}

function copyError(error: Error, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: maskString(error.message),
    ...(code !== undefined ? { code: copy(code, depth + 1, ancestors) } : {}),
    ...(error.cause !== undefined ? { cause: copy(error.cause, depth + 1, ancestors) } : {}),
  }
}
