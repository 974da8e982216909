import { describe, expect, it } from 'vitest'
import { processMemoryMetrics } from '../../src/platform/runtime.js'
import { buildTestApp } from '../helpers/gateway.js'

describe('process memory on /metrics', () => {
  it('exposes RSS and heap as Prometheus gauges on Node', async () => {
    const app = buildTestApp('http://127.0.0.1:9/functions/v1')
    const text = await (await app.request('/metrics')).text()
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_total_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_external_memory_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${name} gauge`)
      expect(Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])).toBeGreaterThan(0)
    }
  })

  it('writes nothing where the runtime has no memoryUsage (Workers)', () => {
    const saved = process.memoryUsage
    try {
      ;(process as { memoryUsage?: unknown }).memoryUsage = undefined
      expect(processMemoryMetrics()).toBe('')
    } finally {
      process.memoryUsage = saved
    }
  })
})
