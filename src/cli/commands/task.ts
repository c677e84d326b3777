import { type Command, InvalidArgumentError } from 'commander'
import { resolveHome } from '../../config/load.js'
import { callTool, withApi } from '../api-client.js'
import { UsageError } from '../errors.js'
import { printJson } from '../output.js'
import { progressEnabled, progressLine } from '../progress.js'
import { homeOption } from './options.js'

function parseJsonObject(value: string, flag: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${flag} must be a JSON object`)
  return parsed as Record<string, unknown>
}

function parseInteger(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}-${max}`)
    return n
  }
}

/** How often `task submit --wait` refreshes the task's state on a terminal. */
const STATUS_POLL_MS = 1_000

function describeTask(status: unknown): string {
  const task = (status as { task?: { state?: string; attempts?: number; worker?: string } }).task
  if (task?.state == null) return 'waiting for its result'
  const attempt = task.attempts != null && task.attempts > 1 ? `, attempt ${task.attempts}` : ''
  return `${task.state}${task.worker != null ? ` on ${task.worker}` : ''}${attempt}`
}

async function run(home: string | undefined, tool: string, args: Record<string, unknown>): Promise<void> {
  printJson(await withApi(resolveHome(home), async (client) => callTool(client, tool, args)))
}

/** `mcp-mesh task submit|status|result|list|cancel|retry|priority` and `mcp-mesh queue stats|pause|resume`, via the local API. */
export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description("manage the running node's task queue")

  task
    .command('submit')
    .description('queue a tool call as a durable task; prints the task (with --wait, its result)')
    .argument('<tool>', 'tool to run')
    .addOption(homeOption())
    .option('--args <json>', 'tool arguments as a JSON object', '{}')
    .option('--priority <0-10>', 'priority, 10 runs first', parseInteger(0, 10))
    .option('--idempotency-key <key>', 'same key and arguments return the existing task')
    .option('--delay <ms>', 'run after this delay', parseInteger(0, 31_536_000_000))
    .option('--timeout <ms>', "override the tool's timeout", parseInteger(1, 86_400_000))
    .option('--max-attempts <n>', 'retry up to n attempts (exponential backoff)', parseInteger(1, 100))
    .option('--peer <peerId>', 'run on this peer only')
    .option('--local', 'run on this node only')
    .option('--fail-if-no-worker', 'fail at once when no worker offers the tool')
    .option('--wait', 'wait for the result and print it')
    .action(
      async (
        tool: string,
        opts: {
          home?: string
          args: string
          priority?: number
          idempotencyKey?: string
          delay?: number
          timeout?: number
          maxAttempts?: number
          peer?: string
          local?: boolean
          failIfNoWorker?: boolean
          wait?: boolean
        }
      ) => {
        const submission: Record<string, unknown> = { tool, args: parseJsonObject(opts.args, '--args') }
        if (opts.priority != null) submission.priority = opts.priority
        if (opts.idempotencyKey != null) submission.idempotencyKey = opts.idempotencyKey
        if (opts.delay != null) submission.delayMs = opts.delay
        if (opts.timeout != null) submission.timeoutMs = opts.timeout
        if (opts.maxAttempts != null) submission.retry = { policy: 'exponential', maxAttempts: opts.maxAttempts }
        if (opts.peer != null || opts.local === true) submission.placement = { peer: opts.peer, local: opts.local }
        if (opts.failIfNoWorker === true) submission.failIfNoWorker = true
        const output = await withApi(resolveHome(opts.home), async (client) => {
          const submitted = (await callTool(client, 'task_submit', submission)) as { task: { id: string } }
          if (opts.wait !== true) return submitted
          const id = submitted.task.id
          // On a terminal: the task's state, polled while its result is awaited.
          const progress = progressLine(`task ${id} submitted; waiting for its result`)
          const polling = progressEnabled()
            ? setInterval(() => {
                callTool(client, 'task_status', { id })
                  .then((status) => progress.update(`task ${id}: ${describeTask(status)}`))
                  .catch(() => {})
              }, STATUS_POLL_MS)
            : undefined
          try {
            return await callTool(client, 'task_result', { id, wait: true, waitMs: 3_600_000 })
          } finally {
            clearInterval(polling)
            progress.done()
          }
        })
        printJson(output)
      }
    )

  task
    .command('status')
    .description('show one task')
    .argument('<id>')
    .addOption(homeOption())
    .action(async (id: string, opts: { home?: string }) => run(opts.home, 'task_status', { id }))

  task
    .command('result')
    .description("print a task's result (--wait to wait for it)")
    .argument('<id>')
    .addOption(homeOption())
    .option('--wait', 'wait until the task finishes')
    .action(async (id: string, opts: { home?: string; wait?: boolean }) =>
      run(opts.home, 'task_result', { id, wait: opts.wait === true, waitMs: 3_600_000 })
    )

  task
    .command('list')
    .description('list tasks (filters combine)')
    .addOption(homeOption())
    .option('--state <state>', 'queued, running, succeeded, failed, cancelled or dead')
    .option('--tool <name>')
    .option('--tag <tag>')
    .option('--worker <peerId>')
    .option('--priority <0-10>', 'exact priority', parseInteger(0, 10))
    .option('--limit <n>', 'page size', parseInteger(1, 500), 50)
    .option('--cursor <cursor>', 'nextCursor from the previous page')
    .action(async (opts: Record<string, unknown> & { home?: string }) => {
      const { home, ...filter } = opts
      await run(home, 'task_list', Object.fromEntries(Object.entries(filter).filter(([, v]) => v != null)))
    })

  task
    .command('cancel')
    .description('cancel a queued or running task')
    .argument('<id>')
    .addOption(homeOption())
    .option('--reason <text>')
    .action(async (id: string, opts: { home?: string; reason?: string }) =>
      run(opts.home, 'task_cancel', { id, reason: opts.reason })
    )

  task
    .command('retry')
    .description('re-run a failed, dead or cancelled task')
    .argument('<id>')
    .addOption(homeOption())
    .action(async (id: string, opts: { home?: string }) => run(opts.home, 'task_retry', { id }))

  task
    .command('priority')
    .description('change the priority of a queued task')
    .argument('<id>')
    .argument('<priority>', '0-10', parseInteger(0, 10))
    .addOption(homeOption())
    .action(async (id: string, priority: number, opts: { home?: string }) =>
      run(opts.home, 'task_priority', { id, priority })
    )

  const queue = program.command('queue').description("the running node's task queue as a whole")
  queue
    .command('stats')
    .description('counts by state, throughput, mean wait and run times')
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => run(opts.home, 'queue_stats', {}))
  queue
    .command('pause')
    .description('stop dispatching (running tasks finish)')
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => run(opts.home, 'queue_pause', {}))
  queue
    .command('resume')
    .description('resume dispatching')
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => run(opts.home, 'queue_resume', {}))
  queue
    .command('clear')
    .description('delete tasks in the given states (requires --yes)')
    .argument('<states...>', 'states to clear, e.g. succeeded dead')
    .addOption(homeOption())
    .option('--yes', 'confirm')
    .action(async (states: string[], opts: { home?: string; yes?: boolean }) =>
      run(opts.home, 'queue_clear', { states, confirm: opts.yes === true })
    )
}
