import { MeshError } from '../util/errors.js'

/** `tracing.otlpEndpoint` is not an http(s) URL. */
export class InvalidOtlpEndpointError extends MeshError {
  static override readonly code = 'ERR_INVALID_OTLP_ENDPOINT'
  constructor(readonly endpoint: string) {
    super(`tracing.otlpEndpoint must be an http(s) URL, got "${endpoint}"`)
  }
}
