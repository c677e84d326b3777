import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { NodeObservability } from '../../src/node/observability.js'

describe('NodeObservability', () => {
  it('gives libp2p a metrics plugin only when something can read the metrics', async () => {
    const unread = new NodeObservability(parseConfig({}, 'test'), {})
    expect(unread.metrics.libp2p).toBeUndefined()
    expect(unread.metricsUrls()).toEqual([])

    const http = new NodeObservability(parseConfig({ mcp: { httpPort: 8080 } }, 'test'), {})
    expect(http.metrics.libp2p).toBeDefined()
    expect(http.metricsUrls('http://127.0.0.1:8080')).toEqual(['http://127.0.0.1:8080/metrics'])

    const port = new NodeObservability(parseConfig({ metrics: { port: 9464 } }, 'test'), {})
    expect(port.metrics.libp2p).toBeDefined()

    const off = new NodeObservability(parseConfig({ mcp: { httpPort: 8080 }, metrics: { libp2p: false } }, 'test'), {})
    expect(off.metrics.libp2p).toBeUndefined()
  })
})
