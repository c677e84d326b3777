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

/** libp2p asked for its metrics before `NodeMetrics.load()` loaded prom-client (a wiring error). */
export class MetricsNotLoadedError extends MeshError {
  static override readonly code = 'ERR_METRICS_NOT_LOADED'
  constructor() {
    super('metrics are not loaded yet: await NodeMetrics.load() before creating libp2p')
  }
}
