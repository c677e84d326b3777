import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, createTempDir, REPO_ROOT, runCli, spawnNode } from '../helpers/index.js'

afterEach(cleanup)

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** PATH as an MCP client launching the bin by absolute path has it: no node_modules/.bin. */
const PLAIN_PATH = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
  .split(delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(delimiter)

/** The machine's own `node` (v20 here), found on the plain PATH. */
const SYSTEM_NODE = ['/usr/local/bin/node', ...PLAIN_PATH.split(delimiter).map((dir) => join(dir, 'node'))].find(
  (path) => existsSync(path)
)
const systemMajor =
  SYSTEM_NODE == null ? 0 : Number(execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node']).toString().split('.')[0])

const plainEnv = { PATH: PLAIN_PATH, MCP_MESH_REEXEC: undefined }

describe.skipIf(SYSTEM_NODE == null)('bin/mcp-mesh.js launcher with the system node', () => {
  it('prints the version', async () => {
    const result = await runCli(['--version'], { node: SYSTEM_NODE, env: plainEnv })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(VERSION)
  })

  it('runs when started by absolute path (#!/usr/bin/env node picks the system node)', async () => {
    const result = await runCli(['--version'], { executable: true, env: plainEnv })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(VERSION)
  })

  it('serves MCP over stdio through the re-exec', async () => {
    const home = await createHome()
    const node = await spawnNode({ home: home.dir, executable: true, env: plainEnv })
    const result = (await node.client.callTool({
      name: 'echo',
      arguments: { message: 'relaunched' }
    })) as CallToolResult
    expect(result.structuredContent).toEqual({ message: 'relaunched' })
    expect(await node.closeStdin()).toEqual({ code: 0, signal: null })
  })

  it.skipIf(systemMajor >= 22)('refuses to loop when the re-executed Node is still too old', async () => {
    const result = await runCli(['--version'], { node: SYSTEM_NODE, env: { ...plainEnv, MCP_MESH_REEXEC: '1' } })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('too old')
  })
})

describe('bin/mcp-mesh.js on Node 22', () => {
  const FRAME_FLAG = '--experimental-async-context-frame'
  // The launcher runs on NODE_BIN (node@22 here); /proc shows the node's own command line.
  const canExec =
    process.platform === 'linux' &&
    typeof (process as { execve?: unknown }).execve === 'function' &&
    Number(process.versions.node.split('.')[0]) < 24

  it.skipIf(!canExec)(
    're-executes start --foreground in place with AsyncLocalStorage in V8 (same pid, same stdio)',
    async () => {
      const home = await createHome()
      const node = await spawnNode({ home: home.dir })
      const argv = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0')
      expect(argv.filter((arg) => arg === FRAME_FLAG)).toHaveLength(1)
      const result = (await node.client.callTool({
        name: 'echo',
        arguments: { message: 'in place' }
      })) as CallToolResult
      expect(result.structuredContent).toEqual({ message: 'in place' })
      expect(await node.closeStdin()).toEqual({ code: 0, signal: null })
    }
  )

  /** GLIBC_TUNABLES in the environment the process `pid` started with. */
  const tunables = (pid: number): string | undefined =>
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((entry) => entry.startsWith('GLIBC_TUNABLES='))

  it.skipIf(!canExec)(
    'starts the node with glibc’s malloc trim threshold fixed, unless GLIBC_TUNABLES is set',
    async () => {
      const tuned = await spawnNode({ home: (await createHome()).dir, env: { GLIBC_TUNABLES: undefined } })
      expect(tunables(tuned.pid)).toBe('GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072')
      const own = 'glibc.malloc.arena_max=2'
      const kept = await spawnNode({ home: (await createHome()).dir, env: { GLIBC_TUNABLES: own } })
      expect(tunables(kept.pid)).toBe(`GLIBC_TUNABLES=${own}`)
      expect((await kept.status()).peerId).toBeTruthy()
    }
  )
})

describe('bin/mcp-mesh.js compile cache', () => {
  /** Files the compile cache holds under `dir` (one sub-directory per Node version). */
  function cached(dir: string): number {
    if (!existsSync(dir)) return 0
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .reduce((sum, entry) => sum + readdirSync(join(dir, entry.name)).length, 0)
  }

  it('keeps V8’s code cache in the directory it is given', async () => {
    const dir = join(await createTempDir(), 'compile')
    const result = await runCli(['--version'], { env: { MCP_MESH_COMPILE_CACHE: dir, NODE_COMPILE_CACHE: undefined } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(VERSION)
    expect(cached(dir)).toBeGreaterThan(0)
  })

  it('keeps it for `daemon` too when a directory is given (unset, a daemon runs without it)', async () => {
    const dir = join(await createTempDir(), 'compile')
    const result = await runCli(['daemon', '--help'], {
      env: { MCP_MESH_COMPILE_CACHE: dir, NODE_COMPILE_CACHE: undefined }
    })
    expect(result.code, result.stderr).toBe(0)
    expect(cached(dir)).toBeGreaterThan(0)
  })

  it('starts when the cache directory cannot be created', async () => {
    const file = join(await createTempDir(), 'not-a-dir')
    writeFileSync(file, '')
    const result = await runCli(['--version'], { env: { MCP_MESH_COMPILE_CACHE: join(file, 'compile') } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(VERSION)
  })
})
