import type { JsonObject } from '../../tools/types.js'
import { WorkflowForEachError } from '../errors.js'
import { forEachReference, type ReferenceScope, resolveReference, resolveValue } from '../refs.js'
import type { ItemRuntime, RunState, StepRuntime } from './state.js'

/** What a step's references see: earlier outputs, the inputs, the workflow, and its forEach item. */
export function referenceScope(run: RunState, step: StepRuntime, item?: ItemRuntime): ReferenceScope {
  return {
    step: step.plan.id,
    stepOutput: (id) => run.stepOutput(id),
    inputs: run.plan.inputs,
    workflow: { id: run.id, name: run.record.name },
    item: item != null && step.forEach ? { value: item.value, index: item.index } : undefined
  }
}

/** The arguments of one task, its references resolved; throws when one cannot be. */
export function taskArgs(run: RunState, step: StepRuntime, item: ItemRuntime): JsonObject {
  return resolveValue(step.plan.args, referenceScope(run, step, item)) as JsonObject
}

/** The array a forEach step fans out over; throws WorkflowForEachError when it is not one, or too long. */
export function forEachValues(run: RunState, step: StepRuntime, maxItems: number): unknown[] {
  const source = step.plan.forEach
  let values: unknown
  if (Array.isArray(source)) values = source
  else {
    const located = forEachReference(source)
    if (located?.ref == null)
      throw new WorkflowForEachError(step.plan.id, `is not a reference: ${located?.error ?? String(source)}`)
    values = resolveReference(located.ref, referenceScope(run, step))
  }
  if (!Array.isArray(values)) {
    throw new WorkflowForEachError(
      step.plan.id,
      `must resolve to an array, got ${values === null ? 'null' : typeof values}`
    )
  }
  if (values.length > maxItems) {
    throw new WorkflowForEachError(step.plan.id, `has ${values.length} items, more than the limit of ${maxItems}`)
  }
  return values
}
