import { FUNCTION_NAME } from '../src/platform/function-name.js'
import { invalidFunctionPath } from '../src/problems.js'

/**
 * The legacy URL for a function: `${base}/<name>[/<rest>][?query]`.
 *
 * Nothing the client sends may leave `base`: the name is `[a-z0-9_-]`, and every segment of
 * `rest` is refused when it is, or decodes to, `.`/`..`, or hides a slash or backslash
 * (`%2f`, `%5c`), which some upstreams decode after routing.
 */
export function legacyTarget(base: string, name: string, rest: string, search: string): string {
  if (!FUNCTION_NAME.test(name))
    throw invalidFunctionPath('function names are [a-z0-9_-], 1 to 64 characters')
  if (rest === '') return `${base}/${name}${search}`
  for (const segment of rest.split('/')) {
    if (segment === '') throw invalidFunctionPath('empty path segment')
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      throw invalidFunctionPath('malformed percent-encoding in the path')
    }
    if (decoded === '.' || decoded === '..')
      throw invalidFunctionPath('dot segments are not allowed')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[/\\]/.test(decoded) || /[\u0000-\u001f]/.test(decoded)) {
      throw invalidFunctionPath('encoded slashes and control characters are not allowed')
    }
  }
  return `${base}/${name}/${rest}${search}`
}
