import { MeshError } from '../util/errors.js'

/** `<home>/http.token` exists but does not hold a token. */
export class InvalidHttpTokenError extends MeshError {
  static override readonly code = 'ERR_INVALID_HTTP_TOKEN'
  constructor(readonly path: string) {
    super(`${path} does not hold a valid token (43+ base64url characters); delete it to generate a new one`)
  }
}
