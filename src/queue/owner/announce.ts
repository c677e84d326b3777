import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { TrustGate } from '../../trust/index.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import type { QueuePubSub } from '../components.js'
import { type Announcement, announcementSchema, taskTopic } from '../protocol.js'
import type { StoredTask } from './types.js'

const log = meshLogger('queue')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function decode(data: Uint8Array): Announcement | undefined {
  try {
    return announcementSchema.parse(JSON.parse(decoder.decode(data)))
  } catch {
    return undefined
  }
}

export interface TaskTopicInit {
  pubsub: QueuePubSub
  /** Announcements from peers the gate does not admit are ignored (and counted on `gossip-task`). */
  gate: Pick<TrustGate, 'checkPeer'>
  meshName: string
  /** This node's peer ID. */
  self: string
  /** A valid announcement of another owner of this mesh (the worker side claims from it). */
  onAnnouncement(announcement: Announcement): void
}

/**
 * The mesh's task topic (pull dispatch): owners announce queued tasks no
 * known worker can take; idle workers claim them over a direct stream. Only
 * signed messages whose announced owner is their signer are accepted
 * (others are rejected); those of an owner the gate does not admit
 * (trust.allowPeers) are ignored: neither delivered nor forwarded.
 */
export class TaskTopic {
  readonly #init: TaskTopicInit
  readonly topic: string
  readonly #onMessage = (event: CustomEvent<Message>): void => this.#receive(event.detail)

  constructor(init: TaskTopicInit) {
    this.#init = init
    this.topic = taskTopic(init.meshName)
  }

  start(): void {
    const { pubsub } = this.#init
    const { gate } = this.#init
    pubsub.topicValidators.set(this.topic, (_peer, message) => {
      if (message.type !== 'signed') return TopicValidatorResult.Reject
      const signer = message.from.toString()
      const announcement = decode(message.data)
      if (announcement?.owner !== signer) return TopicValidatorResult.Reject
      if (signer === this.#init.self) return TopicValidatorResult.Accept
      return gate.checkPeer('gossip-task', signer).allowed ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
    })
    pubsub.addEventListener('message', this.#onMessage)
    pubsub.subscribe(this.topic)
  }

  stop(): void {
    const { pubsub } = this.#init
    pubsub.removeEventListener('message', this.#onMessage)
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
  }

  /** Announces open tasks (nothing when there are none). */
  announce(open: readonly StoredTask[]): void {
    if (open.length === 0) return
    const announcement: Announcement = {
      v: 1,
      mesh: this.#init.meshName,
      owner: this.#init.self,
      ts: Date.now(),
      tasks: open.map((task) => ({
        id: task.id,
        tool: task.tool,
        priority: task.priority,
        tags: task.placement?.tags ?? [],
        peer: task.placement?.peer
      }))
    }
    this.#init.pubsub
      .publish(this.topic, encoder.encode(JSON.stringify(announcement)))
      .catch((err: unknown) => log('task announcement failed: %s', errorMessage(err)))
  }

  #receive(message: Message): void {
    if (message.topic !== this.topic) return
    const announcement = decode(message.data)
    if (announcement == null) return
    if (announcement.owner === this.#init.self || announcement.mesh !== this.#init.meshName) return
    this.#init.onAnnouncement(announcement)
  }
}
