import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv'
import { meshLogger } from '../../util/logger.js'

const log = meshLogger('queue')

/**
 * Checks a task's arguments against the input schemas known for its tool
 * at submission, with the JSON Schema validator the MCP SDK bundles (the
 * one its client and server validate with): the tool's own schema when this
 * node has it, and the schemas of the providers' descriptors in the catalog.
 */
type Check = (args: unknown) => { valid: true } | { valid: false; errorMessage: string }

const validator = new AjvJsonSchemaValidator()
/** Compiled once per schema object (descriptors and tool schemas are long-lived objects). */
const compiled = new WeakMap<object, Check | null>()

function checkOf(schema: object): Check | undefined {
  let check = compiled.get(schema)
  if (check === undefined) {
    try {
      check = validator.getValidator(schema as Parameters<typeof validator.getValidator>[0]) as Check
    } catch (err) {
      // A schema the validator cannot compile says nothing we can check: treated as unknown.
      log('cannot compile an input schema: %s', err instanceof Error ? err.message : String(err))
      check = null
    }
    compiled.set(schema, check)
  }
  return check ?? undefined
}

/** `data/a/b must be number` → `a.b must be number`; `data must ...` → `arguments must ...`. */
function readable(message: string): string {
  return message.replace(/(^|[\s,])data((?:\/[^\s/,]+)*)(?=[\s,]|$)/g, (_, lead: string, path: string) =>
    path === '' ? `${lead}arguments` : `${lead}${path.slice(1).replaceAll('/', '.')}`
  )
}

/**
 * Undefined when `args` match at least one of `schemas` (the task may run on
 * any provider), or when no schema is known (the tool is not known yet: the
 * task waits for a provider); else why they do not match the first.
 */
export function argumentsProblem(schemas: readonly unknown[], args: unknown): string | undefined {
  let problem: string | undefined
  for (const schema of schemas) {
    if (schema == null || typeof schema !== 'object') continue
    const check = checkOf(schema)
    if (check == null) continue
    const result = check(args)
    if (result.valid) return undefined
    problem ??= readable(result.errorMessage)
  }
  return problem
}
