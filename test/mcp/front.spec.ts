import { Client, InMemoryTransport, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { TOOL_META_KEY } from '../../src/mcp/view.js'
import { RUNTIME_OVERRIDE_META_KEY } from '../../src/router/constants.js'
import { type MeshDispatcher, RuntimeRouter } from '../../src/router/router.js'
import { createEchoTool } from '../../src/tools/builtin/echo.js'
import { defineTool } from '../../src/tools/define.js'
import { callerInput } from '../../src/tools/input-scope.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { rejectionOf } from '../helpers/errors.js'
import { resultText, testTool } from '../helpers/tools.js'
import { waitFor } from '../helpers/wait.js'

let registry: ToolRegistry
let router: RuntimeRouter
let meshDispatcher: MeshDispatcher | undefined
let front: McpFront
let client: Client
/** Signals of `wait_for_abort` calls in progress, so tests can see cancellation arrive. */
let pending: AbortSignal[]

function waitForAbortTool(): ReturnType<typeof defineTool> {
  return defineTool({
    name: 'wait_for_abort',
    description: 'waits until its call is cancelled',
    inputSchema: z.object({}),
    handler: async (_args, { signal }) => {
      pending.push(signal)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
      return 'cancelled'
    }
  })
}

function progressTool(): ReturnType<typeof defineTool> {
  return defineTool({
    name: 'count',
    description: 'reports progress 1..n then returns n',
    inputSchema: z.object({ n: z.number().int().min(1).max(10) }),
    outputSchema: z.object({ n: z.number() }),
    handler: async ({ n }, { reportProgress }) => {
      for (let i = 1; i <= n; i++) reportProgress({ progress: i, total: n, message: `step ${i}` })
      return { n }
    }
  })
}

async function connectClient(): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await front.connect(serverSide, new LocalToolView(registry, router), { kind: 'local' })
  const c = new Client({ name: 'front-test', version: '1.0.0' })
  await c.connect(clientSide)
  return c
}

async function protocolError(promise: Promise<unknown>): Promise<ProtocolError> {
  const err = await rejectionOf<ProtocolError>(promise)
  expect(err).toBeInstanceOf(ProtocolError)
  return err
}

beforeEach(async () => {
  pending = []
  registry = new ToolRegistry()
  registry.registerAll([
    createEchoTool(),
    waitForAbortTool(),
    progressTool(),
    testTool('meshy', { meta: { runtime: 'mesh' } })
  ])
  meshDispatcher = undefined
  router = new RuntimeRouter(registry, { dispatcher: () => meshDispatcher })
  front = new McpFront({ name: 'mcp-mesh-test', version: '0.0.0' })
  registry.addEventListener('change', () => front.notifyToolListChanged())
  client = await connectClient()
})

afterEach(async () => {
  await client.close()
  await front.close()
})

