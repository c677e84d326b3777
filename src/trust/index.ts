/**
 * The authorization gate: one module answers "may peer P make this node do
 * X" for every inbound path, and "may this node send X to peer P" for the
 * outbound side. docs/security.md lists each path and its check.
 *
 * @example
 * const gate = trustGate({ export: config.export, trust: config.trust })({ tools: registry })
 * const decision = gate.checkRun('call', peerId, 'echo')
 * if (!decision.allowed) throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${decision.reason}`)
 *
 * @module
 */
export {
  INBOUND_PATHS,
  type InboundPath,
  OUTBOUND_PATHS,
  type OutboundPath,
  STRANGERS_SHARE,
  strangersShare
} from './constants.js'
export { AccessDeniedError } from './errors.js'
export {
  type Decision,
  type RefusalKind,
  TrustGate,
  type TrustGateComponents,
  type TrustGateInit,
  type TrustGateStats,
  trustGate
} from './gate.js'
