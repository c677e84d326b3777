import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { resolveHome } from '../../config/load.js'
import { resultText } from '../../mcp/result.js'
import { WORKFLOW_ID_PATTERN } from '../../workflow/constants.js'
import { GRAPH_FORMATS, type GraphFormat, renderGraph } from '../../workflow/graph.js'
import { WORKFLOW_STATES, type WorkflowProblem } from '../../workflow/types.js'
import { validateWorkflow } from '../../workflow/validate.js'
import { callTool, withApi } from '../api-client.js'
import { NodeNotRunningError, ToolCallFailedError, UsageError } from '../errors.js'
import { printJson } from '../output.js'
import { homeOption } from './options.js'

const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2
/** Waiting for a workflow may take long: the request timeout is reset by each progress notification. */
const WAIT_TIMEOUT_MS = 24 * 3_600_000

function parsePositive(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer')
  return n
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** `--input name=value`: the value is JSON when it parses as JSON, else a string. */
function parseInputs(pairs: string[] | undefined, json: string | undefined): Record<string, unknown> | undefined {
  let inputs: Record<string, unknown> | undefined
  if (json != null) {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch (err) {
      throw new UsageError(`--inputs is not valid JSON: ${(err as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError('--inputs must be a JSON object')
    }
    inputs = { ...(parsed as Record<string, unknown>) }
  }
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new UsageError(`--input ${pair}: expected name=value`)
    const raw = pair.slice(at + 1)
    let value: unknown = raw
    try {
      value = JSON.parse(raw)
    } catch {}
    inputs = { ...inputs, [pair.slice(0, at)]: value }
  }
  return inputs
}

/** Reads a workflow document: JSON from a file, or from stdin with `-`. */
async function readDocument(file: string): Promise<unknown> {
  const extension = extname(file).toLowerCase()
  if (extension === '.yaml' || extension === '.yml') {
    throw new UsageError(
      `${file}: YAML is not supported (mcp-mesh ships no YAML parser); convert it to JSON, e.g. \`yq -o=json ${file}\``
    )
  }
  let text: string
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`)
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A rejected document: the problems on stderr (one a line) and as JSON on stdout. */
function reportProblems(problems: WorkflowProblem[]): number {
  process.stderr.write(
    `mcp-mesh: workflow rejected, ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p.message}\n`).join('')}`
  )
  printJson({ error: 'WorkflowValidationError', problems })
  return EXIT_USAGE
}

/** The problems of a rejected document: the error result's JSON text block (`{ error, problems }`). */
function problemsOf(result: CallToolResult): WorkflowProblem[] | undefined {
  if (result.isError !== true) return undefined
  for (const block of result.content) {
    if (block.type !== 'text' || !block.text.startsWith('{')) continue
    try {
      const parsed = JSON.parse(block.text) as { problems?: WorkflowProblem[] }
      if (Array.isArray(parsed.problems)) return parsed.problems
    } catch {}
  }
  return undefined
}

/**
 * Progress on stderr: a bar redrawn in place on a TTY, else one plain line
 * per step event (the notification's message).
 */
