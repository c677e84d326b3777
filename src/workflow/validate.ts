/**
 * Validation of a workflow document, before anything runs. Every problem is
 * collected (not just the first), and each names its step.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { JsonObject } from '../tools/types.js'
import { DEFAULT_MAX_FOREACH_ITEMS } from './constants.js'
import { type WorkflowDocument, type WorkflowStep, workflowDocumentSchema } from './document.js'
import { findCycles, topologicalOrder } from './graph.js'
import { collectReferences, forEachReference, type LocatedReference } from './refs.js'
import { missingField } from './schema-path.js'
import type { WorkflowProblem } from './types.js'

export { missingField } from './schema-path.js'

/** What the validator knows about a tool: `undefined` when no one offers it. */
export interface ToolShape {
  inputSchema?: JsonObject
  outputSchema?: JsonObject
}

export interface ValidateOptions {
  /** Looks a tool up in the whole catalog (local and mesh). */
  describeTool?: (name: string) => ToolShape | undefined
  /** Accept tools nobody offers yet (they wait in the queue for a worker). */
  allowUnknownTools?: boolean
  /** Inputs given at submission, overriding the document's. */
  inputs?: Record<string, unknown>
  maxSteps?: number
  maxForEachItems?: number
}

/** A step ready to schedule: the document's step plus its derived dependencies. */
export interface PlannedStep extends WorkflowStep {
  index: number
  /** dependsOn plus every step its references (and forEach) use; sorted, unique. */
  deps: string[]
  /** Steps that depend on this one. */
  dependents: string[]
}

export interface WorkflowPlan {
  document: WorkflowDocument
  steps: PlannedStep[]
  byId: Map<string, PlannedStep>
  /** Steps after their dependencies. */
  order: string[]
  /** Steps nothing depends on. */
  sinks: string[]
  inputs: Record<string, unknown>
}

export type ValidationResult = { ok: true; plan: WorkflowPlan } | { ok: false; problems: WorkflowProblem[] }

function schemaProblems(
  raw: unknown,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>
): WorkflowProblem[] {
  const rawSteps = typeof raw === 'object' && raw !== null ? (raw as { steps?: unknown }).steps : undefined
  return issues.map((issue) => {
    const path = issue.path.map(String)
    let step: string | undefined
    let where = path.join('.')
    if (path[0] === 'steps' && path[1] != null && /^\d+$/.test(path[1])) {
      const candidate = Array.isArray(rawSteps)
        ? (rawSteps[Number(path[1])] as { id?: unknown } | undefined)?.id
        : undefined
      step = typeof candidate === 'string' ? candidate : undefined
      where = `steps[${path[1]}]${path.length > 2 ? `.${path.slice(2).join('.')}` : ''}`
    }
    const subject =
      step != null ? `step "${step}"` : path[0] === 'steps' && path[1] != null ? `steps[${path[1]}]` : 'workflow'
    const field = path[0] === 'steps' && path[1] != null ? path.slice(2).join('.') : where
    return {
      code: 'schema' as const,
      step,
      path: where || undefined,
      message: `${subject}: ${field !== '' ? `${field}: ` : ''}${issue.message}`
    }
  })
}

function rotateToFirst(cycle: string[], position: Map<string, number>): string[] {
  const ring = cycle.slice(0, -1)
  let best = 0
  for (let i = 1; i < ring.length; i++) if (position.get(ring[i]!)! < position.get(ring[best]!)!) best = i
  const rotated = [...ring.slice(best), ...ring.slice(0, best)]
  rotated.push(rotated[0]!)
  return rotated
}

/**
 * Validates a document (an object, or JSON text) and plans it. `describeTool`
 * is optional: without it, tools and fields are not checked (a restart
 * resumes journaled workflows before the catalog has filled).
 */
