// MCP SDK 2.4.0 (@modelcontextprotocol/server and /client, each bundling its own copy
// of the core): the JSON-RPC message type guards
// (isJSONRPCRequest, isJSONRPCNotification, isJSONRPCResultResponse,
// isJSONRPCErrorResponse) run a full zod safeParse of the message. Protocol's
// onmessage asks "result response?", "error response?", "request?" in that
// order, so every request received costs two failing parses (each building a
// ZodError with its issues) before the one that succeeds, every notification
// three; serveStdio's channel asks again for every answer sent. Each guard now
// first checks the key its schema requires (`method`, `id`, `result`,
// `error` present, the message an object) and parses only when it is there:
// the same answers (a value without that key fails the parse anyway), no
// ZodError for the common negative case. About 3 µs per MCP message.
// Upstream: the guards were added in
// https://github.com/modelcontextprotocol/typescript-sdk/pull/281 as
// `Schema.safeParse(value).success`; no issue about their cost was found (to
// be filed against packages/core: discriminate by key before parsing).
const edits = [
  {
    from: 'const isJSONRPCRequest = (value) => JSONRPCRequestSchema.safeParse(value).success;',
    to: 'const isJSONRPCRequest = (value) => typeof value === "object" && value !== null && value.method !== void 0 && value.id !== void 0 && JSONRPCRequestSchema.safeParse(value).success; // mcp-mesh patch: key before parse'
  },
  {
    from: 'const isJSONRPCNotification = (value) => JSONRPCNotificationSchema.safeParse(value).success;',
    to: 'const isJSONRPCNotification = (value) => typeof value === "object" && value !== null && value.method !== void 0 && JSONRPCNotificationSchema.safeParse(value).success; // mcp-mesh patch: key before parse'
  },
  {
    from: 'const isJSONRPCResultResponse = (value) => JSONRPCResultResponseSchema.safeParse(value).success;',
    to: 'const isJSONRPCResultResponse = (value) => typeof value === "object" && value !== null && value.result !== void 0 && JSONRPCResultResponseSchema.safeParse(value).success; // mcp-mesh patch: key before parse'
  },
  {
    from: 'const isJSONRPCErrorResponse = (value) => JSONRPCErrorResponseSchema.safeParse(value).success;',
    to: 'const isJSONRPCErrorResponse = (value) => typeof value === "object" && value !== null && value.error !== void 0 && JSONRPCErrorResponseSchema.safeParse(value).success; // mcp-mesh patch: key before parse'
  }
]

export default [
  { package: '@modelcontextprotocol/server', versions: /^2\.4\.0$/, file: 'dist/src-DdvbAHrR.mjs', edits },
  { package: '@modelcontextprotocol/client', versions: /^2\.4\.0$/, file: 'dist/src-CeKsbNLO.mjs', edits }
]
