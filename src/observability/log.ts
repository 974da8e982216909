import { maskPii, maskString } from './pii.js'
import type { TraceContext } from './trace-context.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Cloud Logging's `severity` values of our levels (Cloud Run and Workers read the same JSON). */
const SEVERITY: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
}

export type LogFields = Record<string, unknown>

/**
 * One finished routed request, as the access-log line records it. Which fields can carry what
 * a client sent decides how each is written (see `accessLine`).
 */
export interface AccessRecord {
  requestId: string
  /** The request id is the client's `x-request-id` (so it is masked like any client string). */
  requestIdFromClient: boolean
  method: string
  /** The request path, without the query (client data). */
  path: string
  /** The route id; client data when the route is not in the table (the function name). */
  route: string
  routeKnown: boolean
  backend: string
  reason: string | undefined
  bucket: number | undefined
  subjectSource: string | undefined
  status: number
  latencyMs: number
  upstreamMs: number | undefined
  trace: TraceContext | undefined
  /** Fields middleware and handlers added (`Variables.logFields`): masked whole. */
  extra: LogFields | undefined
}

/**
 * One JSON object per line, with Cloud Logging's field names (`severity`, `message`, `time`,
 * `httpRequest`, `logging.googleapis.com/trace`), which Workers Logs index as plain JSON too.
 * Every field of `debug`…`error` goes through `maskPii` before it is written, so no caller can
 * put a secret or personal data in a log line by accident. `access` writes the per-request line
 * with a dedicated serializer that masks only the fields a client controls.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** The access-log line of one request, at `info`. */
  access(record: AccessRecord): void
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger
  /** Whether lines of `level` are written (to skip building fields that would be dropped). */
  enabled(level: LogLevel): boolean
}

export interface LoggerOptions {
  level?: LogLevel
  /** Where lines go; stdout by default (Cloud Run and Workers both collect it). */
  write?: (line: string) => void
  /** Fields on every line (service name, environment). */
  base?: LogFields
  clock?: () => number
  /**
   * Google Cloud project id (`GOOGLE_CLOUD_PROJECT`): access lines then carry
   * `logging.googleapis.com/trace` as `projects/<id>/traces/<traceId>`, which groups a request's
   * lines and links them to Cloud Trace. Without it they carry `traceId`.
   */
  traceProject?: string
}

// Methods Node's HTTP parser accepts are few; Workers pass any token, which is client data.
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
])

/** Masked when it came from the client, escaped for JSON either way. */
const clientString = (value: string) => JSON.stringify(maskString(value))

/** Whether a record has any own key (without building the key list). */
function hasKeys(fields: LogFields | undefined): fields is LogFields {
  if (!fields) return false
  for (const _ in fields) return true
  return false
}

/**
 * The access-log line. Gateway-produced values (route ids of the table, status, durations,
 * backend, decision reason and bucket, trace ids) are written as they are; values a client
 * controls (path, method outside the standard set, its own request id, the name of an unknown
 * function, fields handlers added) go through the masking function. The query string and
 * client addresses are left out: they are personal data that masking cannot recognise
 * reliably, and Cloud Run's own request log has them where access to it is controlled.
 *
 * `prefix` is the logger's bound fields, already masked and serialised (`"k":v,` or '').
 * The gateway's own strings are written between quotes as they are: route ids of the table
 * are `[a-z0-9_-]`, a generated request id is a UUID, and backend, reason and subject source
 * are the gateway's enums; none of them can hold a character JSON would escape.
 */
