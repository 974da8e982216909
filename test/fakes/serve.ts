import { startFakeAnthropic } from './anthropic.js'
import { startLegacyStandIn } from './legacy-functions.js'
import { LOCAL_JWT_SECRET } from './local-auth.js'

/**
 * `npm run stand-ins`: the local stand-ins for the legacy Edge Functions and for Anthropic, on
 * fixed loopback ports, to watch the strangler work end to end without any account.
 * Legacy listens where a development gateway proxies by default (`supabase start`'s port).
 */
const legacyPort = Number(process.env.LEGACY_PORT ?? 54321)
const anthropicPort = Number(process.env.ANTHROPIC_PORT ?? 54329)

const legacy = await startLegacyStandIn(legacyPort)
const anthropic = await startFakeAnthropic({
  apiKey: 'local-stand-in',
  port: anthropicPort,
  mode: {
    kind: 'normal',
    text: '{"suggestions":["고마워요!","반가워요!","오늘도 좋은 하루!"]}',
  },
})

process.stdout.write(
  [
    `legacy functions  ${legacy.functionsUrl}  (every function echoes the request)`,
    `anthropic         ${anthropic.url}  (key: ${anthropic.apiKey})`,
    '',
    'start the gateway against them in another terminal:',
    `  SUPABASE_JWT_SECRET=${LOCAL_JWT_SECRET} \\`,
    `  ANTHROPIC_API_KEY=${anthropic.apiKey} ANTHROPIC_BASE_URL=${anthropic.url} \\`,
    '  FLAGS_FILE=test/fakes/flags-50.json npm start',
    '',
    'then watch ai-reply-suggest split between native and legacy: npm run stand-ins:split',
    '',
  ].join('\n'),
)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await Promise.all([legacy.close(), anthropic.close()])
    process.exit(0)
  })
}
