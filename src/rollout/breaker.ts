/**
 * Per-route breaker on the native path (README, "Fallback and breakers"): after `threshold` consecutive
 * native failures the route goes to legacy for `cooldownMs`, then one probe request is let
 * through natively; its success closes the breaker, its failure opens it again.
 */

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  threshold?: number
  cooldownMs?: number
  clock?: () => number
  onChange?: (routeId: string, state: BreakerState) => void
}

interface RouteBreaker {
  failures: number
  openedAt: number | undefined
  probing: boolean
}

export class NativeBreakers {
  private readonly routes = new Map<string, RouteBreaker>()
  private readonly threshold: number
  private readonly cooldownMs: number
  private readonly clock: () => number
  private readonly onChange: BreakerOptions['onChange']

  constructor({
    threshold = 5,
    cooldownMs = 30_000,
    clock = Date.now,
    onChange,
  }: BreakerOptions = {}) {
    this.threshold = threshold
    this.cooldownMs = cooldownMs
    this.clock = clock
    this.onChange = onChange
  }

  state(routeId: string): BreakerState {
    const b = this.routes.get(routeId)
    if (!b || b.openedAt === undefined) return 'closed'
    return this.clock() - b.openedAt >= this.cooldownMs ? 'half-open' : 'open'
  }

  /** Whether a native attempt may go ahead now (claims the single half-open probe). */
  allow(routeId: string): boolean {
    const state = this.state(routeId)
    if (state === 'closed') return true
    if (state === 'open') return false
    const b = this.routes.get(routeId) as RouteBreaker
    if (b.probing) return false
    b.probing = true
    return true
  }

  success(routeId: string): void {
    const b = this.routes.get(routeId)
    if (!b) return
    const wasOpen = b.openedAt !== undefined
    this.routes.delete(routeId)
    if (wasOpen) this.onChange?.(routeId, 'closed')
  }

  failure(routeId: string): void {
    let b = this.routes.get(routeId)
    if (!b) {
      b = { failures: 0, openedAt: undefined, probing: false }
      this.routes.set(routeId, b)
    }
    b.failures += 1
    b.probing = false
    if (b.openedAt !== undefined || b.failures >= this.threshold) {
      b.openedAt = this.clock()
      this.onChange?.(routeId, 'open')
    }
  }
}
