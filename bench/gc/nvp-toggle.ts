/**
 * Preloaded into a bench's nodes (`--import`): SIGUSR2 turns V8's
 * `--trace-gc-nvp` on, the next one off, so that a detached node's log
 * (`<home>/node.log`, its stdout) holds one line per collection of the
 * measured window only. Never loaded by the node itself.
 */
import { setFlagsFromString } from 'node:v8'

let tracing = false
process.on('SIGUSR2', () => {
  tracing = !tracing
  setFlagsFromString(tracing ? '--trace-gc-nvp' : '--no-trace-gc-nvp')
})
