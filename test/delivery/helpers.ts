import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { SECRET_VARS } from '../../src/config.js'

/** Secrets only one runtime reads: Upstash's token on Workers, direct connections on Node. */
const WORKERS_ONLY = new Set(['UPSTASH_REDIS_REST_TOKEN'])
const NODE_ONLY = new Set(['DATABASE_URL', 'REDIS_URL'])

export const CLOUD_RUN_SECRETS = [...SECRET_VARS].filter((n) => !WORKERS_ONLY.has(n)).sort()
export const WORKERS_SECRETS = [...SECRET_VARS].filter((n) => !NODE_ONLY.has(n)).sort()

export function yamlFile<T = Record<string, unknown>>(path: string): T {
  return yamlFromText<T>(readFileSync(path, 'utf8'))
}

export function yamlFromText<T = Record<string, unknown>>(text: string): T {
  return parse(text) as T
}

export interface WorkflowStep {
  name?: string
  run?: string
  uses?: string
  env?: Record<string, string>
}

export interface Workflow {
  on: Record<string, unknown>
  jobs: Record<string, { steps: WorkflowStep[]; env?: Record<string, string> }>
}

/** The names the Workers deploy workflow sends as secrets (the node list in its run script). */
export function workflowSecretNames(step: WorkflowStep): string[] {
  const list = /const names = \[([^\]]*)\]/.exec(step.run ?? '')?.[1] ?? ''
  return [...list.matchAll(/"([A-Z0-9_]+)"/g)].map((m) => m[1] as string).sort()
}
