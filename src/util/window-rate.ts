/**
 * A per-key request rate: at most `points` requests in a window of
 * `windowMs` that opens with a key's first request after the previous one
 * closed. The same count as @libp2p/utils' RateLimiter with `duration` one
 * window and no blocking (a request over the limit is counted too; a key's
 * window is forgotten by a timer once it closes), without its per-request
 * work: a prefixed key string, a Date and a result object per request.
 */
export class WindowRate {
  readonly points: number
  readonly windowMs: number
  readonly #windows = new Map<string, RateWindow>()

  constructor(points: number, windowMs: number) {
    this.points = points
    this.windowMs = windowMs
  }

  /** Counts one request of `key`: false when it is over the limit of its window. */
  take(key: string): boolean {
    const now = Date.now()
    let window = this.#windows.get(key)
    if (window == null || now >= window.endsAt) {
      if (window != null) clearTimeout(window.timer)
      window = new RateWindow(now + this.windowMs, setTimeout(forget, this.windowMs, this.#windows, key))
      window.timer.unref()
      this.#windows.set(key, window)
    } else {
      window.count++
    }
    return window.count <= this.points
  }

  /** Keys with an open (or not yet forgotten) window. */
  get size(): number {
    return this.#windows.size
  }
}

class RateWindow {
  count = 1
  readonly endsAt: number
  readonly timer: NodeJS.Timeout

  constructor(endsAt: number, timer: NodeJS.Timeout) {
    this.endsAt = endsAt
    this.timer = timer
  }
}

/** A window's timer: the key is forgotten (a newer window clears this timer first). */
function forget(windows: Map<string, RateWindow>, key: string): void {
  windows.delete(key)
}
