/**
 * One client call is one trace over every node it touches: two real node
 * processes export their spans over OTLP/HTTP JSON to a tiny receiver on
 * 127.0.0.1, which checks that spans of one trace come from both nodes and
 * link up (client span on A -> server span on B), for a mesh call and for a
 * task pushed to the other node.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, type NodeProcess, spawnNode, tcpAddress, track, waitFor } from '../helpers/index.js'

interface ReceivedSpan {
  service: string
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Record<string, unknown>
}

const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 10_000 } }
const received: ReceivedSpan[] = []
let receiver: Server
let endpoint: string
let a: NodeProcess
let b: NodeProcess
let peerA: string
let peerB: string

type OtlpAttribute = { key: string; value: Record<string, unknown> }

function flatten(attributes: OtlpAttribute[] = []): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]))
}

async function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(400).end()
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{
          resource: { attributes: OtlpAttribute[] }
          scopeSpans: Array<{
            spans: Array<Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes: OtlpAttribute[] }>
          }>
        }>
      }
      for (const resource of body.resourceSpans) {
        const service = String(flatten(resource.resource.attributes)['service.instance.id'])
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) received.push({ ...span, service, attributes: flatten(span.attributes) })
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  track('otlp receiver', async () => new Promise<void>((resolve) => receiver.close(() => resolve())))
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`
}

function traceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`
}

function spansOf(traceId: string): ReceivedSpan[] {
  return received.filter((span) => span.traceId === traceId)
}

beforeAll(async () => {
  await startReceiver()
  const tracing = { tracing: { otlpEndpoint: endpoint } }
  a = await spawnNode({ home: (await createHome({ config: { ...FAST_CATALOG, ...tracing } })).dir })
  const statusA = await a.status()
  peerA = statusA.peerId
  b = await spawnNode({
    home: (await createHome({ config: { ...FAST_CATALOG, ...tracing } })).dir,
    args: ['--bootstrap', tcpAddress(statusA)]
  })
  peerB = (await b.status()).peerId
  await waitFor(
    async () => ((await a.status()).subsystems.mesh as { catalog?: { peers: number } }).catalog?.peers === 1,
    { message: "B in A's catalog", timeoutMs: 30_000 }
  )
}, 90_000)

afterAll(cleanup)

describe('trace propagation', () => {
  it('carries a client call into the peer that runs it: one trace, spans from both nodes', async () => {
    const traceId = 'a1'.repeat(16)
    const clientSpan = 'b2'.repeat(8)
    const result = (await a.client.callTool({
      name: 'echo',
      arguments: { message: 'traced' },
      _meta: { 'mcp-mesh/runtime': 'mesh', traceparent: traceparent(traceId, clientSpan), tracestate: 'test=1' }
    })) as CallToolResult
    expect(result.isError).not.toBe(true)
    await waitFor(() => spansOf(traceId).some((span) => span.service === peerB), {
      message: "B's spans of the trace",
      timeoutMs: 15_000
    })
    await waitFor(() => spansOf(traceId).some((span) => span.service === peerA && span.name === 'tools/call echo'), {
      message: "A's server span",
      timeoutMs: 15_000
    })
    const spans = spansOf(traceId)
    const serverA = spans.find((span) => span.service === peerA && span.name === 'tools/call echo')!
    expect(serverA.parentSpanId).toBe(clientSpan)
    expect(serverA.kind).toBe(2)
    const route = spans.find((span) => span.service === peerA && span.name === 'route echo')!
    expect(route.parentSpanId).toBe(serverA.spanId)
    const peerCall = spans.find((span) => span.service === peerA && span.name === 'peer call echo')!
    expect(peerCall.kind).toBe(3)
    expect(peerCall.attributes['mcp_mesh.peer']).toBe(peerB)
    const serverB = spans.find((span) => span.service === peerB && span.name === 'tools/call echo')!
    expect(serverB.parentSpanId).toBe(peerCall.spanId)
    expect(serverB.attributes['mcp_mesh.caller_peer']).toBe(peerA)
    // B ran it locally under its own route span, in the same trace.
    expect(
      spans.some((span) => span.service === peerB && span.name === 'route echo' && span.parentSpanId === serverB.spanId)
    ).toBe(true)
  })

  it('puts every step of a workflow in the trace of the call that submitted it', async () => {
    const traceId = 'e5'.repeat(16)
    const submitted = (await a.client.callTool({
      name: 'workflow_submit',
      arguments: {
        document: {
          name: 'traced',
          steps: [
            { id: 'first', tool: 'echo', args: { message: 'one' }, placement: { peer: peerB } },
            {
              id: 'second',
              tool: 'sha256',
              args: { data: { $ref: 'steps.first.output.message' } },
              placement: { peer: peerB }
            }
          ]
        },
        wait: true,
        timeoutMs: 30_000
      },
      _meta: { traceparent: traceparent(traceId, 'f6'.repeat(8)) }
    })) as CallToolResult
    expect(submitted.isError).not.toBe(true)
    await waitFor(
      () =>
        ['first', 'second'].every((step) =>
          spansOf(traceId).some((span) => span.service === peerA && span.name === `workflow step ${step}`)
        ),
      { message: "A's step spans", timeoutMs: 20_000 }
    )
    await waitFor(
      () =>
        ['tools/call echo', 'tools/call sha256'].every((name) =>
          spansOf(traceId).some((span) => span.service === peerB && span.name === name)
        ),
      { message: "B's spans of both steps", timeoutMs: 15_000 }
    )
  })

  it('carries a task pushed to another node into the same trace', async () => {
    const traceId = 'c3'.repeat(16)
    const submitted = (await a.client.callTool({
      name: 'task_submit',
      arguments: { tool: 'echo', args: { message: 'task' }, placement: { peer: peerB } },
      _meta: { traceparent: traceparent(traceId, 'd4'.repeat(8)) }
    })) as CallToolResult
    expect(submitted.isError).not.toBe(true)
    await waitFor(() => spansOf(traceId).some((span) => span.service === peerA && span.name === 'task echo'), {
      message: "A's task span",
      timeoutMs: 20_000
    })
    await waitFor(() => spansOf(traceId).some((span) => span.service === peerB), {
      message: "B's spans of the task's trace",
      timeoutMs: 15_000
    })
    const spans = spansOf(traceId)
    const task = spans.find((span) => span.service === peerA && span.name === 'task echo')!
    expect(task.attributes['mcp_mesh.task.state']).toBe('succeeded')
    const attempt = spans.find((span) => span.name === 'task dispatch echo')!
    expect(attempt.parentSpanId).toBe(task.spanId)
    expect(attempt.attributes['mcp_mesh.task.worker']).toBe(peerB)
    expect(spans.some((span) => span.service === peerB && span.name === 'tools/call echo')).toBe(true)
  })
})
