import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BootstrapKeeper } from '../../src/discovery/bootstrap-keeper.js'

const PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'
const ADDRESS = `/dns4/bootstrap.example.org/tcp/4001/p2p/${PEER}`

/** Just enough of Libp2p for the keeper: events, connections, peer store tags and dial. */
function fakeLibp2p(dial: () => Promise<void>): { libp2p: Libp2p; events: EventTarget; connected: Set<string> } {
  const events = new EventTarget()
  const connected = new Set<string>()
  const libp2p = {
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    getConnections: (peer?: PeerId) => (peer != null && connected.has(peer.toString()) ? [{}] : []),
    peerStore: { merge: async () => ({}) },
    dial: async () => {
      await dial()
      connected.add(PEER)
      events.dispatchEvent(new CustomEvent('peer:connect', { detail: peerIdFromString(PEER) }))
      return { remotePeer: peerIdFromString(PEER) }
    }
  } as unknown as Libp2p
  return { libp2p, events, connected }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('BootstrapKeeper', () => {
  it('retries a peer that is down with exponential backoff, and again after it drops', async () => {
    vi.useFakeTimers()
    let failures = 3
    const dial = vi.fn(async () => {
      if (failures-- > 0) throw new Error('ECONNREFUSED')
    })
    const { libp2p, events, connected } = fakeLibp2p(dial)
    const keeper = new BootstrapKeeper(libp2p, {
      addresses: [ADDRESS],
      backoff: { initialMs: 1_000, maxMs: 60_000, jitter: 0 },
      dialTimeoutMs: 5_000
    })
    keeper.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(keeper.status()[0]).toMatchObject({
      state: 'backoff',
      consecutiveFailures: 1,
      lastError: 'ECONNREFUSED',
      nextAttemptInMs: 1_000
    })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(keeper.status()[0]).toMatchObject({ consecutiveFailures: 2, nextAttemptInMs: 2_000 })
    await vi.advanceTimersByTimeAsync(2_000)
    expect(keeper.status()[0]).toMatchObject({ consecutiveFailures: 3, nextAttemptInMs: 4_000 })
    await vi.advanceTimersByTimeAsync(4_000)
    expect(keeper.status()[0]).toMatchObject({ state: 'connected', consecutiveFailures: 0, attempts: 4 })
    expect(dial).toHaveBeenCalledTimes(4)

    // The connection drops: re-dialled after the first backoff step.
    connected.delete(PEER)
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peerIdFromString(PEER) }))
    expect(keeper.status()[0]).toMatchObject({ state: 'backoff', nextAttemptInMs: 1_000 })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(keeper.status()[0]).toMatchObject({ state: 'connected', attempts: 5 })

    keeper.stop()
    keeper.stop()
    expect(keeper.status()[0]!.state).toBe('stopped')
  })

  it('stops retrying when stopped', async () => {
    vi.useFakeTimers()
    const dial = vi.fn(async () => {
      throw new Error('unreachable')
    })
    const { libp2p } = fakeLibp2p(dial)
    const keeper = new BootstrapKeeper(libp2p, {
      addresses: [ADDRESS],
      backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
      dialTimeoutMs: 1_000
    })
    keeper.start()
    await vi.advanceTimersByTimeAsync(250)
    const calls = dial.mock.calls.length
    keeper.stop()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dial.mock.calls.length).toBe(calls)
  })
})
