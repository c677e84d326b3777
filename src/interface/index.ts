/**
 * Shared contracts every folder may import: the startable subsystem, the
 * libp2p services type and the version constants. A leaf: nothing here
 * imports the rest of src/.
 *
 * @module
 */
export type { NodeAddressView, NodeInternals, MeshServices } from './libp2p.js'
export { ERROR_CODE_BUSY, ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from './error-codes.js'
export type { NodeSubsystem } from './subsystem.js'
export { AGENT_NAME, VERSION } from './version.js'
