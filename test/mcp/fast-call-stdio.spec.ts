import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY
} from '@modelcontextprotocol/server'
import { afterAll, describe, expect, it } from 'vitest'
import {
  BIN_PATH,
  cleanup,
  createHome,
  FIXTURES_DIR,
  LOOPBACK_ARGS,
  NODE_BIN,
  REPO_ROOT,
  track,
  waitFor,
  modernServer
} from '../helpers/index.js'

/**
 * The tools/call fast path on the node's stdio (src/mcp/fast-call.ts through
 * StreamServerTransport.intercept), in both eras a stdio client can open:
 * 2025 (`initialize`, what the SDK client does by default) and 2026-07-28
 * (per-request envelope). Each case is answered once by the SDK and once by
 * the fast path (the node's debug log says which); the raw lines on stdout
 * must be the same, ids aside. A 2025 request carrying any envelope key is
 * the SDK's (the SDK lifts it); a 2026-07-28 one with an envelope the session
 * has not validated yet likewise.
 */

interface RawSession {
  /** Sends a request; resolves with every line about it (server requests, notifications, the response). */
  request(id: string, method: string, params: Record<string, unknown>): Promise<string[]>
  notify(method: string, params?: Record<string, unknown>): void
  stderr(): string
}

afterAll(cleanup)

