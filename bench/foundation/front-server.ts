/**
 * mcp-mesh's MCP front (McpFront + LocalToolView + RuntimeRouter + the
 * built-in `echo`) on stdio, without the libp2p node around it. Separates the
 * cost of our request path from the cost of the process it runs in.
 */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { createEchoTool } from '../../src/tools/builtin/echo.js'
import { ToolRegistry } from '../../src/tools/registry.js'

const registry = new ToolRegistry()
registry.register(createEchoTool())
const front = new McpFront({ name: 'mcp-mesh-front', version: '0.0.0' })
await front.connect(new StdioServerTransport(), new LocalToolView(registry, new RuntimeRouter(registry)), {
  kind: 'local'
})
