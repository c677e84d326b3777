/**
 * mcp-mesh's MCP front (McpFront + LocalToolView + RuntimeRouter + the
 * built-in `echo`) on stdio as `start` serves it (StreamServerTransport,
 * `serveStream`), without the libp2p node around it. Separates the cost of
 * our request path from the cost of the process it runs in.
 */
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { StreamServerTransport } from '../../src/mcp/stream-server-transport.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { createEchoTool } from '../../src/tools/builtin/echo.js'
import { ToolRegistry } from '../../src/tools/registry.js'

const registry = new ToolRegistry()
registry.register(createEchoTool())
const front = new McpFront({ name: 'mcp-mesh-front', version: '0.0.0' })
front.serveStream(
  new StreamServerTransport(process.stdin, process.stdout),
  new LocalToolView(registry, new RuntimeRouter(registry)),
  { kind: 'local' }
)
