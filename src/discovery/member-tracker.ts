import type { Connection, IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import { membershipOf } from './membership.js'

/**
 * Connected peers that identified as members of our mesh, kept from identify
 * and disconnect events so `status()` needs no peer-store reads.
 */
export class MemberTracker {
  readonly #libp2p: Libp2p
  readonly #mesh: string
  readonly #members = new Set<string>()

  constructor(libp2p: Libp2p, mesh: string) {
    this.#libp2p = libp2p
    this.#mesh = mesh
  }

  /** Listens to identify and disconnect, and counts the peers identified before (inbound during node start). */
  async start(): Promise<void> {
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    for (const peerId of this.#libp2p.getPeers()) {
      const record = await this.#libp2p.peerStore.get(peerId).catch(() => undefined)
      if (record != null && membershipOf(record.protocols, this.#mesh).membership === 'member') {
        this.#members.add(peerId.toString())
      }
    }
  }

  stop(): void {
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#members.clear()
  }

  /** How many distinct peers of `connections` are members. */
  count(connections: readonly Connection[]): number {
    const connected = new Set(connections.map((c) => c.remotePeer.toString()))
    let members = 0
    for (const id of connected) if (this.#members.has(id)) members++
    return members
  }

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = event.detail
    if (membershipOf(protocols, this.#mesh).membership === 'member') this.#members.add(peerId.toString())
    else this.#members.delete(peerId.toString())
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.#members.delete(event.detail.toString())
  }
}
