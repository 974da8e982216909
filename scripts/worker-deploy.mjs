#!/usr/bin/env node
/**
 * `npm run worker:deploy -- --env staging|production [wrangler options]`: `wrangler deploy`
 * with the environment made mandatory. A bare `wrangler deploy` would publish the development
 * `[vars]` to the Worker that production's environment is named after.
 */
import { spawnSync } from 'node:child_process'
import { copyDocsScript } from './docs-assets.mjs'

const ENVIRONMENTS = ['staging', 'production']
const args = process.argv.slice(2)
let env
for (let i = 0; i < args.length; i++) {
  const arg = args[i]
  if (arg === '--env' || arg === '-e') env = args[i + 1]
  else if (arg.startsWith('--env=')) env = arg.slice(6)
}
if (!ENVIRONMENTS.includes(env)) {
  console.error(
    `worker:deploy needs --env ${ENVIRONMENTS.join('|')}${env === undefined ? '' : ` (got "${env}")`}\n` +
      'usage: npm run worker:deploy -- --env staging',
  )
  process.exit(2)
}
await copyDocsScript('workers-assets')
const wrangler = spawnSync('npx', ['wrangler', 'deploy', ...args], { stdio: 'inherit' })
process.exit(wrangler.status ?? 1)
