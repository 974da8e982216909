import { z } from 'zod'

/**
 * What the shared store holds on top of `flags.json`: per route, the native percentage and the
 * shadow percentage. Groups and auto-rollback settings stay in the file, where a review and a
 * deploy change them.
 */
export const OverlaySchema = z
  .object({
    routes: z.record(
      z.string(),
      z.object({ native: z.number(), shadow: z.number().optional() }).strict(),
    ),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .strict()

export type Overlay = z.output<typeof OverlaySchema>

/** An auto-rollback in force for a route, shared by every instance. */
export const HoldSchema = z
  .object({
    routeId: z.string(),
    /** Epoch ms: the start and end of the cool-down. */
    since: z.number(),
    until: z.number(),
    /** The route's percentage when it was rolled back. */
    from: z.number(),
    reason: z.string(),
  })
  .strict()

export type Hold = z.output<typeof HoldSchema>

/** Parse stored JSON text with a schema; the problems as text when it does not fit. */
export function parseStored<T>(
  schema: z.ZodType<T>,
  text: string,
): { value: T } | { problems: string[] } {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return { problems: [`not valid JSON (${(error as Error).message})`] }
  }
  const parsed = schema.safeParse(raw)
  if (parsed.success) return { value: parsed.data }
  return {
    problems: parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
    ),
  }
}
