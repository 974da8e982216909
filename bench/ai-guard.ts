import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { buildPrompt, parseModelJson, validateSuggestions } from '../routes/ai/guard/index.js'
import { replyInstructions } from '../routes/ai/instructions.js'
import { type BenchOptions, benchOptions, isMain, log, report } from './lib/options.js'
import { quantile, type Row, spread } from './lib/stats.js'

/**
 * The output guard's cost per answer, in-process: `validateSuggestions` on answers of three
 * suggestions built from the guard's corpora (ordinary ones, and ones with an attack among
 * ordinary items), against a baseline measured in the same run: the same answers parsed and
 * checked against the schema only, which is what an answer costs without the guard.
 */

interface Benign {
  suggestions: string[]
  messages: string[]
}
interface Attack {
  items: { text: string }[]
}

const fixture = <T>(name: string) =>
  JSON.parse(
    readFileSync(new URL(`../test/fixtures/ai-guard/${name}`, import.meta.url), 'utf8'),
  ) as T

export async function aiGuardCost(opts: BenchOptions): Promise<Row[]> {
  const benign = fixture<Benign>('benign.json')
  const attack = fixture<Attack>('attack.json')
  const ordinary = [...benign.suggestions, ...benign.messages]
  const answers: string[] = []
  for (let i = 0; i + 3 <= ordinary.length; i += 3) {
    answers.push(JSON.stringify({ suggestions: ordinary.slice(i, i + 3) }))
  }
  for (const [i, a] of attack.items.entries()) {
    const two = [ordinary[i % ordinary.length], ordinary[(i * 7 + 1) % ordinary.length]]
    answers.push(JSON.stringify({ suggestions: [a.text, ...two] }))
  }
  const prompt = buildPrompt({
    instructions: replyInstructions({ language: 'ko', tone: 'friendly', emoji: true, count: 3 }),
    data: [{ tag: 'fan_message', text: '오늘 방송 최고였어요!' }],
  })
  const item = z.string().min(1).max(300)
  const schema = {
    key: 'suggestions',
    item,
    texts: (s: string) => [s],
    min: 1,
    max: 3,
    guard: { system: prompt.system, canary: prompt.canary, tagNames: ['fan_message'] },
  }
  const schemaOnly = (raw: string) => {
    const parsed = parseModelJson(raw) as { suggestions: unknown[] }
    return parsed.suggestions.map((s) => item.safeParse(s).success)
  }

  let sink = 0
  const coldStart = process.hrtime.bigint()
  sink += validateSuggestions(answers[0] as string, schema).ok ? 1 : 0
  const coldUs = Number(process.hrtime.bigint() - coldStart) / 1000
  log(`first answer (builds the tables): ${coldUs.toFixed(0)} µs`)

  const measure = (fn: (raw: string) => unknown) => {
    const times: number[] = []
    for (const raw of answers) {
      const began = process.hrtime.bigint()
      sink += fn(raw) ? 1 : 0
      times.push(Number(process.hrtime.bigint() - began) / 1000)
    }
    return times.sort((a, b) => a - b)
  }
  const rounds = opts.quick ? 5 : 20
  for (let i = 0; i < rounds; i++) measure((raw) => validateSuggestions(raw, schema)) // warm-up
  const guarded: number[] = []
  const guardedP99: number[] = []
  const baseline: number[] = []
  for (let run = 0; run < Math.max(5, opts.runs); run++) {
    let all: number[] = []
    let base: number[] = []
    for (let i = 0; i < rounds; i++) {
      base = base.concat(measure(schemaOnly))
      all = all.concat(measure((raw) => validateSuggestions(raw, schema)))
    }
    all.sort((a, b) => a - b)
    base.sort((a, b) => a - b)
    guarded.push(quantile(all, 0.5))
    guardedP99.push(quantile(all, 0.99))
    baseline.push(quantile(base, 0.5))
    log(
      `run ${run + 1}: guard ${guarded.at(-1)?.toFixed(0)} µs median, ` +
        `${guardedP99.at(-1)?.toFixed(0)} µs p99; schema only ${baseline.at(-1)?.toFixed(1)} µs`,
    )
  }
  if (sink === 0) log('nothing validated: the benchmark is wrong')
  const median = spread(guarded)
  const detail = `${answers.length} answers of 3 suggestions × ${rounds} per run; schema only ${spread(baseline).median.toFixed(1)} µs; first answer ${coldUs.toFixed(0)} µs`
  return [
    {
      figure: 'AI output guard per answer, median',
      baseline: 'parse + schema only',
      value: median,
      unit: 'µs',
      target: '≤ 1000 µs',
      met: median.median <= 1000,
      detail,
    },
    {
      figure: 'AI output guard per answer, p99',
      baseline: '',
      value: spread(guardedP99),
      unit: 'µs',
      target: 'report',
    },
  ]
}

if (isMain(import.meta.url)) {
  aiGuardCost(benchOptions()).then(
    (rows) => {
      report('ai-guard', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
