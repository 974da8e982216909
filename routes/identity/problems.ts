import { defineProblems } from '../../src/errors.js'

/** What identity verification answers besides validation. */
export const IDENTITY_PROBLEMS = defineProblems('identity', {
  'identity-provider-error': { status: 502, title: 'The identity provider refused the lookup' },
  'verification-not-found': { status: 404, title: 'Unknown verification' },
  'verification-not-verified': { status: 422, title: 'The verification is not complete' },
  'verification-other-user': { status: 403, title: 'This verification belongs to someone else' },
  'verification-expired': { status: 422, title: 'The verification is too old' },
  'verification-incomplete': {
    status: 422,
    title: 'The provider returned no CI or birth date',
  },
  'verification-reused': { status: 409, title: 'This verification was already used' },
  'identity-already-linked': {
    status: 409,
    title: 'This person is already verified on another account',
  },
})
