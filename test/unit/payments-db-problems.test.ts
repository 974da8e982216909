import { describe, expect, it } from 'vitest'
import { dbProblem } from '../../routes/payments/db-problems.js'
import { GatewayError } from '../../src/errors.js'
import { DbFunctionError } from '../../src/platform/db/port.js'

/** A driver error as node-postgres raises it: the SQLSTATE on `code`. */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe('database errors a client can cause become problems, never a 500', () => {
  it('maps an integrity violation (SQLSTATE 23) to 409 without the SQL text', () => {
    const problem = dbProblem(
      pgError(
        '23505',
        'duplicate key value violates unique constraint "refunds_client_idempotency_key"',
      ),
    )
    expect(problem).toBeInstanceOf(GatewayError)
    expect((problem as GatewayError).status).toBe(409)
    expect((problem as GatewayError).detail ?? '').not.toContain('refunds_client_idempotency_key')
  })

  it('maps a data exception (SQLSTATE 22) to 422', () => {
    const problem = dbProblem(pgError('22003', 'integer out of range')) as GatewayError
    expect([problem.status, problem.code]).toEqual([422, 'invalid-value'])
  })

  it('keeps the stable codes of the SQL functions, with the field named', () => {
    const problem = dbProblem(
      new DbFunctionError('idempotency-key-reused', 'header:idempotency-key'),
    ) as GatewayError
    expect(problem.status).toBe(422)
    expect(problem.errors?.map((e) => e.field)).toEqual(['header:idempotency-key'])
  })

  it('leaves errors that are not the client’s alone (a bug stays a 500)', () => {
    const bug = new TypeError('x is undefined')
    expect(dbProblem(bug)).toBe(bug)
    const server = pgError('XX000', 'internal error')
    expect(dbProblem(server)).toBe(server)
  })
})
