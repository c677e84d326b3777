import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildDoctorReport, formatDoctorReport, secretFiles } from '../../src/cli/commands/doctor.js'
import { writeSwarmKey } from '../../src/discovery/swarm-key.js'
import { loadHttpToken } from '../../src/mcp/http-token.js'
import { cleanup, createHome, createTempDir, runCli, spawnNode } from '../helpers/index.js'

afterAll(cleanup)

const status = { peerId: 'peer', meshName: 'default', addresses: [], connectedPeers: [], subsystems: {} }

describe('doctor: secret file modes', () => {
  it('lists the identity key, http token and swarm key files with their modes, warning on exposed ones', async () => {
    const home = await createTempDir()
    const configPath = join(home, 'config.json')
    await writeFile(configPath, '{}', { mode: 0o600 })
    const token = await loadHttpToken(home)
    await chmod(token.path, 0o640)

    const report = buildDoctorReport({ status, endToEnd: { state: 'no-peer' }, files: await secretFiles(home) })
    const check = report.checks.find((c) => c.name === 'secret files')
    expect(check).toMatchObject({ level: 'warn', summary: '1 secret file readable by other users: http token' })
    expect(check!.details).toEqual([
      `identity key: ${configPath}: 0600`,
      `http token: warning: ${token.path} is readable by other users (mode 0640); run chmod 600 ${token.path}`,
      `swarm key: ${join(home, 'swarm.key')}: absent`
    ])

    await chmod(token.path, 0o600)
    await writeSwarmKey(home)
    const fixed = buildDoctorReport({ status, endToEnd: { state: 'no-peer' }, files: await secretFiles(home) })
    expect(fixed.checks.find((c) => c.name === 'secret files')).toMatchObject({
      level: 'ok',
      summary: '3 secret files, owner-only'
    })
    expect(formatDoctorReport(fixed)).toContain('[ ok ] secret files: 3 secret files, owner-only')
  })

  it('`mcp-mesh doctor` reports the modes of a running node’s home', async () => {
    const home = await createHome()
    const node = await spawnNode({ home: home.dir })
    // Tool calls wait for the node to run; by then its API socket is up.
    await node.status()
    await chmod(home.configPath, 0o644)
    const result = await runCli(['doctor', '--home', home.dir, '--timeout', '1000'])
    expect(result.stdout).toContain('[warn] secret files: 1 secret file readable by other users: identity key')
    expect(result.stdout).toContain(`run chmod 600 ${home.configPath}`)
    expect(result.stdout).toContain(`swarm key: ${join(home.dir, 'swarm.key')}: absent`)
  })
})
