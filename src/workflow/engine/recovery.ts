import type { TaskQueueApi } from '../../queue/types.js'
import { NoTaskQueueError } from '../errors.js'
import type { WorkflowJournal } from '../journal.js'
import type { RestoredState } from '../run/state.js'
import type { WorkflowRecord } from '../types.js'
import { validateWorkflow, type WorkflowPlan } from '../validate.js'

/** A journaled workflow: its plan, and the step and item records a run resumes (or is viewed) from. */
export interface JournaledState extends RestoredState {
  plan: WorkflowPlan
}

/**
 * Reads a workflow back from the journal. The document is validated for
 * structure only: after a restart the mesh catalog is still filling, so the
 * tools are not checked again.
 */
export async function loadJournaled(
  journal: WorkflowJournal,
  record: WorkflowRecord,
  options: { signal?: AbortSignal }
): Promise<JournaledState> {
  const document = await journal.document(record.id, options)
  const validation = validateWorkflow(document, { inputs: record.inputs })
  if (!validation.ok) {
    throw new Error(`journaled document is invalid: ${validation.problems.map((p) => p.message).join('; ')}`)
  }
  const steps = await journal.steps(record.id, options)
  const items: RestoredState['items'] = new Map()
  for (const step of validation.plan.steps) {
    if (step.forEach != null) items.set(step.id, await journal.items(record.id, step.id, options))
  }
  return { plan: validation.plan, steps, items }
}

/** Finished workflows ordered newest first, and those to delete: past the retention, or beyond the count limit. */
export function expiredRecords(
  records: Iterable<WorkflowRecord>,
  limits: { retentionMs: number; maxFinished: number },
  now: number
): WorkflowRecord[] {
  const finished = [...records]
    .filter((record) => record.state !== 'running')
    .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
  return finished.filter(
    (record, index) => index >= limits.maxFinished || (record.finishedAt ?? 0) < now - limits.retentionMs
  )
}

/** A queue stand-in for read-only views of workflows loaded from the journal. */
export const NO_QUEUE: TaskQueueApi = {
  submit: async () => {
    throw new NoTaskQueueError()
  },
  get: () => undefined,
  list: () => ({ tasks: [], total: 0 }),
  cancel: async () => {
    throw new NoTaskQueueError()
  },
  waitFor: async () => {
    throw new NoTaskQueueError()
  },
  addEventListener: () => {},
  removeEventListener: () => {}
}
