import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ConfigError } from '../../src/config/errors.js'
import {
  type ConfigFlags,
  configPathFor,
  initHome,
  loadConfig,
  parseConfig,
  resolveHome
} from '../../src/config/load.js'
import { DEFAULT_LISTEN } from '../../src/config/defaults.js'
import { rejectionOf } from '../helpers/errors.js'

let dir: string
let home: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-mesh-config-'))
  home = join(dir, 'home')
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function patchFile(patch: Record<string, unknown>): Promise<void> {
  const path = configPathFor(home)
  const current = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  await writeFile(path, JSON.stringify({ ...current, ...patch }))
}

async function load(options: { flags?: ConfigFlags; env?: NodeJS.ProcessEnv } = {}) {
  return (await loadConfig(home, { flags: options.flags, env: options.env ?? {} })).config
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const err = await rejectionOf<ConfigError>(promise)
  expect(err.name).toBe('ConfigError')
  return err
}

const PEER_A = '12D3KooWFnJ9JZ7uGLnqAnM675W447MrePk7xZ2cQBeJXNTUckZh'
const PEER_B = '12D3KooWPbGHbM3KpU492LW3myeEJRvoyMN9UmHMB46GF6Ny7pfA'

describe('config precedence: flags > env > file > defaults', () => {
  beforeEach(async () => {
    await initHome(home)
  })

  it('uses the defaults for fields the file does not set', async () => {
    await writeFile(configPathFor(home), JSON.stringify({ identity: await readIdentity() }))
    const config = await load()
    expect(config.addresses.listen).toEqual(DEFAULT_LISTEN)
    expect(config.bootstrap).toEqual([])
    expect(config.discovery.mdns.enabled).toBe(true)
    expect(config.mesh.name).toBe('default')
    expect(config.mcp.httpPort).toBeUndefined()
  })

  it('listen: file, then MCP_MESH_LISTEN, then --listen', async () => {
    await patchFile({ addresses: { listen: ['/ip4/127.0.0.1/tcp/1001'] } })
    expect((await load()).addresses.listen).toEqual(['/ip4/127.0.0.1/tcp/1001'])
    const env = { MCP_MESH_LISTEN: '/ip4/127.0.0.1/tcp/1002, /ip4/127.0.0.1/tcp/1003/ws' }
    expect((await load({ env })).addresses.listen).toEqual(['/ip4/127.0.0.1/tcp/1002', '/ip4/127.0.0.1/tcp/1003/ws'])
    const flags = { listen: ['/ip4/127.0.0.1/tcp/1004'] }
    expect((await load({ env, flags })).addresses.listen).toEqual(['/ip4/127.0.0.1/tcp/1004'])
  })

  it('bootstrap: file, then MCP_MESH_BOOTSTRAP (comma separated), then --bootstrap', async () => {
    const a = `/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`
    const b = `/ip4/127.0.0.1/tcp/4002/p2p/${PEER_B}`
    await patchFile({ bootstrap: [a] })
    expect((await load()).bootstrap).toEqual([a])
    const env = { MCP_MESH_BOOTSTRAP: ` ${b} ,, ${a} ` }
    expect((await load({ env })).bootstrap).toEqual([b, a])
    expect((await load({ env, flags: { bootstrap: [b] } })).bootstrap).toEqual([b])
  })

  it('ignores empty environment values and empty flag lists', async () => {
    await patchFile({ addresses: { listen: ['/ip4/127.0.0.1/tcp/1001'] } })
    const config = await load({ env: { MCP_MESH_LISTEN: '  ', MCP_MESH_BOOTSTRAP: '' }, flags: { listen: [] } })
    expect(config.addresses.listen).toEqual(['/ip4/127.0.0.1/tcp/1001'])
  })

  it('--no-mdns, --http and --mesh override the file', async () => {
    await patchFile({ discovery: { mdns: { enabled: true } }, mcp: { httpPort: 8000 }, mesh: { name: 'file' } })
    const config = await load({ flags: { mdns: false, httpPort: 9000, meshName: 'flagged' } })
    expect(config.discovery.mdns.enabled).toBe(false)
    expect(config.mcp.httpPort).toBe(9000)
    expect(config.mesh.name).toBe('flagged')
    // mdns: true (the flag's default) does not re-enable what the file turned off
    await patchFile({ discovery: { mdns: { enabled: false } } })
    expect((await load({ flags: { mdns: true } })).discovery.mdns.enabled).toBe(false)
  })

  it('--metrics overrides the file', async () => {
    await patchFile({ metrics: { port: 9100 } })
    expect((await load({ flags: {} })).metrics.port).toBe(9100)
    expect((await load({ flags: { metricsPort: 9200 } })).metrics.port).toBe(9200)
  })

  it('resolves relative tool module paths against the home', async () => {
    await patchFile({ tools: ['tools/mine.mjs', '/abs/other.mjs'] })
    expect((await load()).tools).toEqual([join(home, 'tools/mine.mjs'), '/abs/other.mjs'])
  })

  it('reads MCP_MESH_HOME when no --home is given', () => {
    expect(resolveHome(undefined, { MCP_MESH_HOME: '/x/y' })).toBe('/x/y')
    expect(resolveHome('/flag', { MCP_MESH_HOME: '/x/y' })).toBe('/flag')
    expect(resolveHome(undefined, {})).toMatch(/\.mcp-mesh$/)
  })
})

