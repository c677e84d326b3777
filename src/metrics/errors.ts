import { MeshError } from '../util/errors.js'

/** The metrics port could not be bound. */
export class MetricsListenError extends MeshError {
  static override readonly code = 'ERR_METRICS_LISTEN'
  constructor(
    readonly port: number,
    reason: string
  ) {
    super(`cannot serve /metrics on 127.0.0.1:${port}: ${reason}`)
  }
}
