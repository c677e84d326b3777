import type { ChildProcess } from 'node:child_process'
import type { Writable } from 'node:stream'
import { type JSONRPCMessage, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import type { ServerSpec, StdioServerSpec } from '../config/schema.js'

/**
 * How a shared server (a `servers` entry) is reached: its client transport
 * and, for a stdio child, its environment.
 */

/**
 * The SDK's stdio client transport for a shared server, with its writes to
 * the server coalesced per event-loop turn, as the node's own stdio endpoint
 * writes (`src/mcp/stream-server-transport.ts`): the first message sent
 * while one event is handled corks the server's stdin, and the next tick,
 * after the event's promise jobs, uncorks it, so the messages of that turn
 * leave in one `writev`. The SDK's transport writes each message on its own:
 * one system call, and one wake-up of the server, per message. Measured on a
 * node calling a shared server's tool at 64 in flight, 8 alternating runs of
 * each build (medians): the server's CPU per call 34 → 30 µs (lower in every
 * pair), 11,300 → 12,200 calls/s; the node's own CPU per call unchanged
 * within the noise (72 against 75 µs) (bench/RESULTS.md, issue 12, eleventh
 * pass). Everything else (spawn, environment, reading, close) is the SDK's.
 */
export class BatchedStdioClientTransport extends StdioClientTransport {
  #corked?: Writable

  override send(message: JSONRPCMessage): Promise<void> {
    if (this.#corked == null) {
      // The SDK's child process (a private field of its transport; absent before start and after close).
      const stdin = (this as unknown as { _process?: ChildProcess })._process?.stdin
      if (stdin?.writable === true) {
        stdin.cork()
        this.#corked = stdin
        process.nextTick(this.#uncork)
      }
    }
    return super.send(message)
  }

  readonly #uncork = (): void => {
    const stdin = this.#corked
    this.#corked = undefined
    stdin?.uncork()
  }
}

/**
 * A child's environment: the MCP SDK's safe defaults (PATH, HOME, USER, SHELL,
 * TERM, LOGNAME and their Windows equivalents) plus the entry's own `env`.
 * The node's other variables (API keys, tokens of other tools, MCP_MESH_*)
 * are not passed on: a server gets only what its entry names.
 */
export function serverEnvironment(spec: Pick<StdioServerSpec, 'env'>): Record<string, string> {
  return { ...getDefaultEnvironment(), ...spec.env }
}

/**
 * The client transport of a `servers` entry: a stdio child (its command,
 * with the reduced environment), or a remote server over Streamable HTTP
 * (`{"type": "http", "url", "headers"}`, the entry's headers on every request).
 */
export function serverTransport(spec: ServerSpec): Transport {
  if (spec.type === 'http') {
    return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers } })
  }
  return new BatchedStdioClientTransport({
    command: spec.command,
    args: spec.args,
    env: serverEnvironment(spec),
    cwd: spec.cwd,
    stderr: 'inherit'
  })
}
