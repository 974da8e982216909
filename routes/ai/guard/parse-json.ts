/**
 * Parse the JSON a model answered with. Models often wrap it in a Markdown code fence or add a
 * sentence around it, so take the fenced block if there is one, else the outermost object or
 * array. Returns undefined when nothing parses.
 */
export function parseModelJson(raw: string): unknown {
  const text = raw.trim()
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(text)
  const candidates = [fenced?.[1], text, outermost(text, '{', '}'), outermost(text, '[', ']')]
  for (const candidate of candidates) {
    if (candidate === undefined) continue
    try {
      return JSON.parse(candidate)
    } catch {
      // Try the next way of finding the JSON.
    }
  }
  return undefined
}

function outermost(text: string, open: string, close: string): string | undefined {
  const start = text.indexOf(open)
  const end = text.lastIndexOf(close)
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined
}
