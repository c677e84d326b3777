/**
 * The dashboard's routes on the HTTP endpoint, in process: the page login
 * (token exchanged for an HttpOnly SameSite=Strict cookie), the bearer token
 * or cookie on every other route, the Host, Origin and method checks, and
 * the state snapshot built from the sources.
 */
import { readFile } from 'node:fs/promises'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { dashboardRoutes, type DashboardSources, type DashboardState } from '../../src/dashboard/index.js'
import { createFront } from '../../src/mcp/front.js'
import { HttpEndpoint, SESSION_COOKIE, sessionCookieValue } from '../../src/mcp/http.js'
import type { ToolView } from '../../src/mcp/view.js'
import type { Task, TaskQueueApi } from '../../src/queue/index.js'
import { cleanup, createTempDir, track } from '../helpers/index.js'
import { rawGet } from '../metrics/node-http.js'

afterEach(cleanup)

const view: ToolView = {
  list: () => [],
  describe: () => undefined,
  call: async (): Promise<CallToolResult> => ({ content: [{ type: 'text', text: 'pong' }] })
}

function task(id: string, state: Task['state'], createdAt: number): Task {
  return {
    id,
    tool: 'echo',
    args: {},
    state,
    priority: 5,
    seq: 1,
    tags: [],
    argsHash: '',
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 100, retryOnToolError: false, jitter: false },
    timeoutMs: 1000,
    runAt: 0,
    createdAt,
    updatedAt: createdAt,
    attempts: 1,
    history: [],
    failIfNoWorker: false,
    labels: { workflowId: 'wf-1', stepId: 'a' }
  } as unknown as Task
}

const sources: DashboardSources = {
  refreshMs: 500,
  node: () => ({ peerId: 'self', version: '1', meshName: 'm', uptimeMs: 5, sessions: 1, addresses: [] }),
  health: async () => ({ healthy: true, checks: [{ subsystem: 'x', ok: true, detail: 'fine' }] }),
  peers: () => [
    { peerId: 'peer-b', alias: 'b', connected: true, addresses: [], inCatalog: true, tools: ['echo', 'only-b'] }
  ],
  localTools: () => [{ name: 'echo', exported: true }],
  queue: () =>
    ({
      list: () => ({ tasks: [task('t1', 'succeeded', 1), task('t2', 'queued', 2)], total: 2 })
    }) as unknown as TaskQueueApi,
  workflows: () => undefined,
  latency: async () => [{ tool: 'echo', route: 'local', calls: 2, meanMs: 1.5 }]
}

async function start(): Promise<{ origin: string; token: string }> {
  const home = await createTempDir()
  const front = createFront()
  const endpoint = new HttpEndpoint(front, view, { home, port: 0, routes: dashboardRoutes(sources) })
  await endpoint.start()
  track('http endpoint', async () => {
    await endpoint.stop()
    await front.close()
  })
  return { origin: endpoint.origin!, token: (await readFile(endpoint.tokenPath, 'utf8')).trim() }
}

describe('dashboard routes', () => {
  it('exchanges the token for an HttpOnly SameSite=Strict cookie that opens every route', async () => {
    const { origin, token } = await start()
    const login = await fetch(`${origin}/dashboard?token=${encodeURIComponent(token)}`, { redirect: 'manual' })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/dashboard')
    const cookie = login.headers.get('set-cookie')!
    expect(cookie).toContain(`${SESSION_COOKIE}=${sessionCookieValue(token)}`)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    expect(cookie).not.toContain(token)
    const headers = { cookie: `${SESSION_COOKIE}=${sessionCookieValue(token)}` }
    const page = await fetch(`${origin}/dashboard`, { headers })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await page.text()).toContain('/dashboard/app.js')
    expect((await fetch(`${origin}/dashboard/app.js`, { headers })).headers.get('content-type')).toContain('javascript')
    expect((await fetch(`${origin}/dashboard/app.css`, { headers })).status).toBe(200)
    const state = (await (await fetch(`${origin}/api/state`, { headers })).json()) as DashboardState
    expect(state.refreshMs).toBe(500)
    expect(state.tools).toEqual([
      { name: 'echo', providers: ['local', 'peer-b'] },
      { name: 'only-b', providers: ['peer-b'] }
    ])
    expect(state.tasks.rows.map((row) => row.id)).toEqual(['t2', 't1'])
    expect(state.tasks.counts).toEqual({ succeeded: 1, queued: 1 })
    expect(state.tasks.rows[0]).toMatchObject({ workflowId: 'wf-1', stepId: 'a' })
    expect(state.latency[0]).toMatchObject({ tool: 'echo', calls: 2 })
    // The bearer token works too (for scripts).
    expect((await fetch(`${origin}/api/state`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  })

  it('refuses without credentials, with a wrong token or cookie, a foreign Origin or Host, and writes', async () => {
    const { origin, token } = await start()
    const page = await fetch(`${origin}/dashboard`)
    expect(page.status).toBe(401)
    expect(await page.text()).toContain('name="token"')
    expect((await fetch(`${origin}/dashboard?token=nope`, { redirect: 'manual' })).status).toBe(401)
    expect((await fetch(`${origin}/api/state`)).status).toBe(401)
    expect((await fetch(`${origin}/api/state`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } })).status).toBe(401)
    const auth = { authorization: `Bearer ${token}` }
    expect((await fetch(`${origin}/api/state`, { headers: { ...auth, origin: 'http://evil.example' } })).status).toBe(
      403
    )
    expect(await rawGet(`${origin}/api/state`, { ...auth, host: 'evil.example' })).toBe(403)
    expect((await fetch(`${origin}/api/state`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(405)
    // A token in the query string only logs a page in; it opens nothing else.
    expect((await fetch(`${origin}/api/state?token=${encodeURIComponent(token)}`)).status).toBe(401)
  })
})