describe('McpFront over an in-memory transport', () => {
  it('identifies itself and advertises tools with listChanged', () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp-mesh-test', version: '0.0.0' })
    expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true)
  })

  it('lists tools with title, schemas, annotations and mcp-mesh metadata', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(['echo', 'wait_for_abort', 'count', 'meshy'])
    const echo = tools[0]!
    expect(echo).toMatchObject({
      title: 'Echo',
      inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      outputSchema: { type: 'object', properties: { message: { type: 'string' } } },
      annotations: { readOnlyHint: true }
    })
    expect(echo._meta?.[TOOL_META_KEY]).toMatchObject({ runtime: 'auto', category: 'demo', export: true })
  })

  it('calls a tool and returns structured content', async () => {
    const result = (await client.callTool({ name: 'echo', arguments: { message: 'hi' } })) as CallToolResult
    expect(result.structuredContent).toEqual({ message: 'hi' })
    expect(result.isError).toBeFalsy()
  })

  it("runs a tool outside the caller-input scope: only a forwarded request carries the caller's ask", async () => {
    // Everything a call starts (a queue's journal batch, a timer) keeps the async context it was made in;
    // with the caller's ask in it, such work kept the whole call alive after it ended (src/tools/input-scope.ts).
    let seen: { scoped: boolean; asked: boolean } | undefined
    registry.register(
      defineTool({
        name: 'scope_probe',
        description: 'reports what its async context holds',
        inputSchema: z.object({}),
        handler: async (_args, ctx) => {
          await new Promise((resolve) => setImmediate(resolve))
          seen = { scoped: callerInput.getStore() !== undefined, asked: ctx.requestInput !== undefined }
          return 'ok'
        }
      })
    )
    await client.callTool({ name: 'scope_probe', arguments: {} })
    // Positive control: the call can ask its caller for input (through its context, not the async one).
    expect(seen).toEqual({ scoped: false, asked: true })
  })

  it('answers bad arguments with a tool error naming the field (SEP-1303)', async () => {
    const result = (await client.callTool({ name: 'echo', arguments: { message: 7 } })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('message')
    expect(result.structuredContent).toBeUndefined()
  })

  it('answers an unknown tool with InvalidParams', async () => {
    const err = await protocolError(client.callTool({ name: 'no_such_tool', arguments: {} }))
    expect(err.code).toBe(-32602)
    expect(err.message).toContain('no_such_tool')
  })

  it('rejects an invalid runtime override in _meta', async () => {
    const err = await protocolError(
      client.callTool({ name: 'echo', arguments: { message: 'x' }, _meta: { [RUNTIME_OVERRIDE_META_KEY]: 'cloud' } })
    )
    expect(err.code).toBe(-32602)
    expect(err.message).toContain(RUNTIME_OVERRIDE_META_KEY)
  })

  it('honours a valid runtime override: echo forced to the mesh fails without a dispatcher', async () => {
    const result = (await client.callTool({
      name: 'echo',
      arguments: { message: 'x' },
      _meta: { [RUNTIME_OVERRIDE_META_KEY]: 'mesh' }
    })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('no mesh dispatcher')
  })

  it('returns a mesh-only tool as an error result when there is no dispatcher', async () => {
    const result = (await client.callTool({ name: 'meshy', arguments: {} })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('no mesh dispatcher')
  })

  it('turns a failing dispatcher into an isError result, not a protocol error', async () => {
    const failing: MeshDispatcher = {
      offers: () => true,
      dispatch: async () => {
        throw new Error('peer vanished')
      }
    }
    meshDispatcher = failing
    const result = (await client.callTool({ name: 'meshy', arguments: {} })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('peer vanished')
  })

  it('relays progress to the caller’s progress token', async () => {
    const seen: Array<{ progress: number; total?: number; message?: string }> = []
    const result = (await client.callTool(
      { name: 'count', arguments: { n: 3 } },
      { onprogress: (p) => seen.push({ progress: p.progress, total: p.total, message: p.message }) }
    )) as CallToolResult
    expect(result.structuredContent).toEqual({ n: 3 })
    expect(seen).toEqual([
      { progress: 1, total: 3, message: 'step 1' },
      { progress: 2, total: 3, message: 'step 2' },
      { progress: 3, total: 3, message: 'step 3' }
    ])
  })

  it('cancels a call when the client aborts, and keeps serving', async () => {
    const controller = new AbortController()
    const call = client.callTool({ name: 'wait_for_abort', arguments: {} }, { signal: controller.signal })
    const signal = await waitFor(() => pending[0], { message: 'the tool to start' })
    controller.abort(new Error('changed my mind'))
    await expect(call).rejects.toThrow()
    await waitFor(() => signal.aborted, { message: 'the handler to see the cancellation' })
    const after = (await client.callTool({ name: 'echo', arguments: { message: 'still here' } })) as CallToolResult
    expect(after.structuredContent).toEqual({ message: 'still here' })
  })

  it('times a local call out on the signal its handler sees, and keeps serving', async () => {
    let seen: AbortSignal | undefined
    registry.register(
      defineTool({
        name: 'stuck',
        description: 'never answers, ignoring its signal',
        inputSchema: z.object({}),
        meta: { timeoutMs: 50 },
        handler: async (_args, { signal }) => {
          seen = signal
          return new Promise<never>(() => {})
        }
      })
    )
    const result = (await client.callTool({ name: 'stuck', arguments: {} })) as CallToolResult
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('timed out after 50 ms')
    expect(seen?.aborted).toBe(true)
    expect((seen?.reason as Error | undefined)?.name).toBe('ToolTimeoutError')
    const echoed = (await client.callTool({ name: 'echo', arguments: { message: 'still here' } })) as CallToolResult
    expect(echoed.structuredContent).toEqual({ message: 'still here' })
  })

  it('sends one coalesced tools/list_changed for a burst of registry changes', async () => {
    let notifications = 0
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      notifications++
    })
    registry.register(testTool('new_one'))
    registry.register(testTool('new_two'))
    registry.unregister('meshy')
    await waitFor(() => notifications > 0, { message: 'tools/list_changed' })
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(['echo', 'wait_for_abort', 'count', 'new_one', 'new_two'])
    expect(notifications).toBe(1)
  })

  it('tracks sessions and forgets closed ones', async () => {
    expect(front.sessionCount).toBe(1)
    const second = await connectClient()
    expect(front.sessionCount).toBe(2)
    await second.close()
    await waitFor(() => front.sessionCount === 1, { message: 'the closed session to be dropped' })
  })

  it('answers initialize at once and holds tool requests until the gate opens', async () => {
    const gated = new McpFront({ name: 'gated', version: '0.0.0' })
    const { promise: ready, resolve: open } = Promise.withResolvers<void>()
    gated.gate(ready)
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await gated.connect(serverSide, new LocalToolView(registry, router), { kind: 'local' })
    const early = new Client({ name: 'early', version: '1.0.0' })
    await early.connect(clientSide)
    let listed = false
    const listing = early.listTools().then((result) => {
      listed = true
      return result
    })
    const call = early.callTool({ name: 'echo', arguments: { message: 'queued' } })
    // A request sent after the tool requests is answered while they still wait.
    await early.ping()
    expect(listed).toBe(false)
    open()
    expect((await listing).tools.map((t) => t.name)).toContain('echo')
    expect(((await call) as CallToolResult).structuredContent).toEqual({ message: 'queued' })
    await early.close()
    await gated.close()
  })

  it('fails tool requests with an internal error when the node does not start', async () => {
    const gated = new McpFront({ name: 'gated', version: '0.0.0' })
    gated.gate(Promise.reject(new Error('datastore is locked')))
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await gated.connect(serverSide, new LocalToolView(registry, router), { kind: 'local' })
    const early = new Client({ name: 'early', version: '1.0.0' })
    await early.connect(clientSide)
    const err = await protocolError(early.listTools())
    expect(err.code).toBe(ProtocolErrorCode.InternalError)
    expect(err.message).toContain('datastore is locked')
    await early.close()
    await gated.close()
  })
})
