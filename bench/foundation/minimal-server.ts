/**
 * The smallest MCP server on the SDK mcp-mesh uses (v2): one `echo` tool over
 * stdio. Shows how much of a gap to the reference server is the SDK's and how
 * much is ours.
 */
import { McpServer } from '@modelcontextprotocol/server'
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { z } from 'zod'

const server = new McpServer({ name: 'minimal-echo', version: '1.0.0' })
server.registerTool(
  'echo',
  { description: 'Echoes back the input string', inputSchema: z.object({ message: z.string() }) },
  async ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] })
)
await server.connect(new StdioServerTransport())
