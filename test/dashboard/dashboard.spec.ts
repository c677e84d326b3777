// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax
/**
 * The dashboard in a real headless browser (Debian's chromium driven by
 * playwright-core): node A of a three-node mesh serves it; the page shows
 * both peers, a task submitted over MCP appears and completes, and a
 * workflow's DAG renders with its step states. Set DASHBOARD_SCREENSHOT to a
 * path to save a screenshot of the page (the README's picture).
 */
import { existsSync } from 'node:fs'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanup,
  createHome,
  createTempDir,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  track,
  waitFor
} from '../helpers/index.js'
import { type NodeHttp, nodeHttp } from '../metrics/node-http.js'

const CHROMIUM = '/usr/bin/chromium'
const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 10_000 } }
/** Flags for a closed, loopback-only machine (see .ci/run): no network calls of Chromium's own. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

let a: NodeProcess
let peerB: string
let peerC: string
let http: NodeHttp
let browser: BrowserContext
let page: Page

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = (await a.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) throw new Error(JSON.stringify(result.content))
  return result
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard (headless chromium)', () => {
  beforeAll(async () => {
    a = await spawnNode({
      home: (await createHome({ config: { ...FAST_CATALOG, dashboard: { refreshMs: 300 } } })).dir,
      args: ['--http', '0']
    })
    const bootstrap = tcpAddress(await a.status())
    const b = await spawnNode({
      home: (await createHome({ config: FAST_CATALOG })).dir,
      args: ['--bootstrap', bootstrap]
    })
    const c = await spawnNode({
      home: (await createHome({ config: FAST_CATALOG })).dir,
      args: ['--bootstrap', bootstrap]
    })
    peerB = (await b.status()).peerId
    peerC = (await c.status()).peerId
    http = await nodeHttp(a)
    await waitFor(
      async () => ((await a.status()).subsystems.mesh as { catalog?: { peers: number } }).catalog?.peers === 2,
      { message: "B and C in A's catalog", timeoutMs: 30_000 }
    )
    browser = await chromium.launchPersistentContext(await createTempDir('mcp-mesh-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 }
    })
    track('chromium', async () => browser.close())
    page = browser.pages()[0] ?? (await browser.newPage())
  }, 120_000)

  afterAll(cleanup)

  it('asks for the token, and keeps the API closed without it', async () => {
    const response = await page.goto(`${http.origin}/dashboard`)
    expect(response?.status()).toBe(401)
    await expect(page.locator('input[name=token]').count()).resolves.toBe(1)
    expect((await fetch(`${http.origin}/api/state`)).status).toBe(401)
    const wrong = await page.goto(`${http.origin}/dashboard?token=wrong`)
    expect(wrong?.status()).toBe(401)
  })

  it('signs in with the token (exchanged for an HttpOnly cookie) and shows the peers of the mesh', async () => {
    await page.goto(`${http.origin}/dashboard`)
    await page.fill('input[name=token]', http.token)
    await Promise.all([page.waitForURL(`${http.origin}/dashboard`), page.click('button[type=submit]')])
    expect(page.url()).toBe(`${http.origin}/dashboard`)
    const cookies = await browser.cookies(http.origin)
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatchObject({ name: 'mcp_mesh_session', httpOnly: true, sameSite: 'Strict' })
    expect(cookies[0]!.value).not.toContain(http.token)
    await page.locator(`[data-testid=peers] tr[data-peer="${peerB}"]`).waitFor()
    await page.locator(`[data-testid=peers] tr[data-peer="${peerC}"]`).waitFor()
    await expect(page.locator('[data-testid=health]').textContent()).resolves.toBe('healthy')
    const echo = page.locator('[data-testid=tools] tr[data-tool="echo"] td').nth(1)
    await expect(echo.textContent()).resolves.toContain('local')
  })

  it('shows a task submitted over MCP, live, until it completes', async () => {
    const submitted = await call('task_submit', {
      tool: 'sleep',
      args: { durationMs: 1500 },
      placement: { peer: peerB }
    })
    const id = (submitted.structuredContent as { task: { id: string } }).task.id
    const row = page.locator(`[data-testid=tasks] tr[data-task="${id}"]`)
    await row.waitFor()
    await page.locator(`[data-testid=tasks] tr[data-task="${id}"][data-state="succeeded"]`).waitFor({ timeout: 20_000 })
    // Filtered by state: a succeeded task is not listed under "running".
    await page.selectOption('[data-testid=task-filter]', 'running')
    await expect(row.count()).resolves.toBe(0)
    await page.selectOption('[data-testid=task-filter]', 'succeeded')
    await row.waitFor()
    await page.selectOption('[data-testid=task-filter]', '')
  })

  it("renders a workflow's DAG with its step states", async () => {
    const submitted = await call('workflow_submit', {
      document: {
        name: 'dashboard-demo',
        steps: [
          { id: 'fetch', tool: 'echo', args: { message: 'hello' } },
          {
            id: 'hash',
            tool: 'sha256',
            args: { data: { $ref: 'steps.fetch.output.message' } },
            placement: { peer: peerB }
          },
          {
            id: 'shout',
            tool: 'echo',
            args: { message: '${steps.fetch.output.message}!' },
            placement: { peer: peerC }
          },
          { id: 'join', tool: 'echo', args: { message: '${steps.hash.output.hex} ${steps.shout.output.message}' } }
        ]
      }
    })
    const workflowId = (submitted.structuredContent as { workflowId: string }).workflowId
    const box = page.locator(`[data-testid=workflows] [data-workflow="${workflowId}"]`)
    await page.locator(`[data-testid=workflows] [data-workflow="${workflowId}"][data-state="succeeded"]`).waitFor({
      timeout: 30_000
    })
    const dag = box.locator('svg[data-testid=dag]')
    await dag.waitFor()
    for (const step of ['fetch', 'hash', 'shout', 'join']) {
      await dag.locator(`g[data-step="${step}"][data-state="succeeded"]`).waitFor()
    }
    await expect(dag.locator('path.edge').count()).resolves.toBe(4)
    const screenshot = process.env.DASHBOARD_SCREENSHOT
    if (screenshot != null && screenshot !== '') await page.screenshot({ path: screenshot, fullPage: true })
  })
})
