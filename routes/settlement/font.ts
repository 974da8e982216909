/**
 * Where the statement font comes from. The Korean font (Noto Sans KR, about 6 MB) is never
 * bundled into the script: on Node it is read from its npm package on disk (`font-node.ts`),
 * on Workers fetched from a URL (static assets or R2) or read from a binding; either way once
 * per process or isolate, then reused.
 */
export interface FontSource {
  /** The TTF bytes; the first call loads them, later calls share that load. */
  load(): Promise<Uint8Array>
  /** Where from, for logs. */
  readonly origin: string
}

/** Load once and share the promise; a failed load is forgotten so the next call tries again. */
export function onceFont(origin: string, loader: () => Promise<Uint8Array>): FontSource {
  let pending: Promise<Uint8Array> | undefined
  return {
    origin,
    load() {
      pending ??= loader().catch((error: unknown) => {
        pending = undefined
        throw error
      })
      return pending
    },
  }
}

/** The font from a URL (Workers: static assets or a public R2 object). */
export function fontFromUrl(url: string, fetchImpl: typeof fetch = fetch): FontSource {
  return onceFont(url, async () => {
    const response = await fetchImpl(url)
    if (!response.ok) throw new Error(`font: ${url} answered ${response.status}`)
    return new Uint8Array(await response.arrayBuffer())
  })
}

/** The font from a Workers binding with `get(key)` (R2) or `fetch` (static assets). */
export function fontFromBinding(
  binding:
    | { get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null> }
    | { fetch(input: string): Promise<Response> },
  key: string,
): FontSource {
  return onceFont(`binding:${key}`, async () => {
    if ('get' in binding) {
      const object = await binding.get(key)
      if (!object) throw new Error(`font: ${key} is not in the bucket`)
      return new Uint8Array(await object.arrayBuffer())
    }
    const response = await binding.fetch(`https://assets.local/${key}`)
    if (!response.ok) throw new Error(`font: ${key} answered ${response.status}`)
    return new Uint8Array(await response.arrayBuffer())
  })
}
