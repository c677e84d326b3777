import { type Datastore, Key } from 'interface-datastore'
import { z } from 'zod'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { JOURNAL_PREFIX } from './constants.js'
import { STEP_STATES, WORKFLOW_STATES, type ItemRecord, type StepRecord, type WorkflowRecord } from './types.js'

const log = meshLogger('workflow:journal')

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// Read back with zod: a record damaged on disk is skipped (and logged), never trusted.
const workflowRecordSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    state: z.enum(WORKFLOW_STATES),
    tags: z.array(z.string()),
    inputs: z.record(z.string(), z.unknown()),
    stepCount: z.number(),
    createdAt: z.number(),
    updatedAt: z.number(),
    finishedAt: z.number().optional(),
    error: z.string().optional(),
    cancelReason: z.string().optional(),
    counts: z.record(z.string(), z.number()).optional()
  })
  .loose()

const stepRecordSchema = z
  .object({
    id: z.string(),
    tool: z.string(),
    state: z.enum(STEP_STATES),
    startedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    items: z.number().optional(),
    taskId: z.string().optional(),
    worker: z.string().optional(),
    attempts: z.number().optional(),
    output: z.unknown().optional(),
    error: z.string().optional(),
    reason: z.string().optional()
  })
  .loose()

const itemRecordSchema = z
  .object({
    index: z.number().int().min(0),
    state: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']),
    taskId: z.string().optional(),
    worker: z.string().optional(),
    attempts: z.number().optional(),
    startedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    output: z.unknown().optional(),
    error: z.string().optional()
  })
  .loose()

const documentKey = (id: string): Key => new Key(`${JOURNAL_PREFIX}/documents/${id}`)
const recordKey = (id: string): Key => new Key(`${JOURNAL_PREFIX}/records/${id}`)
const stepKey = (id: string, step: string): Key => new Key(`${JOURNAL_PREFIX}/steps/${id}/${step}`)
const itemKey = (id: string, step: string, index: number): Key =>
  new Key(`${JOURNAL_PREFIX}/items/${id}/${step}/${String(index).padStart(6, '0')}`)

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function decode<T>(bytes: Uint8Array, schema: z.ZodType<T>, what: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(decoder.decode(bytes)))
    if (parsed.success) return parsed.data
    log.error('skipping a damaged %s: %s', what, parsed.error.issues[0]?.message)
  } catch (err) {
    log.error('skipping an unreadable %s: %s', what, errorMessage(err))
  }
  return undefined
}

/**
 * The workflow journal in the node's datastore. Writes are coalesced: many
 * step changes within one tick become one LevelDB batch, so a 1,000-step
 * fan-out does not cost 1,000 separate writes. A write lost to a crash
 * between ticks is harmless: resuming re-submits the step's task under the
 * same idempotency key, and the queue answers with the existing task.
 *
 * Keys (under /mcp-mesh/workflows): documents/<id>, records/<id>,
 * steps/<id>/<step>, items/<id>/<step>/<index>.
 */
export class WorkflowJournal {
  readonly #datastore: Datastore
  readonly #pending = new Map<string, { key: Key; value?: Uint8Array }>()
  #flushing?: Promise<void>
  #scheduled = false
  #writes = 0
  #batches = 0

  constructor(datastore: Datastore) {
    this.#datastore = datastore
  }

  get stats(): { writes: number; batches: number; pending: number } {
    return { writes: this.#writes, batches: this.#batches, pending: this.#pending.size }
  }

  putDocument(id: string, document: unknown): void {
    this.#put(documentKey(id), document)
  }

  putRecord(record: WorkflowRecord): void {
    this.#put(recordKey(record.id), record)
  }

  putStep(workflowId: string, step: StepRecord): void {
    this.#put(stepKey(workflowId, step.id), step)
  }

  putItem(workflowId: string, step: string, item: ItemRecord): void {
    this.#put(itemKey(workflowId, step, item.index), item)
  }

  async records(options: { signal?: AbortSignal } = {}): Promise<WorkflowRecord[]> {
    await this.flush()
    const out: WorkflowRecord[] = []
    for await (const { value } of this.#datastore.query({ prefix: `${JOURNAL_PREFIX}/records/` }, options)) {
      const record = decode(value, workflowRecordSchema, 'workflow record')
      if (record != null) out.push(record as WorkflowRecord)
    }
    return out
  }

  async record(id: string, options: { signal?: AbortSignal } = {}): Promise<WorkflowRecord | undefined> {
    return this.#get(recordKey(id), workflowRecordSchema, 'workflow record', options) as Promise<
      WorkflowRecord | undefined
    >
  }

  async document(id: string, options: { signal?: AbortSignal } = {}): Promise<unknown> {
    return this.#get(documentKey(id), z.unknown(), 'workflow document', options)
  }

  async steps(id: string, options: { signal?: AbortSignal } = {}): Promise<StepRecord[]> {
    await this.flush()
    const out: StepRecord[] = []
    for await (const { value } of this.#datastore.query({ prefix: `${JOURNAL_PREFIX}/steps/${id}/` }, options)) {
      const step = decode(value, stepRecordSchema, 'step record')
      if (step != null) out.push(step as StepRecord)
    }
    return out
  }

  async items(id: string, step: string, options: { signal?: AbortSignal } = {}): Promise<ItemRecord[]> {
    await this.flush()
    const out: ItemRecord[] = []
    for await (const { value } of this.#datastore.query(
      { prefix: `${JOURNAL_PREFIX}/items/${id}/${step}/` },
      options
    )) {
      const item = decode(value, itemRecordSchema, 'forEach item record')
      if (item != null) out.push(item as ItemRecord)
    }
    return out.sort((a, b) => a.index - b.index)
  }

  /** Deletes everything journaled for a workflow. */
  async remove(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.flush()
    const batch = this.#datastore.batch()
    batch.delete(documentKey(id))
    batch.delete(recordKey(id))
    for (const prefix of [`${JOURNAL_PREFIX}/steps/${id}/`, `${JOURNAL_PREFIX}/items/${id}/`]) {
      for await (const key of this.#datastore.queryKeys({ prefix }, options)) batch.delete(key)
    }
    await batch.commit(options)
  }

  /** Writes everything pending; resolves when it is on disk (in LevelDB's log). */
  async flush(): Promise<void> {
    while (this.#flushing != null || this.#pending.size > 0) {
      if (this.#flushing != null) {
        await this.#flushing
        continue
      }
      this.#flushing = this.#commit().finally(() => {
        this.#flushing = undefined
      })
    }
  }

  #put(key: Key, value: unknown): void {
    this.#pending.set(key.toString(), { key, value: encode(value) })
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush().catch((err: unknown) => log.error('journal write failed: %s', errorMessage(err)))
    })
  }

  async #get<T>(
    key: Key,
    schema: z.ZodType<T>,
    what: string,
    options: { signal?: AbortSignal }
  ): Promise<T | undefined> {
    const pending = this.#pending.get(key.toString())
    if (pending?.value != null) return decode(pending.value, schema, what)
    try {
      return decode(await this.#datastore.get(key, options), schema, what)
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFoundError') return undefined
      throw err
    }
  }

  async #commit(): Promise<void> {
    if (this.#pending.size === 0) return
    const entries = [...this.#pending.values()]
    this.#pending.clear()
    const batch = this.#datastore.batch()
    for (const entry of entries) {
      if (entry.value != null) batch.put(entry.key, entry.value)
      else batch.delete(entry.key)
    }
    await batch.commit()
    this.#writes += entries.length
    this.#batches++
  }
}
