import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  BIN_PATH,
  type CliResult,
  cleanup,
  createHome,
  LOOPBACK_ARGS,
  NODE_BIN,
  REPO_ROOT,
  trackPid
} from '../helpers/index.js'

afterEach(cleanup)

const FOUNDATION_TOOLS = ['echo', 'sha256', 'sleep', 'mesh_status', 'mesh_health']

/** MCP Inspector CLI v2 (devDependency, pinned to 2.12.0). */
const INSPECTOR = join(
  REPO_ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'inspector',
  'clients',
  'launcher',
  'build',
  'index.js'
)

/** `start` launches a detached node (the default): let it exit soon after the Inspector leaves. */
const HOME = { config: { lifecycle: { idleExitMs: 200 } } }

/** Runs the Inspector CLI against `mcp-mesh start` over stdio. */
async function inspect(home: string, method: string[]): Promise<CliResult> {
  const args = [
    INSPECTOR,
    '--cli',
    '-q',
    '--format',
    'json',
    NODE_BIN,
    BIN_PATH,
    'start',
    '--home',
    home,
    ...LOOPBACK_ARGS,
    ...method
  ]
  const child = spawn(NODE_BIN, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  trackPid(child.pid)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
  return new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

describe('MCP Inspector CLI', () => {
  it('tools/list --strict passes: every schema is portable', async () => {
    const home = await createHome(HOME)
    const result = await inspect(home.dir, ['--method', 'tools/list', '--strict'])
    expect(result.code, result.stderr).toBe(0)
    const listed = JSON.parse(result.stdout) as { result: { tools: Array<{ name: string }> } }
    expect(listed.result.tools.map((t) => t.name)).toEqual(expect.arrayContaining(FOUNDATION_TOOLS))
    expect(result.stderr).not.toMatch(/^Error:/m)
    // The foundation's own tools draw no warning either (e.g. an empty `{}` schema that accepts anything).
    const warned = [...result.stderr.matchAll(/^Warning: tool "([^"]+)"/gm)].map((m) => m[1])
    expect(warned.filter((name) => FOUNDATION_TOOLS.includes(name!))).toEqual([])
  })

  it('tools/call echo works', async () => {
    const home = await createHome(HOME)
    const result = await inspect(home.dir, [
      '--method',
      'tools/call',
      '--tool-name',
      'echo',
      '--tool-args-json',
      '{"message":"inspected"}'
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ result: { structuredContent: { message: 'inspected' } } })
  })

  it('reports invalid arguments as an error naming the field', async () => {
    const home = await createHome(HOME)
    const result = await inspect(home.dir, [
      '--method',
      'tools/call',
      '--tool-name',
      'echo',
      '--tool-args-json',
      '{"message":1}'
    ])
    expect(result.code).toBe(1)
    // The Inspector prints {"error": {...}} on stderr.
    expect(result.stderr).toContain('Invalid arguments for tool echo: message')
  })
})
