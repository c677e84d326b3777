import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { ConfigError } from '../config/errors.js'
import { initHome, loadConfig, resolveHome } from '../config/load.js'
import { VERSION } from '../interface/version.js'
import { MeshError } from '../util/errors.js'
import { callTool, withApi } from './api-client.js'
import { runStart } from './commands/start.js'
import { NodeNotRunningError, UsageError } from './errors.js'
import { printJson } from './output.js'

const EXIT_OK = 0
const EXIT_ERROR = 1
const EXIT_USAGE = 2

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('must be a port number 0-65535')
  return port
}

function homeOption(): Option {
  return new Option('--home <dir>', 'node home directory (default: $MCP_MESH_HOME or ~/.mcp-mesh)')
}

function configOption(): Option {
  return new Option('--config <file>', 'config file (default: <home>/config.json)')
}

interface NodeFlags {
  home?: string
  config?: string
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  http?: number
  metrics?: number
  mesh?: string
  relay?: boolean
  foreground?: boolean
  detachedForHome?: boolean
}

function addNodeOptions(command: Command): Command {
  return command
    .addOption(homeOption())
    .addOption(configOption())
    .option('--listen <multiaddr...>', 'listen addresses (overrides config and $MCP_MESH_LISTEN)')
    .option('--bootstrap <multiaddr...>', 'bootstrap peers /…/p2p/<id> (overrides config and $MCP_MESH_BOOTSTRAP)')
    .option('--no-mdns', 'disable mDNS discovery on the LAN')
    .option(
      '--http <port>',
      'also serve MCP Streamable HTTP on 127.0.0.1:<port>/mcp (bearer token: `mcp-mesh http-token`)',
      parsePort
    )
    .option(
      '--metrics <port>',
      'also serve Prometheus /metrics alone on 127.0.0.1:<port> (bearer token: `mcp-mesh http-token`)',
      parsePort
    )
    .option('--mesh <name>', 'mesh name (namespaces catalog topics and DHT records)')
    .option('--relay', 'act as a circuit-relay-v2 server for peers that are not reachable')
}

async function startFromFlags(flags: NodeFlags, daemon: boolean): Promise<number> {
  return runStart({
    home: resolveHome(flags.home),
    configFile: flags.config,
    daemon,
    foreground: flags.foreground,
    detachedForHome: flags.detachedForHome,
    flags: {
      listen: flags.listen,
      bootstrap: flags.bootstrap,
      mdns: flags.mdns,
      httpPort: flags.http,
      metricsPort: flags.metrics,
      meshName: flags.mesh,
      relay: flags.relay
    }
  })
}

/** Commands that run a node: the only ones loaded when the CLI is started as one. */
const NODE_COMMANDS = new Set(['start', 'daemon'])

/**
 * The program. `nodeOnly` leaves out every other command, so `mcp-mesh start`
 * (launched by MCP clients, which wait for initialize) does not load their
 * modules; `mcp-mesh --help` and every other command load them all.
 */
