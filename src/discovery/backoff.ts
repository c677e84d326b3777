import { BACKOFF_FACTOR, BACKOFF_JITTER } from './constants.js'

export interface BackoffInit {
  initialMs: number
  maxMs: number
  factor?: number
  /** ± fraction of the delay, so peers that lost the same node do not retry in lockstep. */
  jitter?: number
  random?: () => number
}

/** Delay before retry number `failures` (1-based): initial · factor^(failures-1), capped, with jitter. */
export function backoffDelay(failures: number, init: BackoffInit): number {
  const factor = init.factor ?? BACKOFF_FACTOR
  const jitter = init.jitter ?? BACKOFF_JITTER
  const random = init.random ?? Math.random
  const base = Math.min(init.maxMs, init.initialMs * factor ** Math.max(0, failures - 1))
  const spread = base * jitter * (random() * 2 - 1)
  return Math.max(0, Math.round(Math.min(init.maxMs, base + spread)))
}
