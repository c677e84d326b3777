import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, createTempDir, parseJson, runCli, startDaemon, waitFor } from '../helpers/index.js'

afterEach(cleanup)

const PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'
const OTHER = '12D3KooWNGiR3fp9oqkWLMon5ECf5PN57zNWLuAS7JUStTGxAKDa'

describe('discovery commands', () => {
  it('every command has --help (exit 0)', async () => {
    const commands = [
      ['peers'],
      ['connect'],
      ['bootstrap'],
      ['bootstrap', 'list'],
      ['bootstrap', 'add'],
      ['bootstrap', 'rm'],
      ['swarm-key'],
      ['swarm-key', 'gen'],
      ['doctor']
    ]
    const results = await Promise.all(commands.map(async (command) => runCli([...command, '--help'])))
    results.forEach((result, i) => {
      expect(result.code, commands[i]!.join(' ')).toBe(0)
      expect(result.stdout).toMatch(/Usage: mcp-mesh/)
    })
    const start = await runCli(['daemon', '--help'])
    expect(start.stdout).toContain('--relay')
    const init = await runCli(['init', '--help'])
    expect(init.stdout).toContain('--swarm-key')
  }, 60_000)

  it('bootstrap list|add|rm edit the config file and warn that bootstrap peers are trusted', async () => {
    const home = await createHome()
    const ip4 = `/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`
    const dnsaddr = `/dnsaddr/mesh.example.org/p2p/${OTHER}`
    const added = await runCli(['bootstrap', 'add', ip4, dnsaddr, ip4, '--home', home.dir])
    expect(added.code, added.stderr).toBe(0)
    expect(added.stderr).toMatch(/trusted for discovery/)
    expect(parseJson(added)).toMatchObject({ added: [ip4, dnsaddr], bootstrap: [ip4, dnsaddr] })
    expect((await home.readConfig()).bootstrap).toEqual([ip4, dnsaddr])

    const listed = parseJson<{ bootstrap: string[] }>(await runCli(['bootstrap', 'list', '--home', home.dir]))
    expect(listed.bootstrap).toEqual([ip4, dnsaddr])

    const removed = await runCli(['bootstrap', 'rm', OTHER, '--home', home.dir])
    expect(removed.code).toBe(0)
    expect(parseJson(removed)).toMatchObject({ removed: [dnsaddr], bootstrap: [ip4] })

    const missing = await runCli(['bootstrap', 'rm', OTHER, '--home', home.dir])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/is in the bootstrap list|none of/)
    const malformed = await runCli(['bootstrap', 'add', '/ip4/10.0.0.1/tcp/4001', '--home', home.dir])
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(/must end with \/p2p\/<peer-id>/)
    expect((await runCli(['bootstrap', 'rm', '--home', home.dir])).code).toBe(2)
    const all = await runCli(['bootstrap', 'rm', '--all', '--home', home.dir])
    expect(parseJson(all)).toMatchObject({ bootstrap: [] })
  }, 60_000)

  it("swarm-key gen and init --swarm-key write kubo's format, mode 0600", async () => {
    const home = await createHome()
    const gen = await runCli(['swarm-key', 'gen', '--home', home.dir])
    expect(gen.code, gen.stderr).toBe(0)
    expect(gen.stderr).toMatch(/copy this file/)
    const { path, fingerprint } = parseJson<{ path: string; fingerprint: string }>(gen)
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/)
    const first = await readFile(path, 'utf8')
    expect(first).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    expect((await stat(path)).mode & 0o777).toBe(0o600)

    const again = await runCli(['swarm-key', 'gen', '--home', home.dir])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/already exists; pass --force/)
    expect((await runCli(['swarm-key', 'gen', '--force', '--home', home.dir])).code).toBe(0)
    expect(await readFile(path, 'utf8')).not.toBe(first)

    const fresh = join(await createTempDir(), 'home')
    const init = await runCli(['init', '--swarm-key', '--home', fresh])
    expect(init.code, init.stderr).toBe(0)
    expect(parseJson<{ swarmKey: string }>(init).swarmKey).toBe(join(fresh, 'swarm.key'))
    expect((await stat(join(fresh, 'swarm.key'))).mode & 0o777).toBe(0o600)
  }, 60_000)

  it('peers and connect talk to the running node', async () => {
    const homeA = await createHome()
    const homeB = await createHome()
    await startDaemon({ home: homeA.dir })
    await startDaemon({ home: homeB.dir })
    const status = parseJson<{ addresses: string[] }>(await runCli(['status', '--home', homeA.dir]))
    const address = status.addresses.find((a) => a.includes('/tcp/'))!
    const connected = await runCli(['connect', address, '--home', homeB.dir])
    expect(connected.code, connected.stderr).toBe(0)
    expect(parseJson(connected)).toMatchObject({ peer: homeA.peerId, relayed: false })
    const peers = await waitFor(
      async () => {
        const list = parseJson<{ peers: Array<{ peerId: string }> }>(await runCli(['peers', '--home', homeB.dir]))
        return list.peers.some((p) => p.peerId === homeA.peerId) ? list : undefined
      },
      { timeoutMs: 10_000, intervalMs: 100 }
    )
    expect(peers.peers.map((p) => p.peerId)).toContain(homeA.peerId)
  }, 60_000)
})