export function accessLine(
  time: string,
  prefix: string,
  r: AccessRecord,
  traceProject: string | undefined,
): string {
  const method = KNOWN_METHODS.has(r.method) ? `"${r.method}"` : clientString(r.method)
  const seconds = r.latencyMs / 1000
  let line = `{"severity":"INFO","time":"${time}","message":"request",${prefix}`
  if (hasKeys(r.extra)) {
    const masked = JSON.stringify(withoutOwnKeys(maskPii(r.extra) as LogFields))
    // Before the gateway's own keys: a JSON reader keeps the last of a repeated key, so a
    // handler's field cannot stand in for the route, status or trace (nor the severity).
    if (masked.length > 2) line += `${masked.slice(1, -1)},`
  }
  line += `"requestId":${
    r.requestIdFromClient ? clientString(r.requestId) : `"${r.requestId}"`
  },"httpRequest":{"requestMethod":${method},"requestUrl":${clientString(r.path)},"status":${
    r.status
  },"latency":"${seconds.toFixed(seconds < 1 ? 4 : 3)}s"}`
  const trace = r.trace
  if (trace) {
    line += traceProject
      ? `,"logging.googleapis.com/trace":"projects/${traceProject}/traces/${trace.traceId}"`
      : `,"traceId":"${trace.traceId}"`
    line += `,"logging.googleapis.com/spanId":"${trace.spanId}","logging.googleapis.com/trace_sampled":${trace.sampled}`
  }
  line += `,"route":${r.routeKnown ? `"${r.route}"` : clientString(r.route)},"backend":"${r.backend}"`
  if (r.reason !== undefined) line += `,"reason":"${r.reason}"`
  if (r.bucket !== undefined) line += `,"bucket":${r.bucket}`
  if (r.subjectSource !== undefined) line += `,"subjectSource":"${r.subjectSource}"`
  line += `,"latencyMs":${r.latencyMs}`
  if (r.upstreamMs !== undefined) line += `,"upstreamMs":${r.upstreamMs}`
  return `${line}}`
}

/** Keys the line itself owns: a bound or caller field of that name is dropped. */
const OWN_KEYS = new Set(['severity', 'time', 'message'])

function withoutOwnKeys(fields: LogFields): LogFields {
  for (const key of OWN_KEYS) {
    if (key in fields) {
      const copy = { ...fields }
      for (const k of OWN_KEYS) delete copy[k]
      return copy
    }
  }
  return fields
}

/**
 * `new Date(ms).toISOString()`, from a cache of the current second's `YYYY-MM-DDTHH:MM:SS.`:
 * every log line carries the time, and building a Date and formatting it whole costs more than
 * the rest of the access line. Each logger keeps its own cache (clocks differ in tests).
 */
export function isoTimeFormatter(): (ms: number) => string {
  let second = Number.NaN
  let prefix = ''
  return (ms) => {
    const whole = Math.floor(ms)
    const s = Math.floor(whole / 1000)
    if (s !== second) {
      const iso = new Date(whole).toISOString()
      // Years outside 0000–9999 are written with a sign and six digits: no cache for those.
      if (iso.length !== 24) return iso
      second = s
      prefix = iso.slice(0, 20)
    }
    const milli = whole - s * 1000
    return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
  }
}

export function createLogger({
  level = 'info',
  write = (line) => console.log(line),
  base = {},
  clock = Date.now,
  traceProject,
}: LoggerOptions = {}): Logger {
  const threshold = LEVELS[level]
  const isoTime = isoTimeFormatter()
  const make = (bound: LogFields): Logger => {
    // Bound fields are masked and serialised once, not on every line.
    const maskedBound = withoutOwnKeys(maskPii(bound) as LogFields)
    const boundJson = JSON.stringify(maskedBound)
    const prefix = boundJson.length > 2 ? `${boundJson.slice(1, -1)},` : ''
    const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
      if (LEVELS[lvl] < threshold) return
      const masked = fields ? withoutOwnKeys(maskPii(fields) as LogFields) : undefined
      write(
        JSON.stringify({
          severity: SEVERITY[lvl],
          time: isoTime(clock()),
          message: maskString(msg),
          ...maskedBound,
          ...masked,
        }),
      )
    }
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      access: (record) => {
        if (LEVELS.info < threshold) return
        write(accessLine(isoTime(clock()), prefix, record, traceProject))
      },
      child: (fields) => make({ ...bound, ...fields }),
      enabled: (lvl) => LEVELS[lvl] >= threshold,
    }
  }
  return make(base)
}

/** Error fields safe for a log line: name, message and code, never the stack of a client error. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      error: error.name,
      errorMessage: error.message,
      ...(code !== undefined ? { errorCode: String(code) } : {}),
    }
  }
  return { error: String(error) }
}
