import { Client, InMemoryTransport, ProtocolError } from '@modelcontextprotocol/client'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/interface/error-codes.js'
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import type { ToolCaller } from '../../src/tools/types.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { createEchoTool } from '../../src/tools/builtin/echo.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { rejectionOf } from '../helpers/errors.js'
import { resultText } from '../helpers/tools.js'

async function connect(front: McpFront, registry: ToolRegistry, caller: ToolCaller): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await front.connect(serverSide, new LocalToolView(registry, new RuntimeRouter(registry)), caller)
  const client = new Client({ name: 'ready-test', version: '1.0.0' })
  await client.connect(clientSide)
  return client
}

describe('McpFront while the node starts', () => {
  it('answers a peer busy at once instead of parking its request; a local client waits; both run once ready', async () => {
    const registry = new ToolRegistry()
    registry.register(createEchoTool())
    const front = new McpFront({ name: 'test', version: '0' })
    const { promise: ready, resolve } = Promise.withResolvers<void>()
    front.gate(ready)
    const peer = await connect(front, registry, { kind: 'peer', peerId: 'peerA' })
    const local = await connect(front, registry, { kind: 'local' })

    const refused = await rejectionOf<ProtocolError>(peer.callTool({ name: 'echo', arguments: { message: 'early' } }))
    expect(refused).toBeInstanceOf(ProtocolError)
    expect(refused.code).toBe(ERROR_CODE_BUSY)
    expect(refused.message).toContain('the node is starting')

    let localDone = false
    const waiting = local.callTool({ name: 'echo', arguments: { message: 'patient' } }).then((result) => {
      localDone = true
      return result
    })
    await new Promise((r) => setImmediate(r))
    expect(localDone).toBe(false)
    resolve()
    expect(resultText(await waiting)).toContain('patient')
    expect(resultText(await peer.callTool({ name: 'echo', arguments: { message: 'later' } }))).toContain('later')
    await peer.close()
    await local.close()
    await front.close()
  })
})
