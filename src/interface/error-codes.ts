/** JSON-RPC error codes of the mesh (server-defined range), shared by every layer that answers peers. */
// Outside JSON-RPC's reserved -32768..-32000 range on purpose: MCP claims
// codes there (-32002 is ResourceNotFound, which the SDK rewrites to -32602
// on the wire), so a mesh code in that range may not reach the peer intact.
export const ERROR_CODE_DENIED = -31001
export const ERROR_CODE_BUSY = -31002
export const ERROR_CODE_RATE_LIMITED = -31003