/** `start --foreground` on a fresh home, spoken to line by line. */
async function startRaw(): Promise<RawSession> {
  const { dir: home } = await createHome({
    config: {
      tools: [`${FIXTURES_DIR}/mesh-provider.mjs`],
      // A 2026-07-28 server whose tool answers input_required: a 2025 stdio client gets an elicitation request.
      servers: {
        modern: modernServer()
      }
    }
  })
  const child: ChildProcessWithoutNullStreams = spawn(
    NODE_BIN,
    [BIN_PATH, 'start', '--foreground', '--home', home, ...LOOPBACK_ARGS],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, MCP_MESH_FOREGROUND: '1', DEBUG: 'mcp-mesh:mcp:fast-call' },
      stdio: ['pipe', 'pipe', 'pipe']
    }
  )
  track('raw stdio node', async () => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const waiting = new Map<string, { lines: string[]; done: (lines: string[]) => void }>()
  let pending = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end)
      pending = pending.slice(end + 1)
      const message = JSON.parse(line) as {
        id?: string | number
        method?: string
        params?: { progressToken?: unknown; _meta?: Record<string, unknown> }
      }
      if (message.method === 'elicitation/create') {
        // The 2025 shim asks the caller; answer it, and file the request under the call it belongs to.
        child.stdin.write(
          `${JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { action: 'accept', content: { name: 'Ada' } } })}\n`
        )
        for (const entry of waiting.values()) entry.lines.push(line)
        continue
      }
      const response = message.method == null
      const key = response ? String(message.id) : String(message.params?.progressToken)
      const entry = waiting.get(key)
      if (entry == null) continue
      entry.lines.push(line)
      if (response) {
        waiting.delete(key)
        entry.done(entry.lines)
      }
    }
  })
  return {
    request: async (id, method, params) => {
      const { promise, resolve } = Promise.withResolvers<string[]>()
      waiting.set(id, { lines: [], done: resolve })
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
      return promise
    },
    notify: (method, params) => {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, ...(params != null && { params }) })}\n`)
    },
    stderr: () => stderr
  }
}

/** Ids, progress figures, server-request ids and sealed states masked; repeated progress once. */
function normalized(lines: string[], id: string): string[] {
  const texts = lines.map((text) =>
    text
      .replaceAll(JSON.stringify(id), '"ID"')
      .replace(/"progress":\d+/g, '"progress":0')
      .replace(/"requestState":"[^"]*"/g, '"requestState":"STATE"')
      // A request of the server (the 2025 shim's elicitation): its id and progress token count per session.
      .replace(/"progressToken":\d+/g, '"progressToken":0')
      .replace(/^(\{"method":.*"id":)\d+\}$/, '$10}')
  )
  return [...new Set(texts)]
}

const CASES: Array<{ name: string; params: (meta: Record<string, unknown> | undefined) => Record<string, unknown> }> = [
  { name: 'echo', params: (meta) => ({ name: 'echo', arguments: { message: 'hi' }, ...(meta && { _meta: meta }) }) },
  { name: 'result', params: (meta) => ({ name: 'remote_double', arguments: { n: 4 }, ...(meta && { _meta: meta }) }) },
  {
    name: 'unknown tool (SEP-1303: -32602)',
    params: (meta) => ({ name: 'no_such_tool', arguments: {}, ...(meta && { _meta: meta }) })
  },
  {
    name: 'bad arguments (a tool error result)',
    params: (meta) => ({ name: 'remote_double', arguments: { n: 'four' }, ...(meta && { _meta: meta }) })
  },
  { name: 'malformed request (no name)', params: (meta) => ({ arguments: {}, ...(meta && { _meta: meta }) }) },
  {
    name: 'a shared server asks for input',
    params: (meta) => ({ name: 'modern.ask_name', arguments: {}, ...(meta && { _meta: meta }) })
  },
  {
    name: 'progress and a structured result',
    params: (meta) => ({
      name: 'remote_slow',
      arguments: { durationMs: 120 },
      _meta: { ...meta, progressToken: 'PROGRESS' }
    })
  }
]

function fastPathLogged(session: RawSession, id: string): boolean {
  return session.stderr().includes(`tools/call ${id} on the fast path`)
}

/** Waits until the node's tools answer (the node starts after initialize). */
async function waitForTools(session: RawSession, meta: Record<string, unknown> | undefined): Promise<void> {
  await waitFor(async () => {
    const lines = await session.request(`probe-${Date.now()}`, 'tools/call', {
      name: 'modern.ask_name',
      arguments: {},
      ...(meta && { _meta: meta })
    })
    const answer = lines.at(-1)
    return answer?.includes('Hello, Ada!') === true || answer?.includes('input_required') === true
  })
}

describe('tools/call fast path on stdio', () => {
  it('2025 (initialize): answers byte for byte as the SDK does', async () => {
    const session = await startRaw()
    await session.request('init', 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: { elicitation: {} },
      clientInfo: { name: 'fast-call-stdio', version: '1.0.0' }
    })
    session.notify('notifications/initialized')
    await waitForTools(session, undefined)
    // Any envelope key sends a 2025 request to the SDK (which lifts it; nothing else changes).
    const toSdk = { [LOG_LEVEL_META_KEY]: 'debug' }
    for (const [index, testCase] of CASES.entries()) {
      const viaSdk = await session.request(`sdk-${index}`, 'tools/call', testCase.params(toSdk))
      const viaFast = await session.request(`fast-${index}`, 'tools/call', testCase.params(undefined))
      // stderr and stdout are two pipes: the log line may arrive after the answer. Lines of one pipe keep
      // their order, so once the fast call's line is in, the SDK call's would be too.
      await waitFor(() => fastPathLogged(session, `fast-${index}`), { message: `${testCase.name}: the fast path` })
      expect(fastPathLogged(session, `sdk-${index}`), testCase.name).toBe(false)
      expect(normalized(viaFast, `fast-${index}`), testCase.name).toEqual(normalized(viaSdk, `sdk-${index}`))
    }
    expect(session.stderr()).toContain('tools/call probe-')
  }, 60_000)

  it('2026-07-28 (per-request envelope): answers byte for byte as the SDK does', async () => {
    const session = await startRaw()
    const envelope = (version: string): Record<string, unknown> => ({
      [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
      [CLIENT_INFO_META_KEY]: { name: 'fast-call-stdio', version },
      [CLIENT_CAPABILITIES_META_KEY]: { elicitation: { form: {} } }
    })
    await waitForTools(session, envelope('probe'))
    for (const [index, testCase] of CASES.entries()) {
      const meta = envelope(`case-${index}`)
      const viaSdk = await session.request(`sdk-${index}`, 'tools/call', testCase.params(meta))
      // A call the SDK answers with this envelope validates it for the session.
      await session.request(`prime-${index}`, 'tools/call', { name: 'echo', arguments: { message: 'x' }, _meta: meta })
      const viaFast = await session.request(`fast-${index}`, 'tools/call', testCase.params(meta))
      // stderr and stdout are two pipes: the log line may arrive after the answer. Lines of one pipe keep
      // their order, so once the fast call's line is in, the SDK call's would be too.
      await waitFor(() => fastPathLogged(session, `fast-${index}`), { message: `${testCase.name}: the fast path` })
      expect(fastPathLogged(session, `sdk-${index}`), testCase.name).toBe(false)
      expect(normalized(viaFast, `fast-${index}`), testCase.name).toEqual(normalized(viaSdk, `sdk-${index}`))
    }
  }, 60_000)

  it('2025: a cancelled call is not answered, and the next one is', async () => {
    const session = await startRaw()
    await session.request('init', 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: { elicitation: {} },
      clientInfo: { name: 'fast-call-stdio', version: '1.0.0' }
    })
    session.notify('notifications/initialized')
    await waitForTools(session, undefined)
    let answered = false
    void session.request('slow', 'tools/call', { name: 'remote_slow', arguments: { durationMs: 400 } }).then(() => {
      answered = true
    })
    await waitFor(() => fastPathLogged(session, 'slow'))
    session.notify('notifications/cancelled', { requestId: 'slow', reason: 'test' })
    const [after] = await session.request('after', 'tools/call', {
      name: 'remote_slow',
      arguments: { durationMs: 500 }
    })
    expect(after).toContain('"result"')
    expect(answered).toBe(false)
  }, 30_000)
})