export async function buildProgram(setExit: (code: number) => void, nodeOnly = false): Promise<Command> {
  const program = new Command('mcp-mesh')
    .description('A libp2p peer node that shares MCP tools across a mesh')
    .version(VERSION, '-v, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })

  program
    .command('init')
    .description("create the node's home: an Ed25519 identity and a config file with defaults")
    .addOption(homeOption())
    .addOption(configOption())
    .option('--force', 'replace an existing identity (keeps the rest of the config)')
    .option('--swarm-key', 'also write a private-mesh key to <home>/swarm.key (kept if one exists)')
    .action(async (opts: { home?: string; config?: string; force?: boolean; swarmKey?: boolean }) => {
      const result = await initHome(resolveHome(opts.home), { force: opts.force, configFile: opts.config })
      const output: Record<string, unknown> = {
        home: result.home,
        config: result.configPath,
        peerId: result.identity.peerId
      }
      if (opts.swarmKey === true) {
        const { generateSwarmKeyFile, SWARM_KEY_NOTICE } = await import('./commands/swarm-key.js')
        const key = await generateSwarmKeyFile(result.home, false).catch(async (err: unknown) => {
          if ((err as { name?: string }).name !== 'SwarmKeyExistsError') throw err
          process.stderr.write('mcp-mesh: keeping the existing swarm.key\n')
          return undefined
        })
        if (key != null) process.stderr.write(`mcp-mesh: ${SWARM_KEY_NOTICE}\n`)
        output.swarmKey = key?.path ?? `${result.home}/swarm.key`
      }
      printJson(output)
    })

  addNodeOptions(
    program
      .command('start')
      .description(
        "serve MCP on stdio from the home's node: launches it (detached, shared by every client of the home) or attaches to the one running"
      )
  )
    .option(
      '--foreground',
      'run the node inside this process; it stops when this client goes (or $MCP_MESH_FOREGROUND=1)'
    )
    .action(async (opts: NodeFlags) => setExit(await startFromFlags(opts, false)))

  addNodeOptions(program.command('daemon').description('run a node without stdio MCP, until SIGINT/SIGTERM'))
    .addOption(
      new Option('--detached-for-home', 'the node `start` launches: exits when idle (lifecycle.idleExitMs)').hideHelp()
    )
    .action(async (opts: NodeFlags) => setExit(await startFromFlags(opts, true)))

  if (nodeOnly) return program

  program
    .command('id')
    .description('print {peerId, addresses, agentVersion} (from the running node, else from the home)')
    .addOption(homeOption())
    .addOption(configOption())
    .action(async (opts: { home?: string; config?: string }) => {
      const home = resolveHome(opts.home)
      try {
        const status = (await withApi(home, async (client) => callTool(client, 'mesh_status', {}))) as {
          peerId: string
          addresses: string[]
          agentVersion: string
        }
        printJson({ peerId: status.peerId, addresses: status.addresses, agentVersion: status.agentVersion })
      } catch (err) {
        if (!(err instanceof NodeNotRunningError)) throw err
        const { config } = await loadConfig(home, { configFile: opts.config })
        process.stderr.write(`mcp-mesh: no node is running on ${home}; addresses are known only while it runs\n`)
        printJson({ peerId: config.identity?.peerId, addresses: [], agentVersion: `mcp-mesh/${VERSION}` })
      }
    })

  program
    .command('status')
    .description("print the running node's mesh_status")
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => {
      printJson(await withApi(resolveHome(opts.home), async (client) => callTool(client, 'mesh_status', {})))
    })

  program
    .command('tools')
    .description('list the tools the running node offers (its own and the mesh’s)')
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => {
      const tools = await withApi(resolveHome(opts.home), async (client) => (await client.listTools()).tools)
      printJson(tools.map((tool) => ({ name: tool.name, title: tool.title, description: tool.description })))
    })

  program
    .command('call')
    .description('call a tool on the running node and print its result as JSON')
    .argument('<tool>', 'tool name')
    .addOption(homeOption())
    .option('--args <json>', 'arguments as a JSON object', '{}')
    .option('--timeout <ms>', 'give up after this many milliseconds', (v) => {
      const ms = Number(v)
      if (!Number.isInteger(ms) || ms <= 0) throw new InvalidArgumentError('must be a positive integer')
      return ms
    })
    .action(async (tool: string, opts: { home?: string; args: string; timeout?: number }) => {
      let args: unknown
      try {
        args = JSON.parse(opts.args)
      } catch (err) {
        throw new UsageError(`--args is not valid JSON: ${(err as Error).message}`)
      }
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        throw new UsageError('--args must be a JSON object')
      }
      const result = await withApi(resolveHome(opts.home), async (client) =>
        callTool(client, tool, args as Record<string, unknown>, { timeoutMs: opts.timeout })
      )
      printJson(result)
    })

  const [
    { registerDiscoveryCommands },
    { registerTaskCommands },
    { registerWorkflowCommands },
    { registerHttpTokenCommand },
    { registerStopCommand }
  ] = await Promise.all([
    import('./commands/discovery.js'),
    import('./commands/task.js'),
    import('./commands/workflow.js'),
    import('./commands/http-token.js'),
    import('./commands/stop.js')
  ])
  registerDiscoveryCommands(program, setExit)
  registerHttpTokenCommand(program)
  registerStopCommand(program, setExit)
  registerTaskCommands(program)
  registerWorkflowCommands(program, setExit)

  return program
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT_OK
    return EXIT_USAGE
  }
  if (err instanceof UsageError) {
    process.stderr.write(`mcp-mesh: ${err.message}\n`)
    return EXIT_USAGE
  }
  if (err instanceof ConfigError || err instanceof MeshError) {
    process.stderr.write(`mcp-mesh: ${err.message}\n`)
    return EXIT_ERROR
  }
  const name = (err as { name?: string })?.name
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`mcp-mesh: ${name != null && name !== 'Error' ? `${name}: ` : ''}${message}\n`)
  if (process.env.DEBUG != null && err instanceof Error && err.stack != null) process.stderr.write(`${err.stack}\n`)
  return EXIT_ERROR
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK
  const first = argv[2]
  const program = await buildProgram(
    (code) => {
      exitCode = code
    },
    first != null && NODE_COMMANDS.has(first)
  )
  try {
    await program.parseAsync(argv)
  } catch (err) {
    return report(err)
  }
  return exitCode
}

main(process.argv).then(
  (code) => {
    process.exitCode = code
    // Commands that leave handles open (sockets closing lazily) must not hang the CLI.
    setTimeout(() => process.exit(code), 200).unref()
  },
  (err: unknown) => {
    process.exitCode = report(err)
  }
)