async function readIdentity(): Promise<unknown> {
  return (JSON.parse(await readFile(configPathFor(home), 'utf8')) as { identity: unknown }).identity
}

describe('config errors name the field and the source', () => {
  beforeEach(async () => {
    await initHome(home)
  })

  it('reports a bad listen address at addresses.listen[i] with the file path', async () => {
    await patchFile({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0', 'nope'] } })
    const err = await configError(load())
    expect(err.source).toBe(configPathFor(home))
    expect(err.problems).toEqual([
      { path: 'addresses.listen[1]', reason: expect.stringContaining('invalid multiaddr "nope"') }
    ])
    expect(err.message).toContain('addresses.listen[1]')
  })

  it('requires /p2p/<id> on bootstrap addresses', async () => {
    await patchFile({ bootstrap: ['/ip4/1.2.3.4/tcp/1'] })
    const err = await configError(load())
    expect(err.problems).toEqual([{ path: 'bootstrap[0]', reason: expect.stringContaining('/p2p/<peer-id>') }])
  })

  it('reports every problem, with nested paths and unknown keys', async () => {
    await patchFile({ connections: { maxConnections: 0 }, mesh: { name: 'bad name!' }, surprise: true })
    const err = await configError(load())
    expect(err.problems.map((p) => p.path).sort()).toEqual(['(root)', 'connections.maxConnections', 'mesh.name'])
    expect(err.problems.find((p) => p.path === '(root)')!.reason).toContain('surprise')
  })

  it('reports invalid JSON and a non-object document', async () => {
    await writeFile(configPathFor(home), '{ "addresses": ')
    expect((await configError(load())).problems).toEqual([
      { path: '(file)', reason: expect.stringContaining('not valid JSON') }
    ])
    await writeFile(configPathFor(home), '[1, 2]')
    expect((await configError(load())).problems).toEqual([{ path: '(root)', reason: 'must be a JSON object' }])
  })

  it('names MCP_MESH_BOOTSTRAP and the index of the bad entry', async () => {
    const good = `/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`
    const err = await configError(load({ env: { MCP_MESH_BOOTSTRAP: `${good},/ip4/127.0.0.1/tcp/4002` } }))
    expect(err.source).toBe('MCP_MESH_BOOTSTRAP')
    expect(err.problems).toEqual([{ path: 'MCP_MESH_BOOTSTRAP[1]', reason: expect.stringContaining('/p2p/') }])
  })

  it('names MCP_MESH_LISTEN, --listen, --bootstrap and --mesh', async () => {
    expect((await configError(load({ env: { MCP_MESH_LISTEN: 'tcp:1234' } }))).problems[0]!.path).toBe(
      'MCP_MESH_LISTEN[0]'
    )
    expect((await configError(load({ flags: { listen: ['/ip4/127.0.0.1/tcp/0', 'x'] } }))).problems[0]!.path).toBe(
      '--listen[1]'
    )
    expect((await configError(load({ flags: { bootstrap: ['/ip4/127.0.0.1/tcp/1'] } }))).source).toBe('--bootstrap')
    expect((await configError(load({ flags: { meshName: 'no spaces please' } }))).source).toBe('--mesh')
  })

  it('reports an invalid environment value even when a flag overrides it', async () => {
    // The environment is checked first; its error is reported even when a flag would replace it.
    const err = await configError(
      load({ env: { MCP_MESH_LISTEN: 'bad' }, flags: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
    )
    expect(err.source).toBe('MCP_MESH_LISTEN')
  })

  it('refuses a config without identity, pointing at init --force', async () => {
    await writeFile(configPathFor(home), '{}')
    const err = await configError(load())
    expect(err.problems).toEqual([{ path: 'identity', reason: expect.stringContaining('init --force') }])
  })

  it('distinguishes a missing home from a missing --config file', async () => {
    const missing = join(dir, 'elsewhere')
    const err = await rejectionOf(loadConfig(missing, { env: {} }))
    expect(err.name).toBe('HomeNotInitializedError')
    expect(err.message).toContain('mcp-mesh init --home')
    const fileErr = await configError(loadConfig(home, { configFile: join(dir, 'nope.json'), env: {} }))
    expect(fileErr.problems).toEqual([{ path: '(file)', reason: 'does not exist' }])
  })

  it('parseConfig validates server specs and their names', () => {
    expect(() => parseConfig({ servers: { 'bad name': { command: 'x' } } }, 'test')).toThrow(/servers\.bad name/)
    expect(() => parseConfig({ servers: { ok: { command: '' } } }, 'test')).toThrow(/servers\.ok\.command/)
    const config = parseConfig({ servers: { ok: { command: 'node', meta: { priority: 9 } } } }, 'test')
    expect(config.servers.ok).toMatchObject({
      command: 'node',
      args: [],
      env: {},
      export: false,
      meta: { priority: 9 }
    })
  })
})

describe('initHome', () => {
  it('creates an identity and a config with defaults, owner-only', async () => {
    const result = await initHome(home)
    expect(result.identity.peerId).toMatch(/^12D3KooW/)
    const config = await load()
    expect(config.identity?.peerId).toBe(result.identity.peerId)
    expect(config.addresses.listen).toEqual(DEFAULT_LISTEN)
    expect((await stat(configPathFor(home))).mode & 0o777).toBe(0o600)
    expect((await stat(home)).mode & 0o077).toBe(0)
  })

  it('refuses to overwrite an identity without force', async () => {
    const first = await initHome(home)
    const err = await rejectionOf(initHome(home))
    expect(err.name).toBe('HomeExistsError')
    expect(err.message).toContain('--force')
    expect((await load()).identity?.peerId).toBe(first.identity.peerId)
  })

  it('with force replaces only the identity and keeps the rest of the config', async () => {
    const first = await initHome(home)
    await patchFile({ mesh: { name: 'kept' }, addresses: { listen: ['/ip4/127.0.0.1/tcp/7777'] } })
    const second = await initHome(home, { force: true })
    expect(second.identity.peerId).not.toBe(first.identity.peerId)
    const config = await load()
    expect(config.identity?.peerId).toBe(second.identity.peerId)
    expect(config.mesh.name).toBe('kept')
    expect(config.addresses.listen).toEqual(['/ip4/127.0.0.1/tcp/7777'])
  })

  it('adds an identity to an existing config that has none', async () => {
    await mkdir(home, { recursive: true })
    await writeFile(configPathFor(home), JSON.stringify({ mesh: { name: 'pre' } }))
    const result = await initHome(home)
    const config = await load()
    expect(config.identity?.peerId).toBe(result.identity.peerId)
    expect(config.mesh.name).toBe('pre')
  })

  it('refuses to init over an invalid config file', async () => {
    await mkdir(home, { recursive: true })
    await writeFile(configPathFor(home), JSON.stringify({ addresses: { listen: ['nope'] } }))
    expect((await configError(initHome(home))).problems[0]!.path).toBe('addresses.listen[0]')
  })
})
