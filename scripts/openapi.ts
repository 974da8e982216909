/**
 * `npm run openapi [-- out.json]`: the OpenAPI document `/openapi.json` serves, written to a file
 * (or stdout) without starting the gateway, for client generators (openapi-generator `dart-dio`).
 */
import { writeFileSync } from 'node:fs'
import { PROBLEM_SETS, ROUTES } from '../routes/index.js'
import { openApiDocument } from '../src/openapi.js'

const text = `${JSON.stringify(openApiDocument(ROUTES, { problems: PROBLEM_SETS }), null, 2)}\n`
const out = process.argv[2]
if (out) writeFileSync(out, text)
else process.stdout.write(text)
