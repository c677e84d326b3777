/**
 * Reproduces the promotion found in issue 12's sixth pass (bench/RESULTS.md):
 * a long-lived `Map` whose size goes 0 -> 64 -> 0, with an object per entry,
 * against a dictionary-mode object doing the same. Run with V8's GC trace:
 *
 *   node --trace-gc-nvp dist/bench/gc/map-churn.js map   # promoted=... per scavenge, full GCs
 *   node --trace-gc-nvp dist/bench/gc/map-churn.js object
 *
 * Bounded: 40,000 rounds of 64 entries, in memory only.
 */
const mode = process.argv[2] === 'object' ? 'object' : 'map'
const ROUNDS = 40_000
const IN_FLIGHT = 64

const map = new Map<number, number[]>()
const object: Record<number, number[]> = {}
// Age the containers first, as a node's long-lived maps are.
for (let i = 0; i < 300_000; i++) new Array<number>(60).fill(i)

const started = performance.now()
let id = 0
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < IN_FLIGHT; k++, id++) {
    const entry = new Array<number>(60).fill(id)
    if (mode === 'map') map.set(id, entry)
    else object[id] = entry
  }
  for (let key = id - IN_FLIGHT; key < id; key++) {
    if (mode === 'map') map.delete(key)
    else delete object[key]
  }
}
process.stderr.write(`${mode}: ${(performance.now() - started).toFixed(0)} ms\n`)
