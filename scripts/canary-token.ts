/**
 * Mints a canary token for forcing a backend in one environment (staging unless `--env` or
 * APP_ENV says otherwise):
 *   BFF_CANARY_SECRET=... npm run canary-token -- --ttl 1h [--env staging|production]
 * The token is printed alone on the last line, so `| tail -n1` captures it.
 */
import { type CanaryEnvironment, mintCanaryToken, parseTtl } from '../src/rollout/canary.js'

function usage(message: string): never {
  console.error(
    `${message}\nusage: BFF_CANARY_SECRET=<secret> npm run canary-token -- [--ttl 1h] [--env staging|production]`,
  )
  process.exit(2)
}

const args = process.argv.slice(2)
let ttl = '1h'
let env = process.env.APP_ENV || 'staging'
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string
  if (arg === '--ttl') ttl = args[++i] ?? usage('--ttl needs a value')
  else if (arg.startsWith('--ttl=')) ttl = arg.slice(6)
  else if (arg === '--env') env = args[++i] ?? usage('--env needs a value')
  else if (arg.startsWith('--env=')) env = arg.slice(6)
  else if (arg === '--help' || arg === '-h') usage('Mints a signed x-bff-canary token.')
  else usage(`unknown argument ${arg}`)
}

const secret = process.env.BFF_CANARY_SECRET
if (!secret || secret.length < 32) usage('BFF_CANARY_SECRET must be set (at least 32 characters)')

if (!['development', 'staging', 'production'].includes(env))
  usage(`--env must be development, staging or production, got "${env}"`)

let seconds: number
try {
  seconds = parseTtl(ttl)
} catch (error) {
  usage((error as Error).message)
}
const token = await mintCanaryToken(secret, seconds, Date.now(), env as CanaryEnvironment)
const expires = new Date(Date.now() + seconds * 1000).toISOString()
console.error(
  `canary token for ${env} valid until ${expires}; send it as x-bff-canary (with x-bff-backend) or the bff_canary cookie`,
)
console.log(token)
