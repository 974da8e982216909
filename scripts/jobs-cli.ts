// Scheduled jobs from a terminal, straight against the database (DATABASE_URL, or SUPABASE_URL
// with SUPABASE_SERVICE_ROLE_KEY; the same configuration as the gateway).
//
//   npm run jobs -- list                      the registered jobs, their cron (UTC) and budget
//   npm run jobs -- run <name>                run one now, under its lease (skipped if held)
//   npm run jobs -- history [name] [--limit n] [--before runId]   run history, newest first
//
// --json prints raw answers. Exit codes: 0 done, 1 the job failed or was skipped, 2 usage error,
// 3 configuration or database unavailable.
import { parseArgs } from 'node:util'
import { type JobsServices, jobDispatcher } from '../routes/jobs/index.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/observability/log.js'
import { createDb } from '../src/platform/db/create.js'
import type { Db } from '../src/platform/db/port.js'

const USAGE = `usage: npm run jobs -- <list|run|history> [args] [--json]
  list                               registered jobs with cron (UTC) and budget
  run <name>                         run one job now under its lease
  history [name] [--limit n] [--before runId]  run history, newest first`

interface RunRow {
  runId: number
  name: string
  trigger: string
  status: string
  startedAt: string
  endedAt: string | null
  counts: Record<string, number>
  error: string | null
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      before: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, name] = positionals
  if (values.help || !command || !['list', 'run', 'history'].includes(command)) {
    console.error(USAGE)
    return 2
  }
  const config = loadConfig(process.env)
  const logger = createLogger({
    level: values.json ? 'error' : config.LOG_LEVEL,
    write: (line) => process.stderr.write(`${line}\n`),
  })
  let db: Db | undefined
  try {
    db = await createDb(config)
    const services: JobsServices = { config, logger, db }
    const dispatcher = jobDispatcher(services, 'cli')
    if (command === 'list') {
      const rows = dispatcher.jobs.map((j) => ({
        name: j.name,
        cron: j.cron,
        budgetSeconds: j.budgetMs / 1000,
        summary: j.summary,
      }))
      if (values.json) console.log(JSON.stringify(rows, null, 2))
      else if (rows.length === 0) console.log('no jobs registered (check TOSS_SECRET_KEY and co.)')
      else
        for (const r of rows)
          console.log(
            `${r.name.padEnd(28)} ${r.cron.padEnd(16)} ${String(r.budgetSeconds).padStart(5)} s  ${r.summary}`,
          )
      return 0
    }
    if (command === 'run') {
      if (!name) {
        console.error(`run needs a job name\n${USAGE}`)
        return 2
      }
      const { unknown } = dispatcher.select({ jobs: [name] })
      if (unknown.length > 0) {
        console.error(
          `no job named ${name}; known: ${dispatcher.jobs.map((j) => j.name).join(', ')}`,
        )
        return 2
      }
      const [outcome] = await dispatcher.dispatch({ jobs: [name] }, 'cli')
      if (values.json) console.log(JSON.stringify(outcome, null, 2))
      else
        console.log(
          `${outcome?.job} ${outcome?.status} run=${outcome?.runId} ${JSON.stringify(outcome?.counts)}${outcome?.error ? ` error=${outcome.error}` : ''}${outcome?.heldBy ? ` heldBy=${outcome.heldBy}` : ''}`,
        )
      return outcome?.status === 'done' || outcome?.status === 'partial' ? 0 : 1
    }
    const limit = values.limit === undefined ? 20 : Number(values.limit)
    const before = values.before === undefined ? undefined : Number(values.before)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      console.error('--limit must be an integer from 1 to 500')
      return 2
    }
    if (before !== undefined && (!Number.isInteger(before) || before < 1)) {
      console.error('--before must be a run id')
      return 2
    }
    const runs = await db.call<RunRow[]>('job_runs_list', {
      p_name: name ?? null,
      p_limit: limit,
      p_before: before ?? null,
    })
    if (values.json) console.log(JSON.stringify(runs, null, 2))
    else
      for (const r of runs)
        console.log(
          `${String(r.runId).padStart(6)} ${r.name.padEnd(28)} ${r.status.padEnd(9)} ${r.trigger.padEnd(9)} ${r.startedAt} ${JSON.stringify(r.counts)}${r.error ? ` error=${r.error}` : ''}`,
        )
    return 0
  } catch (error) {
    console.error(`jobs: ${error instanceof Error ? error.message : String(error)}`)
    return 3
  } finally {
    await db?.close()
  }
}

main().then((code) => {
  process.exitCode = code
})
