import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import type { QueuePubSub } from '../../../src/queue/components.js'
import { TaskTopic } from '../../../src/queue/owner/announce.js'
import { testGate } from '../fixtures.js'

type Validator = (peer: unknown, message: unknown) => TopicValidatorResult

async function topicWith(trust: Parameters<typeof testGate>[0] = {}) {
  const validators = new Map<string, Validator>()
  const pubsub = {
    topicValidators: validators,
    subscribe: () => {},
    unsubscribe: () => {},
    publish: async () => ({ recipients: [] }),
    addEventListener: () => {},
    removeEventListener: () => {}
  } as unknown as QueuePubSub
  const gate = testGate(trust)
  const topic = new TaskTopic({ pubsub, gate, meshName: 'test', self: 'self-peer', onAnnouncement: () => {} })
  topic.start()
  const validate = validators.get(topic.topic)!
  return { gate, validate }
}

async function peer(): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

function signed(from: string, owner: string): unknown {
  const body = { v: 1, mesh: 'test', owner, ts: Date.now(), tasks: [] }
  return {
    type: 'signed',
    from: { toString: () => from },
    topic: 't',
    data: new TextEncoder().encode(JSON.stringify(body))
  }
}

describe('task topic validator', () => {
  it('accepts an announcement signed by its owner, rejects one naming another owner', async () => {
    const [a, b] = [await peer(), await peer()]
    const { validate } = await topicWith()
    expect(validate(undefined, signed(a, a))).toBe(TopicValidatorResult.Accept)
    expect(validate(undefined, signed(a, b))).toBe(TopicValidatorResult.Reject)
    expect(validate(undefined, { type: 'unsigned', data: new Uint8Array() })).toBe(TopicValidatorResult.Reject)
  })

  it('ignores announcements of owners the gate does not admit, counting them on gossip-task', async () => {
    const [allowed, intruder] = [await peer(), await peer()]
    const { validate, gate } = await topicWith({ allowPeers: [allowed] })
    expect(validate(undefined, signed(allowed, allowed))).toBe(TopicValidatorResult.Accept)
    expect(validate(undefined, signed(intruder, intruder))).toBe(TopicValidatorResult.Ignore)
    expect(gate.stats().inbound['gossip-task'].denied).toBe(1)
  })
})