export function validateWorkflow(input: unknown, options: ValidateOptions = {}): ValidationResult {
  let raw = input
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input)
    } catch (err) {
      return {
        ok: false,
        problems: [{ code: 'schema', message: `workflow: not valid JSON: ${(err as Error).message}` }]
      }
    }
  }
  const parsed = workflowDocumentSchema.safeParse(raw)
  if (!parsed.success) return { ok: false, problems: schemaProblems(raw, parsed.error.issues) }
  const document = parsed.data
  const problems: WorkflowProblem[] = []
  const maxSteps = options.maxSteps
  if (maxSteps != null && document.steps.length > maxSteps) {
    problems.push({
      code: 'schema',
      message: `workflow: ${document.steps.length} steps, more than the limit of ${maxSteps}`
    })
  }
  const inputs = { ...document.inputs, ...(options.inputs ?? {}) }

  const position = new Map<string, number>()
  document.steps.forEach((step, index) => {
    if (position.has(step.id)) {
      problems.push({
        code: 'duplicate-step',
        step: step.id,
        path: `steps[${index}].id`,
        message: `step "${step.id}": id is used more than once (steps[${position.get(step.id)}] and steps[${index}])`
      })
    } else position.set(step.id, index)
  })

  const deps = new Map<string, Set<string>>()
  const stepRefs = new Map<string, LocatedReference[]>()
  document.steps.forEach((step, index) => {
    const own = deps.get(step.id) ?? new Set<string>()
    deps.set(step.id, own)
    const where = (at: string): string => `steps[${index}].${at}`
    for (const dep of step.dependsOn) {
      if (!position.has(dep)) {
        problems.push({
          code: 'unknown-dependency',
          step: step.id,
          path: where('dependsOn'),
          message: `step "${step.id}": dependsOn "${dep}", but no step has that id`
        })
      } else own.add(dep)
    }
    const refs = collectReferences(step.args, 'args')
    const forEachRef = step.forEach != null ? forEachReference(step.forEach) : undefined
    if (forEachRef != null) refs.push(forEachRef)
    stepRefs.set(step.id, refs)
    if (Array.isArray(step.forEach) && step.forEach.length > (options.maxForEachItems ?? DEFAULT_MAX_FOREACH_ITEMS)) {
      problems.push({
        code: 'bad-foreach',
        step: step.id,
        path: where('forEach'),
        message: `step "${step.id}": forEach has ${step.forEach.length} items, more than the limit of ${options.maxForEachItems ?? DEFAULT_MAX_FOREACH_ITEMS}`
      })
    }
    for (const located of refs) {
      const at = where(located.at)
      if (located.error != null || located.ref == null) {
        problems.push({
          code: 'bad-reference',
          step: step.id,
          path: at,
          message: `step "${step.id}": ${located.at}: ${located.error}`
        })
        continue
      }
      const ref = located.ref
      if (ref.kind === 'step') {
        if (!position.has(ref.step)) {
          problems.push({
            code: 'missing-step',
            step: step.id,
            path: at,
            message: `step "${step.id}": ${located.at} references ${ref.expression}, but no step "${ref.step}" exists`
          })
        } else own.add(ref.step)
      } else if (ref.kind === 'input') {
        if (!Object.hasOwn(inputs, ref.name)) {
          problems.push({
            code: 'missing-input',
            step: step.id,
            path: at,
            message: `step "${step.id}": ${located.at} references ${ref.expression}, but the workflow has no input "${ref.name}"`
          })
        }
      } else if ((ref.kind === 'item' || ref.kind === 'index') && (step.forEach == null || located.at === 'forEach')) {
        problems.push({
          code: 'bad-reference',
          step: step.id,
          path: at,
          message: `step "${step.id}": ${located.at} uses ${ref.expression}, which exists only in the args of a forEach step`
        })
      }
    }
    if (
      step.forEach != null &&
      !Array.isArray(step.forEach) &&
      forEachRef?.ref != null &&
      forEachRef.ref.kind !== 'step' &&
      forEachRef.ref.kind !== 'input'
    ) {
      problems.push({
        code: 'bad-foreach',
        step: step.id,
        path: where('forEach'),
        message: `step "${step.id}": forEach must reference a step output or an input, not ${forEachRef.expression}`
      })
    }
    const placement = step.placement
    if (typeof placement === 'object' && placement != null) {
      if (placement.peer != null) {
        try {
          peerIdFromString(placement.peer)
        } catch {
          problems.push({
            code: 'bad-placement',
            step: step.id,
            path: where('placement.peer'),
            message: `step "${step.id}": placement.peer "${placement.peer}" is not a peer ID`
          })
        }
      }
      if (placement.local === true && placement.peer != null) {
        problems.push({
          code: 'bad-placement',
          step: step.id,
          path: where('placement'),
          message: `step "${step.id}": placement cannot be both local and peer ${placement.peer}`
        })
      }
    }
  })

  // The document's final output may reference any step.
  const outputRefs = document.output !== undefined ? collectReferences(document.output, 'output') : []
  for (const located of outputRefs) {
    if (located.error != null || located.ref == null) {
      problems.push({ code: 'bad-reference', path: located.at, message: `workflow: ${located.at}: ${located.error}` })
    } else if (located.ref.kind === 'step' && !position.has(located.ref.step)) {
      problems.push({
        code: 'missing-step',
        path: located.at,
        message: `workflow: ${located.at} references ${located.ref.expression}, but no step "${located.ref.step}" exists`
      })
    } else if (located.ref.kind === 'item' || located.ref.kind === 'index') {
      problems.push({
        code: 'bad-reference',
        path: located.at,
        message: `workflow: ${located.at}: ${located.ref.expression} exists only in forEach steps`
      })
    } else if (located.ref.kind === 'input' && !Object.hasOwn(inputs, located.ref.name)) {
      problems.push({
        code: 'missing-input',
        path: located.at,
        message: `workflow: ${located.at} references ${located.ref.expression}, but the workflow has no input "${located.ref.name}"`
      })
    }
  }

  const ids = [...position.keys()]
  const depsOf = (id: string): string[] => [...(deps.get(id) ?? [])]
  for (const found of findCycles(ids, depsOf)) {
    const cycle = rotateToFirst(found, position)
    problems.push({
      code: 'cycle',
      step: cycle[0],
      cycle,
      message:
        cycle.length === 2
          ? `step "${cycle[0]}": depends on itself`
          : `step "${cycle[0]}": dependency cycle ${cycle.join(' -> ')} (each step needs the one before it)`
    })
  }

  // Tools, their required arguments, and fields of their outputs.
  const describe = options.describeTool
  if (describe != null) {
    const shapes = new Map<string, ToolShape | undefined>()
    const shapeOf = (tool: string): ToolShape | undefined => {
      if (!shapes.has(tool)) shapes.set(tool, describe(tool))
      return shapes.get(tool)
    }
    const byId = new Map<string, WorkflowStep>()
    for (const step of document.steps) if (!byId.has(step.id)) byId.set(step.id, step)
    document.steps.forEach((step, index) => {
      const shape = shapeOf(step.tool)
      if (shape == null) {
        if (options.allowUnknownTools !== true) {
          problems.push({
            code: 'unknown-tool',
            step: step.id,
            path: `steps[${index}].tool`,
            message: `step "${step.id}": unknown tool "${step.tool}": no node of the mesh offers it (set allowUnknownTools to accept it)`
          })
        }
      } else if (shape.inputSchema != null && Array.isArray(shape.inputSchema.required)) {
        for (const name of shape.inputSchema.required) {
          if (typeof name === 'string' && !Object.hasOwn(step.args, name)) {
            problems.push({
              code: 'missing-argument',
              step: step.id,
              path: `steps[${index}].args`,
              message: `step "${step.id}": tool "${step.tool}" requires argument "${name}"`
            })
          }
        }
      }
      for (const located of stepRefs.get(step.id) ?? []) {
        if (located.ref?.kind !== 'step') continue
        const source = byId.get(located.ref.step)
        if (source == null) continue
        const output = shapeOf(source.tool)?.outputSchema
        if (output == null) continue
        const schema: JsonObject = source.forEach != null ? { type: 'array', items: output } : output
        const missing = missingField(schema, located.ref.path, output)
        if (missing !== undefined) {
          problems.push({
            code: 'missing-field',
            step: step.id,
            path: `steps[${index}].${located.at}`,
            message: `step "${step.id}": ${located.at} references ${located.ref.expression}, but the output of step "${source.id}" (tool "${source.tool}"${source.forEach != null ? ', a forEach list' : ''}) has no field "${missing}"`
          })
        }
      }
    })
  }

  if (problems.length > 0) return { ok: false, problems }

  const dependents = new Map<string, string[]>()
  for (const id of ids) {
    for (const dep of deps.get(id)!) {
      const users = dependents.get(dep) ?? []
      users.push(id)
      dependents.set(dep, users)
    }
  }
  const steps: PlannedStep[] = document.steps.map((step, index) => ({
    ...step,
    index,
    deps: [...deps.get(step.id)!].sort((a, b) => position.get(a)! - position.get(b)!),
    dependents: dependents.get(step.id) ?? []
  }))
  const byId = new Map(steps.map((step) => [step.id, step]))
  return {
    ok: true,
    plan: {
      document,
      steps,
      byId,
      order: topologicalOrder(ids, depsOf),
      sinks: steps.filter((step) => step.dependents.length === 0).map((step) => step.id),
      inputs
    }
  }
}
