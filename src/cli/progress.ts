/**
 * A one-line progress indicator for long CLI operations (`task submit
 * --wait`, `doctor`): redrawn in place on stderr when stderr is a terminal,
 * with the elapsed time ticking, and silent otherwise (pipes, files, CI, an
 * MCP host), so scripts and logs see only the command's own output.
 */

export interface ProgressLine {
  /** Replaces the text (e.g. the current step). */
  update(text: string): void
  /** Clears the line; later updates are ignored. */
  done(): void
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream
  /** Whether to draw (default: the stream is a TTY and TERM is not `dumb`). */
  enabled?: boolean
  /** Redraw period for the elapsed time (default 1 s). */
  tickMs?: number
  now?: () => number
}

const SPINNER = ['|', '/', '-', '\\']

/** Whether progress should be drawn on `stream`. */
export function progressEnabled(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env.TERM !== 'dumb'
}

function elapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
}

export function progressLine(initial: string, options: ProgressOptions = {}): ProgressLine {
  const stream = options.stream ?? process.stderr
  if (!(options.enabled ?? progressEnabled(stream))) return { update: () => {}, done: () => {} }
  const now = options.now ?? Date.now
  const started = now()
  let text = initial
  let frame = 0
  let finished = false
  const draw = (): void => {
    const line = `${SPINNER[frame++ % SPINNER.length]} ${text} (${elapsed(now() - started)})`
    const columns = stream.columns || 100
    stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, columns - 1))}`)
  }
  const timer = setInterval(draw, options.tickMs ?? 1_000)
  timer.unref()
  draw()
  return {
    update: (next) => {
      if (finished) return
      text = next
      draw()
    },
    done: () => {
      if (finished) return
      finished = true
      clearInterval(timer)
      stream.write('\r\x1b[2K')
    }
  }
}
