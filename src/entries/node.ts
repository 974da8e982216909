import { ConfigError } from '../config.js'
import { FlagsError } from '../rollout/flags.js'
import { startNodeServer } from './server.js'

/**
 * The Cloud Run / Node entry: serves on `PORT` (default 8787) and drains on SIGTERM (Cloud Run
 * allows 10 s before SIGKILL; `SHUTDOWN_GRACE_MS` defaults to 9 s).
 */
async function main() {
  try {
    const server = await startNodeServer(process.env)
    // `on`, not `once`: a second SIGTERM (a supervisor repeating itself) must join the drain
    // under way, not fall through to the default action that kills the process mid-request.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        server.shutdown(signal).then(
          () => process.exit(0),
          () => process.exit(1),
        )
      })
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof FlagsError) {
      console.error(error instanceof FlagsError ? `flags error: ${error.message}` : error.message)
    } else if (error instanceof Error && error.message.startsWith('config error:')) {
      console.error(error.message)
    } else {
      console.error('start-up failed:', error instanceof Error ? error.message : error)
    }
    process.exit(1)
  }
}

main()
