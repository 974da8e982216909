/**
 * cockatiel (retries and circuit breakers), loaded on first use rather than at start-up: its
 * module creates and aborts an `AbortController` when imported, which workerd refuses outside
 * a request ("Disallowed operation called within global scope"; cloudflare/workerd#3657,
 * connor4312/cockatiel#105). Bundlers keep a dynamic import in the same bundle and evaluate it
 * lazily, so the Worker starts and the first call inside a request loads the library.
 */
let loading: Promise<typeof import('cockatiel')> | undefined

export function loadCockatiel(): Promise<typeof import('cockatiel')> {
  loading ??= import('cockatiel')
  return loading
}
