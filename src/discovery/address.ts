import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { errorMessage } from '../util/errors.js'
import { parsePeerId } from '../util/peer-id.js'
import { InvalidPeerAddressError } from './errors.js'

export function parseMultiaddr(text: string): Multiaddr {
  if (!text.startsWith('/')) throw new InvalidPeerAddressError(text, 'a multiaddr starts with "/"')
  try {
    return multiaddr(text)
  } catch (err) {
    throw new InvalidPeerAddressError(text, errorMessage(err))
  }
}

/** The PeerId in the last `/p2p/<id>` component, if any. */
export function peerIdOf(ma: Multiaddr): PeerId | undefined {
  const id = ma
    .getComponents()
    .filter((c) => c.name === 'p2p')
    .at(-1)?.value
  return id == null ? undefined : peerIdFromString(id)
}

export function isCircuit(ma: Multiaddr): boolean {
  return ma.getComponents().some((c) => c.name === 'p2p-circuit')
}

/** The relay's PeerId in a `/…/p2p/<relay>/p2p-circuit/…` address. */
export function relayPeerOf(ma: Multiaddr): string | undefined {
  const components = ma.getComponents()
  const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
  if (circuit <= 0) return undefined
  const relay = components[circuit - 1]
  return relay?.name === 'p2p' ? relay.value : undefined
}

/** A dial target given as text: a multiaddr (starts with `/`) or a bare PeerId. */
export type DialTarget = { kind: 'multiaddr'; multiaddr: Multiaddr; peerId?: PeerId } | { kind: 'peer'; peerId: PeerId }

export function parseDialTarget(text: string): DialTarget {
  if (text.startsWith('/')) {
    const ma = parseMultiaddr(text)
    let peerId: PeerId | undefined
    try {
      peerId = peerIdOf(ma)
    } catch (err) {
      throw new InvalidPeerAddressError(text, `bad /p2p/ peer id: ${errorMessage(err)}`)
    }
    return { kind: 'multiaddr', multiaddr: ma, peerId }
  }
  return { kind: 'peer', peerId: parsePeerId(text) }
}

/** zod: a string that `parse` accepts; its error becomes the issue (so MCP InvalidParams). */
function parsedString(maxLength: number, parse: (text: string) => unknown): z.ZodString {
  return z
    .string()
    .min(1)
    .max(maxLength)
    .superRefine((value, ctx) => {
      try {
        parse(value)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: errorMessage(err) })
      }
    })
}

/** zod: a PeerId string (bad ones become MCP InvalidParams). */
export const peerIdString = parsedString(256, parsePeerId)

/** zod: a multiaddr (`/ip4/…/tcp/…/p2p/<id>`, `/dns4/…`, `/dnsaddr/…`, `/…/p2p-circuit/p2p/<id>`) or a PeerId. */
export const dialTargetString = parsedString(2048, parseDialTarget)
