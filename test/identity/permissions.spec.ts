import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readSwarmKey, writeSwarmKey } from '../../src/discovery/swarm-key.js'
import { exposedWarning, filePermissions, warnIfExposed } from '../../src/identity/permissions.js'
import { InvalidHttpTokenError } from '../../src/mcp/errors.js'
import { loadHttpToken } from '../../src/mcp/http-token.js'
import { cleanup, createHome, createTempDir, rejectionOf, runCli, spawnNode, waitFor } from '../helpers/index.js'

afterAll(cleanup)

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

describe('secret file permissions', () => {
  it('flags a file group or other users can access, with a warning that says how to fix it', async () => {
    const dir = await createTempDir()
    const path = join(dir, 'secret')
    await writeFile(path, 'x', { mode: 0o600 })
    expect(await filePermissions(path)).toEqual({ path, exists: true, mode: 0o600, exposed: false })
    await chmod(path, 0o644)
    const exposed = await filePermissions(path)
    expect(exposed.exposed).toBe(true)
    expect(exposedWarning(exposed)).toBe(
      `warning: ${path} is readable by other users (mode 0644); run chmod 600 ${path}`
    )
    await chmod(path, 0o620)
    expect((await filePermissions(path)).exposed).toBe(true)
    expect(await filePermissions(join(dir, 'absent'))).toEqual({
      path: join(dir, 'absent'),
      exists: false,
      exposed: false
    })

    const warnings: string[] = []
    await warnIfExposed(path, (message) => warnings.push(message))
    await chmod(path, 0o600)
    await warnIfExposed(path, (message) => warnings.push(message))
    expect(warnings).toEqual([expect.stringContaining('(mode 0620)')])
  })

  it('warns when swarm.key is readable by others, and writes new keys 0600', async () => {
    const home = await createTempDir()
    const path = await writeSwarmKey(home)
    expect(await mode(path)).toBe(0o600)
    const warnings: string[] = []
    expect(await readSwarmKey(home, { warn: (message) => warnings.push(message) })).toBeDefined()
    expect(warnings).toEqual([])
    await chmod(path, 0o644)
    expect(await readSwarmKey(home, { warn: (message) => warnings.push(message) })).toBeDefined()
    expect(warnings).toEqual([`warning: ${path} is readable by other users (mode 0644); run chmod 600 ${path}`])
  })

  it('creates http.token 0600, warns when it is readable by others, and refuses a corrupt one', async () => {
    const home = join(await createTempDir(), 'home')
    const created = await loadHttpToken(home)
    expect(created.created).toBe(true)
    expect(await mode(created.path)).toBe(0o600)
    const warnings: string[] = []
    await chmod(created.path, 0o644)
    const loaded = await loadHttpToken(home, (message) => warnings.push(message))
    expect(loaded).toEqual({ token: created.token, path: created.path, created: false })
    expect(warnings).toEqual([expect.stringContaining(`${created.path} is readable by other users (mode 0644)`)])
    await writeFile(created.path, 'short\n')
    expect((await rejectionOf(loadHttpToken(home, () => {}))).name).toBe(InvalidHttpTokenError.name)
  })

  it('`mcp-mesh init` writes the config holding the identity key 0600', async () => {
    const home = await createHome()
    expect(await mode(home.configPath)).toBe(0o600)
  })

  it('`mcp-mesh http-token` prints the token (creating it 0600) and warns about a 0644 file', async () => {
    const home = await createHome()
    const first = await runCli(['http-token', '--home', home.dir])
    expect(first.code).toBe(0)
    const tokenPath = join(home.dir, 'http.token')
    const token = first.stdout.trim()
    expect(token).toBe((await readFile(tokenPath, 'utf8')).trim())
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await mode(tokenPath)).toBe(0o600)
    expect(first.stderr).not.toContain('warning')

    await chmod(tokenPath, 0o644)
    const second = await runCli(['http-token', '--home', home.dir])
    expect(second.code).toBe(0)
    expect(second.stdout.trim()).toBe(token)
    expect(second.stderr).toContain(
      `warning: ${tokenPath} is readable by other users (mode 0644); run chmod 600 ${tokenPath}`
    )
  })

  it('a node started on a home whose key files are 0644 warns about each, once', async () => {
    const home = await createHome()
    await writeSwarmKey(home.dir)
    const swarmKey = join(home.dir, 'swarm.key')
    await chmod(home.configPath, 0o644)
    await chmod(swarmKey, 0o644)
    const node = await spawnNode({ home: home.dir })
    const configWarning = `warning: ${home.configPath} is readable by other users (mode 0644); run chmod 600 ${home.configPath}`
    const keyWarning = `warning: ${swarmKey} is readable by other users (mode 0644); run chmod 600 ${swarmKey}`
    await waitFor(() => node.stderr().includes(configWarning) && node.stderr().includes(keyWarning), {
      message: 'both warnings on stderr'
    })
    await node.status()
    expect(node.stderr().split(keyWarning).length - 1).toBe(1)
  })
})
