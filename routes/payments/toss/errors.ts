import { AppError } from '../../../src/errors.js'
/**
 * What can go wrong talking to TossPayments, split by what the caller may conclude:
 * `TossError` (Toss answered with a code: it decided), `TossTimeoutError` (the request may have
 * reached Toss: outcome unknown, retry with the same Idempotency-Key), `TossUnavailableError`
 * (nothing was sent: breaker open or the host unreachable).
 */

/** Toss answered with an error body `{code, message}` and an HTTP status. */
export class TossError extends AppError {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'TossError'
  }
}

/** No answer in time, or the connection broke after the request was written. */
export class TossTimeoutError extends AppError {
  constructor(
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`TossPayments did not answer ${operation} in time; the outcome is unknown`, options)
    this.name = 'TossTimeoutError'
  }
}

/** The request was not sent: circuit open or the host refused the connection. */
export class TossUnavailableError extends AppError {
  constructor(
    readonly reason: 'circuit-open' | 'unreachable',
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(`TossPayments is unavailable (${reason})`, options)
    this.name = 'TossUnavailableError'
  }
}
