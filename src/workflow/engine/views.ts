import { errorMessage } from '../../util/errors.js'
import { DEFAULT_LIST_LIMIT } from '../constants.js'
import type { WorkflowGraph } from '../graph.js'
import { resolveValue } from '../refs.js'
import type { WorkflowRun } from '../run/run.js'
import type { WorkflowRecord, WorkflowSummary } from '../types.js'
import type { WorkflowPlan } from '../validate.js'
import type { ListFilter, WorkflowPage, WorkflowResult } from './options.js'

export function summaryOf(record: WorkflowRecord): WorkflowSummary {
  return {
    workflowId: record.id,
    name: record.name,
    state: record.state,
    tags: record.tags,
    steps: record.stepCount,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    error: record.error
  }
}

/** One page of the records matching `filter`, newest first; the cursor names the last record of the page. */
export function listPage(
  records: Iterable<WorkflowRecord>,
  filter: ListFilter,
  page: { cursor?: string; limit?: number }
): WorkflowPage {
  const states = filter.state == null ? undefined : new Set(Array.isArray(filter.state) ? filter.state : [filter.state])
  const matching = [...records]
    .filter(
      (record) =>
        (states == null || states.has(record.state)) &&
        (filter.tag == null || record.tags.includes(filter.tag)) &&
        (filter.name == null || record.name === filter.name)
    )
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
  let start = 0
  if (page.cursor != null) {
    const [at, id] = Buffer.from(page.cursor, 'base64url').toString('utf8').split(':')
    const createdAt = Number(at)
    start = matching.findIndex(
      (r) => r.createdAt < createdAt || (r.createdAt === createdAt && r.id.localeCompare(id ?? '') > 0)
    )
    if (start < 0) start = matching.length
  }
  const limit = page.limit ?? DEFAULT_LIST_LIMIT
  const slice = matching.slice(start, start + limit)
  const last = slice[slice.length - 1]
  const more = start + limit < matching.length && last != null
  return {
    workflows: slice.map(summaryOf),
    total: matching.length,
    nextCursor: more ? Buffer.from(`${last.createdAt}:${last.id}`).toString('base64url') : undefined
  }
}

/** The DAG of a plan; `extra` adds a submitted workflow's step state and peers. */
export function graphOf(
  plan: WorkflowPlan,
  extra: (id: string) => { state?: string; peers?: string[] }
): WorkflowGraph {
  return {
    name: plan.document.name,
    nodes: plan.steps.map((step) => {
      const more = extra(step.id)
      const node: WorkflowGraph['nodes'][number] = { id: step.id, tool: step.tool }
      if (step.forEach != null) node.forEach = true
      if (more.state != null) node.state = more.state
      if (more.peers != null && more.peers.length > 0) node.peers = more.peers
      return node
    }),
    edges: plan.steps.flatMap((step) => step.deps.map((dep) => ({ from: dep, to: step.id })))
  }
}

/** Outputs of a run: the final one (when succeeded), every step's with `which: 'all'`, and failed steps' errors. */
export function resultOf(run: WorkflowRun, which: 'final' | 'all'): WorkflowResult {
  const out: WorkflowResult = { workflowId: run.id, state: run.state }
  if (run.record.error != null) out.error = run.record.error
  const errors: Record<string, string> = {}
  for (const step of run.stepRecords()) if (step.state === 'failed') errors[step.id] = step.error ?? 'failed'
  if (Object.keys(errors).length > 0) out.errors = errors
  if (which === 'all') {
    const outputs: Record<string, unknown> = {}
    for (const step of run.stepRecords()) if (step.state === 'succeeded') outputs[step.id] = step.output ?? null
    out.outputs = outputs
  }
  if (run.state === 'succeeded') out.final = finalOutput(run)
  return out
}

/** The document's `output` resolved, else the single last step's output, else the last steps' outputs by id. */
function finalOutput(run: WorkflowRun): unknown {
  const document = run.plan.document
  if (document.output !== undefined) {
    try {
      return resolveValue(document.output, {
        step: '(output)',
        stepOutput: (id) => run.stepOutput(id),
        inputs: run.plan.inputs,
        workflow: { id: run.id, name: run.record.name }
      })
    } catch (err) {
      return { error: errorMessage(err) }
    }
  }
  const sinks = run.plan.sinks
  if (sinks.length === 1) {
    const only = run.stepOutput(sinks[0]!)
    return only.ok ? only.value : null
  }
  const out: Record<string, unknown> = {}
  for (const id of sinks) {
    const output = run.stepOutput(id)
    out[id] = output.ok ? output.value : null
  }
  return out
}
