import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server'
import { createFront } from '../mcp/front.js'
import type { ToolView } from '../mcp/view.js'

/**
 * stdio <-> the node's local API socket, for every `start` that does not run
 * the node itself. Both sides speak MCP over the stdio framing (one JSON-RPC
 * message per line), so once connected the bridge copies bytes both ways.
 *
 * The node may take a second or more to come up (libp2p, the datastore), but
 * an MCP client waits for `initialize` (and hosts time it out). So the bridge
 * answers an `initialize` that arrives before the socket is connected itself,
 * with the same front the node uses (same name, version, capabilities,
 * instructions and protocol negotiation), queues what follows, and replays
 * the `initialize` to the node once connected, dropping the node's (equal)
 * answer. A client's tool requests therefore wait only for the node, as they
 * would in a node started in the client's own process.
 */

export interface BridgeOptions {
  input: Readable
  output: Writable
  /** Resolves with the connected API socket, or undefined when the node cannot be reached (reported by the caller). */
  connect: () => Promise<Socket | undefined>
}

const NO_TOOLS: ToolView = {
  list: () => [],
  describe: () => undefined,
  call: async () => {
    throw new Error('the node is not connected')
  }
}

/** The response the node's front gives to `request` (an initialize request). */
export async function answerInitialize(request: JSONRPCMessage): Promise<JSONRPCMessage> {
  const front = createFront()
  const { promise, resolve } = Promise.withResolvers<JSONRPCMessage>()
  const transport: Transport = {
    start: async () => {},
    close: async () => {
      transport.onclose?.()
    },
    send: async (message) => {
      resolve(message)
    }
  }
  await front.connect(transport, NO_TOOLS, { kind: 'local' })
  transport.onmessage?.(request)
  const response = await promise
  await front.close()
  return response
}

type Message = { id?: string | number; method?: string }

function parseLine(line: string): Message | undefined {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null ? (value as Message) : undefined
  } catch {
    return undefined
  }
}

/** Splits a byte stream into lines (without their `\n`); keeps the unfinished tail. */
class Lines {
  #tail = ''
  push(chunk: Buffer | string): string[] {
    const text = this.#tail + chunk.toString()
    const lines = text.split('\n')
    this.#tail = lines.pop() ?? ''
    return lines
  }
  rest(): string {
    const rest = this.#tail
    this.#tail = ''
    return rest
  }
}

/**
 * Runs the bridge until either side ends; resolves with the exit code (0
 * when the client or the node closed, 1 when the node could not be reached).
 */
export async function runBridge(options: BridgeOptions): Promise<number> {
  const { input, output } = options
  const incoming = new Lines()
  const queued: string[] = []
  let initialize: { line: string; id: string | number } | undefined
  let inputEnded = false
  let answering: Promise<void> = Promise.resolve()

  // Before the socket is connected: answer initialize here, queue the rest.
  const beforeConnect = (chunk: Buffer): void => {
    for (const raw of incoming.push(chunk)) {
      const line = raw.replace(/\r$/, '')
      if (line.trim() === '') continue
      const message = initialize == null ? parseLine(line) : undefined
      if (message?.method === 'initialize' && message.id != null) {
        const request = JSON.parse(line) as JSONRPCMessage
        initialize = { line, id: message.id }
        answering = answerInitialize(request).then((response) => {
          output.write(`${JSON.stringify(response)}\n`)
        })
      } else {
        queued.push(line)
      }
    }
  }
  const onInputEnd = (): void => {
    inputEnded = true
  }
  input.on('data', beforeConnect)
  input.once('end', onInputEnd)
  // The client went away (EPIPE on its stdout): the bridge ends with it.
  let outputFailed = false
  output.on('error', () => {
    outputFailed = true
    socket?.destroy()
  })
  let socket: Socket | undefined

  socket = await options.connect()
  if (socket == null || outputFailed) {
    socket?.destroy()
    input.off('data', beforeConnect)
    input.pause()
    return 1
  }
  const connected = socket
  connected.on('error', () => {})
  const closed = new Promise<undefined>((resolveClosed) => connected.once('close', () => resolveClosed(undefined)))
  const finish = (): number => {
    input.pause()
    return 0
  }
  await answering

  // Replay the locally answered initialize; the node's answer is dropped.
  if (initialize != null) {
    const { id } = initialize
    const answers = new Lines()
    const { promise: answered, resolve } = Promise.withResolvers<string>()
    const onData = (chunk: Buffer): void => {
      for (const line of answers.push(chunk)) {
        const message = parseLine(line)
        if (message?.id === id && message.method == null) {
          connected.off('data', onData)
          resolve(answers.rest())
          return
        }
        output.write(`${line}\n`)
      }
    }
    connected.on('data', onData)
    connected.write(`${initialize.line}\n`)
    const rest = await Promise.race([answered, closed])
    if (rest == null) return finish()
    if (rest !== '') output.write(rest)
  }

  // From here on: bytes both ways.
  input.off('data', beforeConnect)
  input.off('end', onInputEnd)
  for (const line of queued) connected.write(`${line}\n`)
  const tail = incoming.rest()
  if (tail !== '') connected.write(tail)
  connected.pipe(output, { end: false })
  if (inputEnded) connected.end()
  else input.pipe(connected)
  await closed
  return finish()
}
