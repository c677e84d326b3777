import { MeshError } from '../util/errors.js'

/** A peer asked for something the gate does not allow (answered with the mesh's denied code). */
export class AccessDeniedError extends MeshError {
  static override readonly code = 'ERR_ACCESS_DENIED'
  constructor(
    readonly peer: string,
    readonly reason: string
  ) {
    super(`denied: ${reason}`)
  }
}
