import * as fontkit from 'fontkit'
import type { Fontkit } from 'pdf-lib/cjs/types/fontkit'

/**
 * fontkit 2 for pdf-lib, so that Korean glyphs survive subsetting.
 *
 * pdf-lib's own `@pdf-lib/fontkit` (1.1.1, a 2020 fork) rewrites a subset's `loca` table in
 * the short format, which corrupts most Hangul glyphs of a large font such as Noto Sans KR
 * (Hopding/pdf-lib#1232, cantoo-scribe/pdf-lib#144). Upstream fontkit 2 encodes subsets
 * correctly but returns them from `encode()` instead of the `encodeStream()` pdf-lib reads, so
 * each subset gets an `encodeStream()` that emits `encode()`'s bytes.
 */
interface Subset {
  encode(): Uint8Array
  encodeStream?: () => OnceStream
}

interface OnceStream {
  on(event: 'data' | 'end' | 'error', listener: (value?: unknown) => void): OnceStream
}

function onceStream(produce: () => Uint8Array): OnceStream {
  const listeners: Record<string, Array<(value?: unknown) => void>> = {
    data: [],
    end: [],
    error: [],
  }
  // pdf-lib attaches its three listeners synchronously; emit after that.
  queueMicrotask(() => {
    try {
      const bytes = produce()
      for (const listener of listeners.data ?? []) listener(bytes)
      for (const listener of listeners.end ?? []) listener()
    } catch (error) {
      for (const listener of listeners.error ?? []) listener(error)
    }
  })
  const stream: OnceStream = {
    on(event, listener) {
      listeners[event]?.push(listener)
      return stream
    },
  }
  return stream
}

// Parsing the 6 MB font is done once per process or isolate, not once per statement.
const parsed = new WeakMap<Uint8Array, unknown>()

/** The object `PDFDocument.registerFontkit` takes. */
export const subsettingFontkit: Fontkit = {
  create(data: Uint8Array, postscriptName?: string) {
    const cached = parsed.get(data)
    if (cached) return cached as ReturnType<Fontkit['create']>
    const font = fontkit.create(data as never, postscriptName) as unknown as {
      createSubset(): Subset
    }
    const createSubset = font.createSubset.bind(font)
    font.createSubset = () => {
      const subset = createSubset()
      subset.encodeStream = () => onceStream(() => subset.encode())
      return subset
    }
    parsed.set(data, font)
    return font as unknown as ReturnType<Fontkit['create']>
  },
}
