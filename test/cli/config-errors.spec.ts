import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CliResult,
  cleanup,
  createHome,
  createTempDir,
  FIXTURES_DIR,
  LOOPBACK_ARGS,
  runCli
} from '../helpers/index.js'

afterEach(cleanup)

const PEER = '12D3KooWFnJ9JZ7uGLnqAnM675W447MrePk7xZ2cQBeJXNTUckZh'

/** A readable failure: exit 1, a one-line-per-problem message, no stack trace. */
function expectReadableFailure(result: CliResult, ...fragments: string[]): void {
  expect(result.code, result.stderr).toBe(1)
  expect(result.stdout).toBe('')
  expect(result.stderr).toMatch(/^mcp-mesh: /)
  for (const fragment of fragments) expect(result.stderr).toContain(fragment)
  expect(result.stderr).not.toMatch(/\n\s+at .+[(:]\d+/)
}

async function start(home: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['start', '--home', home, ...LOOPBACK_ARGS, ...args], { env })
}

describe('start refuses a bad config with a readable message', () => {
  it('names addresses.listen[i] and the config file for a bad listen address', async () => {
    const home = await createHome({ config: { addresses: { listen: ['nope'] } } })
    // No --listen flag here: the file's value is the one in force.
    const result = await runCli(['start', '--home', home.dir, '--no-mdns'])
    expectReadableFailure(result, 'addresses.listen[0]', 'nope', home.configPath)
  })

  it('names bootstrap[i] for a bootstrap address without /p2p/', async () => {
    const home = await createHome({ config: { bootstrap: ['/ip4/1.2.3.4/tcp/1'] } })
    expectReadableFailure(await start(home.dir), 'bootstrap[0]', '/p2p/<peer-id>')
  })

  it('reports a config file that is not valid JSON', async () => {
    const home = await createHome()
    await home.writeRawConfig('{ "identity": ')
    expectReadableFailure(await start(home.dir), 'not valid JSON', home.configPath)
  })

  it('names MCP_MESH_BOOTSTRAP for a bad environment value', async () => {
    const home = await createHome()
    const result = await start(home.dir, [], { MCP_MESH_BOOTSTRAP: `/ip4/127.0.0.1/tcp/1/p2p/${PEER},garbage` })
    expectReadableFailure(result, 'MCP_MESH_BOOTSTRAP[1]', 'garbage')
  })

  it('names --bootstrap for a bad flag', async () => {
    const home = await createHome()
    expectReadableFailure(await start(home.dir, ['--bootstrap', '/ip4/127.0.0.1/tcp/1']), '--bootstrap[0]', '/p2p/')
  })

  it('names the tool and field of a tool module with bad metadata', async () => {
    const home = await createHome({ config: { tools: [join(FIXTURES_DIR, 'tools', 'bad-meta.mjs')] } })
    expectReadableFailure(await start(home.dir), 'bad_priority', 'meta.priority')
    // A failed start releases the home.
    expect(existsSync(join(home.dir, 'repo.lock'))).toBe(false)
    expect(existsSync(join(home.dir, 'api.sock'))).toBe(false)
  })

  it('rejects a bad --http port as usage (exit 2)', async () => {
    const home = await createHome()
    const result = await start(home.dir, ['--http', 'eighty'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('port')
  })

  it('initialises a missing home on first start, and --config naming a missing file fails', async () => {
    const dir = await createTempDir()
    // --config names a file that init then creates; the node comes up and stops when stdin closes
    // (in the foreground: a detached node would outlive this client for lifecycle.idleExitMs).
    const result = await runCli(
      ['start', '--home', join(dir, 'h'), ...LOOPBACK_ARGS, '--config', join(dir, 'x.json')],
      {
        env: { MCP_MESH_FOREGROUND: '1' }
      }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('initialised')
    const missing = await runCli(['id', '--home', join(dir, 'h'), '--config', join(dir, 'missing.json')])
    expectReadableFailure(missing, 'missing.json', 'does not exist')
  })
})
