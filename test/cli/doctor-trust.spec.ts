import { describe, expect, it } from 'vitest'
import { buildDoctorReport, formatDoctorReport } from '../../src/cli/commands/doctor.js'

const PEER = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECGFVbKR1TTyh8XTN'

describe('doctor: the trust gate', () => {
  it('reports peer requests the gate refused, by path and kind', () => {
    const report = buildDoctorReport({
      status: {
        peerId: PEER,
        meshName: 'default',
        addresses: [],
        connectedPeers: [],
        trust: {
          inbound: {
            call: { denied: 2, busy: 1, 'rate-limited': 0 },
            'task-claim': { denied: 3, busy: 0, 'rate-limited': 0 },
            'gossip-task': { denied: 0, busy: 0, 'rate-limited': 0 }
          },
          outbound: { call: 0, task: 4 }
        },
        subsystems: {}
      },
      endToEnd: { state: 'no-peer' }
    })
    const text = formatDoctorReport(report)
    expect(text).toContain('trust: 6 peer requests refused')
    expect(text).toContain('call: 2 denied, 1 busy, 0 rate limited')
    expect(text).toContain('task-claim: 3 denied, 0 busy, 0 rate limited')
    expect(text).not.toContain('gossip-task:')
    expect(text).toContain('outbound task: 4 kept from peers outside trust.sendTo')
  })

  it('says so when nothing was refused', () => {
    const report = buildDoctorReport({
      status: {
        peerId: PEER,
        meshName: 'default',
        addresses: [],
        connectedPeers: [],
        trust: { inbound: { call: { denied: 0, busy: 0, 'rate-limited': 0 } }, outbound: { call: 0, task: 0 } },
        subsystems: {}
      },
      endToEnd: { state: 'no-peer' }
    })
    expect(formatDoctorReport(report)).toContain('trust: no peer request refused')
  })
})
