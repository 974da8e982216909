/**
 * `npm run lint` part two: the delivery files are checked against their schemas.
 * - GitHub workflows: `action-validator` (the workflow JSON schema, plus glob checks).
 * - `cloudbuild.yaml`: typed against Cloud Build's `Build` resource (the API's generated
 *   typings: unknown keys and wrong types are errors), then what the typings cannot say:
 *   enum values, durations, substitutions and the scripts the steps run.
 * Prints one line per problem and exits 1 when there is any.
 *   tsx scripts/check-delivery.ts [cloudbuild.yaml] [.github/workflows]
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'
import { parse } from 'yaml'

const run = promisify(execFile)
const problems = new Set<string>()

/** Cloud Build's built-in substitutions (a trigger may add the `_HEAD_*`/`_PR_*` ones). */
const BUILT_INS = new Set([
  'PROJECT_ID',
  'PROJECT_NUMBER',
  'BUILD_ID',
  'LOCATION',
  'TRIGGER_NAME',
  'COMMIT_SHA',
  'REVISION_ID',
  'SHORT_SHA',
  'REPO_NAME',
  'REPO_FULL_NAME',
  'BRANCH_NAME',
  'TAG_NAME',
  'REF_NAME',
  'TRIGGER_BUILD_CONFIG_PATH',
  'SERVICE_ACCOUNT_EMAIL',
  'SERVICE_ACCOUNT',
])

const ENUMS: Record<string, string[]> = {
  'options.logging': [
    'LOGGING_UNSPECIFIED',
    'LEGACY',
    'GCS_ONLY',
    'STACKDRIVER_ONLY',
    'CLOUD_LOGGING_ONLY',
    'NONE',
  ],
  'options.substitutionOption': ['MUST_MATCH', 'ALLOW_LOOSE'],
  'options.machineType': [
    'UNSPECIFIED',
    'N1_HIGHCPU_8',
    'N1_HIGHCPU_32',
    'E2_HIGHCPU_8',
    'E2_HIGHCPU_32',
    'E2_MEDIUM',
  ],
}

async function checkWorkflows(dir = '.github/workflows'): Promise<void> {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : []
  for (const file of files) {
    const path = join(dir, file)
    try {
      await run('node_modules/.bin/action-validator', [path])
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
      const out = stdout + stderr
      const details = [...out.matchAll(/"(?:detail|title)": "([^"]+)",\s*"path": "([^"]*)"/g)]
      const first = details.map((m) => `${m[2]}: ${m[1]}`).slice(0, 5)
      problems.add(`${path}: not a valid workflow${first.length ? ` (${first.join('; ')})` : ''}`)
    }
  }
}

/** Type the parsed file as `gapi.client.cloudbuild.Build` in memory; return tsc's messages. */
function typeCheckBuild(doc: unknown): string[] {
  const virtual = join(process.cwd(), '__cloudbuild__.ts')
  const source = [
    '/// <reference types="@maxim_mazurok/gapi.client.cloudbuild-v1" />',
    `export const build: gapi.client.cloudbuild.Build = ${JSON.stringify(doc, null, 2)}`,
  ].join('\n')
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  }
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.getSourceFile = (name, lang, ...rest) =>
    name === virtual
      ? ts.createSourceFile(name, source, lang)
      : getSourceFile.call(host, name, lang, ...rest)
  host.fileExists = (name) => name === virtual || fileExists.call(host, name)
  host.readFile = (name) => (name === virtual ? source : readFile.call(host, name))
  const program = ts.createProgram([virtual], options, host)
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, ' ')
    if (!d.file || d.start === undefined) return text
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const near = (d.file.text.split('\n')[line] ?? '').trim()
    return `${text} (at ${near})`
  })
}

function get(doc: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], doc)
}

function checkCloudBuild(path = 'cloudbuild.yaml'): void {
  if (!existsSync(path)) return
  let doc: Record<string, unknown>
  try {
    doc = parse(readFileSync(path, 'utf8'))
  } catch (error) {
    problems.add(`${path}: not YAML (${(error as Error).message.split('\n')[0]})`)
    return
  }
  for (const message of typeCheckBuild(doc)) problems.add(`${path}: ${message}`)

  for (const [field, allowed] of Object.entries(ENUMS)) {
    const value = get(doc, field)
    if (value !== undefined && !allowed.includes(String(value))) {
      problems.add(`${path}: ${field} is ${value}, expected one of ${allowed.join(', ')}`)
    }
  }
  const durations = ['timeout', 'queueTtl']
  for (const field of durations) {
    const value = get(doc, field)
    if (value !== undefined && !/^\d+(\.\d{1,9})?s$/.test(String(value))) {
      problems.add(`${path}: ${field} must be a duration in seconds like "600s" (got ${value})`)
    }
  }

  const declared = new Set(Object.keys((doc.substitutions as Record<string, string>) ?? {}))
  for (const key of declared) {
    if (!key.startsWith('_')) problems.add(`${path}: substitution ${key} must start with _`)
  }
  // `$$` is a literal dollar (a shell variable); `$NAME` and `${NAME}` are substitutions.
  const text = readFileSync(path, 'utf8').replace(/^\s*#.*$/gm, '')
  for (const m of text
    .replace(/\$\$/g, '')
    .matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    const name = m[1] ?? m[2] ?? ''
    if (!BUILT_INS.has(name) && !declared.has(name)) {
      problems.add(
        `${path}: $${name} is neither a built-in nor a declared substitution (write $$ for a shell variable)`,
      )
    }
  }

  const steps = (doc.steps as Array<Record<string, unknown>>) ?? []
  if (steps.length === 0) problems.add(`${path}: no steps`)
  const ids = new Set<string>()
  for (const [i, step] of steps.entries()) {
    const id = String(step.id ?? `#${i + 1}`)
    if (ids.has(id)) problems.add(`${path}: step id ${id} is used twice`)
    ids.add(id)
    for (const dep of (step.waitFor as string[]) ?? []) {
      if (dep !== '-' && !ids.has(dep))
        problems.add(`${path}: step ${id} waits for unknown step ${dep}`)
    }
    for (const arg of (step.args as string[]) ?? []) {
      if (/^[\w./-]+\.sh$/.test(arg) && !existsSync(arg)) {
        problems.add(`${path}: step ${id} runs ${arg}, which does not exist`)
      }
    }
    for (const entry of (step.env as string[]) ?? []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry))
        problems.add(`${path}: step ${id} env "${entry}" is not NAME=value`)
    }
  }
}

async function checkScripts(dir = 'deploy'): Promise<void> {
  if (!existsSync(dir)) return
  const scripts = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.sh'),
  )
  for (const file of scripts) {
    await run('bash', ['-n', join(dir, file)]).catch((error: { stderr?: string }) => {
      problems.add(
        `${join(dir, file)}: ${
          String(error.stderr ?? '')
            .trim()
            .split('\n')[0]
        }`,
      )
    })
  }
}

// Arguments (for the tests): another Cloud Build file and workflow folder to check.
const [cloudbuildFile = 'cloudbuild.yaml', workflowDir = '.github/workflows'] =
  process.argv.slice(2)
await checkWorkflows(workflowDir)
checkCloudBuild(cloudbuildFile)
await checkScripts()
for (const p of problems) console.error(p)
if (problems.size > 0) process.exit(1)
