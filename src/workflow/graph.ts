/**
 * The workflow DAG: cycle detection (with the path around the cycle) and
 * renderings as JSON, Graphviz dot and Mermaid.
 */

export interface GraphNode {
  id: string
  tool: string
  forEach?: boolean
  state?: string
  peers?: string[]
}

export interface GraphEdge {
  from: string
  to: string
}

export interface WorkflowGraph {
  name: string
  nodes: GraphNode[]
  edges: GraphEdge[]
}

export const GRAPH_FORMATS = ['json', 'dot', 'mermaid'] as const
export type GraphFormat = (typeof GRAPH_FORMATS)[number]

/**
 * Every elementary cycle found by one depth-first pass (at most one per
 * back edge), each as a path whose last element repeats its first.
 * `deps(id)` lists the steps `id` depends on.
 */
export function findCycles(ids: readonly string[], deps: (id: string) => readonly string[]): string[][] {
  const color = new Map<string, 0 | 1 | 2>()
  const stack: string[] = []
  const cycles: string[][] = []
  const seen = new Set<string>()
  // Iterative DFS, so a 10,000-step chain does not overflow the call stack.
  for (const start of ids) {
    if ((color.get(start) ?? 0) !== 0) continue
    const frames: Array<{ id: string; next: number; list: readonly string[] }> = []
    const enter = (id: string): void => {
      color.set(id, 1)
      stack.push(id)
      frames.push({ id, next: 0, list: deps(id) })
    }
    enter(start)
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!
      if (frame.next >= frame.list.length) {
        color.set(frame.id, 2)
        stack.pop()
        frames.pop()
        continue
      }
      const dep = frame.list[frame.next++]!
      const state = color.get(dep) ?? 0
      if (state === 0) enter(dep)
      else if (state === 1) {
        // dep is on the stack: the cycle is dep -> ... -> frame.id -> dep (in dependency order); print it as data flows.
        const from = stack.indexOf(dep)
        const path = [...stack.slice(from)].reverse()
        path.push(path[0]!)
        const key = [...path.slice(0, -1)].sort().join('\u0000')
        if (!seen.has(key)) {
          seen.add(key)
          cycles.push(path)
        }
      }
    }
  }
  return cycles
}

/** Step ids in an order where every step comes after its dependencies (document order among equals). */
export function topologicalOrder(ids: readonly string[], deps: (id: string) => readonly string[]): string[] {
  const remaining = new Map<string, number>()
  const dependents = new Map<string, string[]>()
  for (const id of ids) {
    const list = deps(id)
    remaining.set(id, list.length)
    for (const dep of list) {
      const users = dependents.get(dep) ?? []
      users.push(id)
      dependents.set(dep, users)
    }
  }
  const order: string[] = []
  const ready = ids.filter((id) => remaining.get(id) === 0)
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!
    order.push(id)
    for (const user of dependents.get(id) ?? []) {
      const left = remaining.get(user)! - 1
      remaining.set(user, left)
      if (left === 0) ready.push(user)
    }
  }
  return order
}

function dotString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

const DOT_COLORS: Record<string, string> = {
  pending: 'white',
  running: 'lightblue',
  succeeded: 'palegreen',
  failed: 'salmon',
  skipped: 'lightgrey',
  cancelled: 'khaki'
}

function label(node: GraphNode): string {
  const parts = [node.id, `${node.tool}${node.forEach === true ? ' (forEach)' : ''}`]
  if (node.state != null) parts.push(node.state)
  return parts.join('\n')
}

export function renderDot(graph: WorkflowGraph): string {
  const lines = [
    `digraph ${dotString(graph.name)} {`,
    '  rankdir=LR;',
    '  node [shape=box, style="rounded,filled", fillcolor=white];'
  ]
  for (const node of graph.nodes) {
    const fill = node.state != null ? `, fillcolor=${DOT_COLORS[node.state] ?? 'white'}` : ''
    lines.push(`  ${dotString(node.id)} [label=${dotString(label(node))}${fill}];`)
  }
  for (const edge of graph.edges) lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)};`)
  lines.push('}')
  return `${lines.join('\n')}\n`
}

function mermaidText(value: string): string {
  return value.replace(/"/g, '#quot;').replace(/\n/g, '<br/>')
}

export function renderMermaid(graph: WorkflowGraph): string {
  // Mermaid ids are positional (s0, s1, …): step ids may hold characters Mermaid reserves.
  const ids = new Map(graph.nodes.map((node, index) => [node.id, `s${index}`]))
  const lines = ['flowchart LR']
  for (const node of graph.nodes) {
    lines.push(`  ${ids.get(node.id)}["${mermaidText(label(node))}"]${node.state != null ? `:::${node.state}` : ''}`)
  }
  for (const edge of graph.edges) lines.push(`  ${ids.get(edge.from)} --> ${ids.get(edge.to)}`)
  if (graph.nodes.some((node) => node.state != null)) {
    for (const [state, color] of Object.entries(DOT_COLORS)) lines.push(`  classDef ${state} fill:${color}`)
  }
  return `${lines.join('\n')}\n`
}

export function renderGraph(graph: WorkflowGraph, format: GraphFormat): string | undefined {
  if (format === 'dot') return renderDot(graph)
  if (format === 'mermaid') return renderMermaid(graph)
  return undefined
}
