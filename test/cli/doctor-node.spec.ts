import { afterEach, describe, expect, it } from 'vitest'
import { buildDoctorReport, type DoctorInput, formatDoctorReport } from '../../src/cli/commands/doctor.js'
import { observabilityUrls } from '../../src/cli/commands/doctor-node.js'
import { cleanup, createHome, runCli, startDaemon } from '../helpers/index.js'

afterEach(cleanup)

const PEER = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECGFVbKR1TTyh8XTN'

function report(status: Partial<DoctorInput['status']> & Record<string, unknown>): string {
  return formatDoctorReport(
    buildDoctorReport({
      status: { peerId: PEER, meshName: 'default', addresses: [], connectedPeers: [], subsystems: {}, ...status },
      endToEnd: { state: 'no-peer' }
    })
  )
}

describe("doctor: the node's process, listen ports and endpoints", () => {
  it('describes a detached node, its log, and a taken fixed port', () => {
    const text = report({
      process: {
        pid: 4242,
        mode: 'detached',
        idleExitMs: 30_000,
        logFile: '/home/u/.mcp-mesh/node.log',
        listenFallbacks: [
          {
            configured: '/ip4/0.0.0.0/tcp/4011',
            takenPort: 4011,
            replacement: '/ip4/0.0.0.0/tcp/0',
            port: 39_001
          }
        ]
      }
    })
    expect(text).toContain(
      "[info] process: detached node, pid 4242: shared by this home's clients, exits 30 s after the last one leaves"
    )
    expect(text).toContain('log: /home/u/.mcp-mesh/node.log')
    expect(text).toContain('[warn] listen ports: 1 fixed listen port taken by another process')
    expect(text).toContain('/ip4/0.0.0.0/tcp/4011: port 4011 taken, listening on 39001 instead')
  })

  it('says nothing about a process, ports or endpoints an older node does not report', () => {
    const text = report({})
    expect(text).not.toContain('process:')
    expect(text).not.toContain('listen ports:')
    expect(text).not.toContain('endpoints:')
  })

  it('finds metrics and dashboard URLs wherever the node reports them', () => {
    expect(observabilityUrls({ mcp: { metrics: { url: 'http://127.0.0.1:9464/metrics' } } })).toEqual([
      { name: 'metrics', url: 'http://127.0.0.1:9464/metrics' }
    ])
    expect(
      observabilityUrls({
        subsystems: { obs: { dashboard: 'http://127.0.0.1:8080/dashboard', metrics: { url: 'not a url' } } }
      })
    ).toEqual([{ name: 'dashboard', url: 'http://127.0.0.1:8080/dashboard' }])
    expect(observabilityUrls({ metrics: { enabled: false } })).toEqual([])
    // What mesh_status reports: every /metrics URL and the dashboard.
    expect(
      observabilityUrls({
        endpoints: {
          mcp: 'http://127.0.0.1:8080/mcp',
          metrics: ['http://127.0.0.1:9464/metrics', 'http://127.0.0.1:8080/metrics'],
          dashboard: 'http://127.0.0.1:8080/dashboard'
        }
      })
    ).toEqual([
      { name: 'metrics', url: 'http://127.0.0.1:9464/metrics' },
      { name: 'metrics', url: 'http://127.0.0.1:8080/metrics' },
      { name: 'dashboard', url: 'http://127.0.0.1:8080/dashboard' }
    ])
    const text = report({
      metrics: { url: 'http://127.0.0.1:9464/metrics' },
      dashboard: 'http://127.0.0.1:80/dashboard'
    })
    expect(text).toContain(
      '[info] endpoints: metrics http://127.0.0.1:9464/metrics, dashboard http://127.0.0.1:80/dashboard'
    )
  })
})

describe('doctor against a node serving HTTP', () => {
  it('prints the metrics and dashboard URLs from mesh_status, and the daemon process', async () => {
    const home = await createHome({ config: { metrics: { port: 0 } } })
    const daemon = await startDaemon({ home: home.dir, args: ['--http', '0'] })
    const result = await runCli(['doctor', '--home', home.dir, '--timeout', '1000'])
    expect(result.stdout).toMatch(
      /\[info\] endpoints: metrics http:\/\/127\.0\.0\.1:\d+\/metrics, metrics http:\/\/127\.0\.0\.1:\d+\/metrics, dashboard http:\/\/127\.0\.0\.1:\d+\/dashboard/
    )
    expect(result.stdout).toContain(`[info] process: daemon, pid ${daemon.pid}: runs until stopped`)
    // The permissions of the key, token and swarm key files (the existing check).
    expect(result.stdout).toMatch(/secret files: .*owner-only/)
  })
})