export class ProgressDisplay {
  readonly #stream: NodeJS.WriteStream
  readonly #tty: boolean
  readonly #width = 24
  #drawn = false
  #lastMessage?: string

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream
    this.#tty = stream.isTTY === true && process.env.TERM !== 'dumb'
  }

  /** Whether the stream is a terminal the bar can be redrawn on. */
  get tty(): boolean {
    return this.#tty
  }

  update(progress: { progress: number; total?: number; message?: string }): void {
    const message = progress.message ?? ''
    if (!this.#tty) {
      if (message !== '' && message !== this.#lastMessage) this.#stream.write(`mcp-mesh: ${message}\n`)
      this.#lastMessage = message
      return
    }
    const total = progress.total ?? 0
    const fraction = total > 0 ? Math.min(1, progress.progress / total) : 0
    const filled = Math.round(fraction * this.#width)
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(this.#width - filled)}] ${Math.round(fraction * 100)}%`
    const columns = this.#stream.columns ?? 100
    const line = `${bar} ${message}`.slice(0, Math.max(20, columns - 1))
    this.#stream.write(`\r\x1b[2K${line}`)
    this.#drawn = true
  }

  note(text: string): void {
    this.end()
    this.#stream.write(`mcp-mesh: ${text}\n`)
  }

  end(): void {
    if (this.#drawn) this.#stream.write('\n')
    this.#drawn = false
  }
}

interface RunFlags {
  home?: string
  input?: string[]
  inputs?: string
  allowUnknownTools?: boolean
  detach?: boolean
  all?: boolean
  timeout?: number
  progress?: boolean
}

/**
 * Makes the client handle a response only after the notifications that came
 * with it. The SDK client handles a notification one microtask after reading
 * it but a response at once, so when a read holds progress notifications and
 * the response together (a busy CLI), the progress handler is removed first
 * and the notifications are dropped. Responses are delivered on the next
 * macrotask instead, in order.
 */
function deliverNotificationsFirst(client: Client): void {
  const transport = client.transport
  const deliver = transport?.onmessage
  if (transport == null || deliver == null) return
  transport.onmessage = (message, extra) => {
    if ('id' in message && !('method' in message)) setImmediate(() => deliver.call(transport, message, extra))
    else deliver.call(transport, message, extra)
  }
}

async function runWorkflow(client: Client, document: unknown, flags: RunFlags): Promise<number> {
  deliverNotificationsFirst(client)
  const display = new ProgressDisplay()
  // Progress is for a person watching: on a terminal by default, otherwise only with --progress.
  const showProgress = flags.progress ?? display.tty
  let workflowId: string | undefined
  // Ctrl-C cancels the workflow (its running steps, wherever they run); a second one leaves at once.
  let interrupted = 0
  const onSigint = (): void => {
    interrupted++
    if (interrupted > 1 || workflowId == null) process.exit(130)
    display.note(`cancelling workflow ${workflowId} (Ctrl-C again to leave it running)`)
    callTool(client, 'workflow_cancel', { workflowId, reason: 'interrupted from the CLI' }).catch((err: unknown) =>
      display.note(`cancel failed: ${(err as Error).message}`)
    )
  }
  process.on('SIGINT', onSigint)
  try {
    const submitted = (await client.callTool(
      {
        name: 'workflow_submit',
        arguments: {
          document: document as Record<string, unknown>,
          inputs: parseInputs(flags.input, flags.inputs),
          allowUnknownTools: flags.allowUnknownTools === true,
          wait: flags.detach !== true,
          timeoutMs: flags.timeout
        }
      },
      {
        timeout: WAIT_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
        // The first notification names the workflow: "workflow wf-… (name) submitted: n steps".
        onprogress: (progress) => {
          if (workflowId == null) {
            workflowId = /workflow (wf-[0-9a-f]{16})/.exec(progress.message ?? '')?.[1]
            if (showProgress && progress.message != null) display.note(progress.message)
          } else if (showProgress) display.update(progress)
        }
      }
    )) as CallToolResult
    display.end()
    const problems = problemsOf(submitted)
    if (problems != null) return reportProblems(problems)
    if (submitted.isError === true) throw new ToolCallFailedError(`workflow_submit failed: ${resultText(submitted)}`)
    const outcome = submitted.structuredContent as {
      workflowId: string
      name: string
      state: string
      durationMs: number
      final?: unknown
      error?: string
      timedOut?: boolean
      steps: Array<{ id: string; state: string; peers: string[]; durationMs?: number; error?: string; reason?: string }>
    }
    if (flags.detach === true) {
      printJson(outcome)
      return EXIT_OK
    }
    const errors = Object.fromEntries(outcome.steps.filter((s) => s.error != null).map((s) => [s.id, s.error]))
    const outputs =
      flags.all === true
        ? (
            (await callTool(client, 'workflow_result', { workflowId: outcome.workflowId, which: 'all' })) as {
              outputs?: unknown
            }
          ).outputs
        : undefined
    printJson({
      workflowId: outcome.workflowId,
      name: outcome.name,
      state: outcome.state,
      durationMs: outcome.durationMs,
      ...(outcome.final !== undefined ? { final: outcome.final } : {}),
      ...(outputs !== undefined ? { outputs } : {}),
      ...(Object.keys(errors).length > 0 ? { errors } : {}),
      ...(outcome.error != null ? { error: outcome.error } : {}),
      ...(outcome.timedOut === true ? { timedOut: true } : {}),
      steps: outcome.steps.map(({ id, state, peers, durationMs, error, reason }) => ({
        id,
        state,
        peers,
        durationMs,
        error,
        reason
      }))
    })
    if (outcome.timedOut === true) {
      process.stderr.write(`mcp-mesh: stopped waiting; workflow ${outcome.workflowId} keeps running\n`)
      return EXIT_FAILED
    }
    if (outcome.state !== 'succeeded') {
      process.stderr.write(
        `mcp-mesh: workflow ${outcome.workflowId} ${outcome.state}${outcome.error != null ? `: ${outcome.error}` : ''}\n`
      )
      return EXIT_FAILED
    }
    return EXIT_OK
  } finally {
    display.end()
    process.off('SIGINT', onSigint)
  }
}

async function print(home: string | undefined, tool: string, args: Record<string, unknown>): Promise<void> {
  printJson(await withApi(resolveHome(home), async (client) => callTool(client, tool, args)))
}

function workflowIdArgument(value: string): string {
  if (!WORKFLOW_ID_PATTERN.test(value)) throw new InvalidArgumentError('must be a workflow id (wf- and 16 hex digits)')
  return value
}

/** `mcp-mesh workflow run|status|list|cancel|graph|result`, via the running node's local API. */
export function registerWorkflowCommands(program: Command, setExit: (code: number) => void): void {
  const workflow = program
    .command('workflow')
    .description('run and inspect workflows: DAGs of tool calls across the mesh (see docs/workflows.md)')

  workflow
    .command('run')
    .description(
      'submit a workflow document (JSON; - for stdin), show its progress on stderr (on a terminal) and print the result as JSON. Exit 0 succeeded, 1 failed or cancelled, 2 rejected document or bad usage'
    )
    .argument('<file>', 'workflow document (JSON), or - for stdin')
    .addOption(homeOption())
    .option('--input <name=value>', 'an input (value parsed as JSON when it is JSON); repeatable', collect)
    .option('--inputs <json>', 'inputs as a JSON object')
    .option('--allow-unknown-tools', 'accept tools no node offers yet (their steps wait for a worker)')
    .option('--detach', 'print the submitted workflow and return at once')
    .option('--all', 'print every step output, not just the final one')
    .option('--timeout <ms>', 'stop waiting after this long (the workflow keeps running; exit 1)', parsePositive)
    .option('--progress', 'show progress on stderr even when it is not a terminal (one line per step event)')
    .option('--no-progress', 'no progress output on stderr, even on a terminal')
    .action(async (file: string, flags: RunFlags) => {
      const document = await readDocument(file)
      setExit(await withApi(resolveHome(flags.home), async (client) => runWorkflow(client, document, flags)))
    })

  workflow
    .command('status')
    .description('print a workflow’s status: state, and per step its state, peers, task ids and timings')
    .argument('<workflowId>', 'workflow id', workflowIdArgument)
    .addOption(homeOption())
    .action(async (workflowId: string, opts: { home?: string }) => print(opts.home, 'workflow_status', { workflowId }))

  workflow
    .command('list')
    .description('list the workflows this node owns, newest first')
    .addOption(homeOption())
    .addOption(new Option('--state <state...>', 'only these states').choices([...WORKFLOW_STATES]))
    .option('--tag <tag>', 'only workflows with this tag')
    .option('--name <name>', 'only workflows with this name')
    .option('--limit <n>', 'page size (1-500)', parsePositive)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .action(
      async (opts: {
        home?: string
        state?: string[]
        tag?: string
        name?: string
        limit?: number
        cursor?: string
      }) => {
        const args: Record<string, unknown> = {}
        if (opts.state != null) args.state = opts.state.length === 1 ? opts.state[0] : opts.state
        if (opts.tag != null) args.tag = opts.tag
        if (opts.name != null) args.name = opts.name
        if (opts.limit != null) args.limit = opts.limit
        if (opts.cursor != null) args.cursor = opts.cursor
        await print(opts.home, 'workflow_list', args)
      }
    )

  workflow
    .command('cancel')
    .description('cancel a running workflow: its running steps are cancelled on whichever peer runs them')
    .argument('<workflowId>', 'workflow id', workflowIdArgument)
    .addOption(homeOption())
    .option('--reason <text>', 'recorded with the cancellation')
    .action(async (workflowId: string, opts: { home?: string; reason?: string }) =>
      print(opts.home, 'workflow_cancel', { workflowId, ...(opts.reason != null ? { reason: opts.reason } : {}) })
    )

  workflow
    .command('result')
    .description('print a workflow’s outputs (the final one, or --all)')
    .argument('<workflowId>', 'workflow id', workflowIdArgument)
    .addOption(homeOption())
    .option('--all', 'every step output')
    .option('--wait', 'wait for the workflow to end first')
    .action(async (workflowId: string, opts: { home?: string; all?: boolean; wait?: boolean }) =>
      print(opts.home, 'workflow_result', {
        workflowId,
        which: opts.all === true ? 'all' : 'final',
        wait: opts.wait === true
      })
    )

  workflow
    .command('graph')
    .description(
      'print the dependency graph of a workflow (by id) or of a document file, as json, dot or mermaid; a file is drawn without a running node when none is running'
    )
    .argument('<workflowIdOrFile>', 'workflow id, or a workflow document (JSON)')
    .addOption(homeOption())
    .addOption(new Option('--format <format>', 'output format').choices([...GRAPH_FORMATS]).default('mermaid'))
    .action(async (target: string, opts: { home?: string; format: GraphFormat }) => {
      const isId = WORKFLOW_ID_PATTERN.test(target)
      const args: Record<string, unknown> = { format: opts.format }
      if (isId) args.workflowId = target
      else args.document = (await readDocument(target)) as Record<string, unknown>
      let graph: { text?: string; problems?: WorkflowProblem[] }
      try {
        graph = await withApi(resolveHome(opts.home), async (client) => {
          const result = (await client.callTool({ name: 'workflow_dependencies', arguments: args })) as CallToolResult
          const problems = problemsOf(result)
          if (problems != null) return { problems }
          if (result.isError === true)
            throw new ToolCallFailedError(`workflow_dependencies failed: ${resultText(result)}`)
          return result.structuredContent as { text?: string }
        })
      } catch (err) {
        if (!(err instanceof NodeNotRunningError) || isId) throw err
        // No node: draw the document as it stands (structure only; tools are not checked).
        const validation = validateWorkflow(args.document)
        if (!validation.ok) {
          setExit(reportProblems(validation.problems))
          return
        }
        const plan = validation.plan
        const nodes = plan.steps.map((step) => ({
          id: step.id,
          tool: step.tool,
          ...(step.forEach != null ? { forEach: true } : {})
        }))
        const edges = plan.steps.flatMap((step) => step.deps.map((dep) => ({ from: dep, to: step.id })))
        const view = { name: plan.document.name, nodes, edges }
        graph = { ...view, format: opts.format, text: renderGraph(view, opts.format) } as { text?: string }
      }
      if (graph.problems != null) {
        setExit(reportProblems(graph.problems))
        return
      }
      if (opts.format === 'json' || graph.text == null) printJson(graph)
      else process.stdout.write(graph.text)
    })
}
