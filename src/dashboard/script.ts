import { STATE_PATH } from './constants.js'

/**
 * The dashboard's browser script, served as `/dashboard/app.js`: plain
 * ES2020 that polls the JSON API and redraws with DOM calls (text is always
 * set as textContent, never parsed as HTML). Workflow DAGs are laid out in
 * layers (longest path from a root) and drawn as SVG.
 */
export const DASHBOARD_JS = `'use strict'
;(() => {
  const SVG = 'http://www.w3.org/2000/svg'
  const $ = (selector) => document.querySelector(selector)
  let filter = ''
  let last

  function el(tag, props, children) {
    const node = document.createElement(tag)
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'text') node.textContent = value
      else node.setAttribute(key, value)
    }
    for (const child of children || []) node.append(child)
    return node
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag)
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value))
    if (text != null) node.textContent = text
    return node
  }
  function short(id) { return id && id.length > 16 ? '…' + id.slice(-8) : (id || '') }
  function ms(value) {
    if (value == null) return ''
    if (value < 1000) return Math.round(value) + ' ms'
    if (value < 60000) return (value / 1000).toFixed(1) + ' s'
    return Math.round(value / 60000) + ' min'
  }
  function rows(table, list, cells) {
    const body = $(table + ' tbody')
    body.replaceChildren(...list.map((item) => {
      const row = el('tr', cells.attrs ? cells.attrs(item) : {})
      for (const cell of cells.render(item)) row.append(cell instanceof Node ? el('td', {}, [cell]) : el('td', { text: String(cell) }))
      return row
    }))
  }

  function layout(graph) {
    const deps = new Map(graph.nodes.map((n) => [n.id, []]))
    for (const e of graph.edges) if (deps.has(e.to)) deps.get(e.to).push(e.from)
    const depth = new Map()
    const visit = (id, seen) => {
      if (depth.has(id)) return depth.get(id)
      if (seen.has(id)) return 0
      seen.add(id)
      const d = Math.max(-1, ...deps.get(id).map((p) => visit(p, seen))) + 1
      depth.set(id, d)
      return d
    }
    for (const n of graph.nodes) visit(n.id, new Set())
    const layers = []
    for (const n of graph.nodes) (layers[depth.get(n.id)] ||= []).push(n)
    const W = 150, H = 46, GX = 50, GY = 18
    const pos = new Map()
    layers.forEach((layer, x) => layer.forEach((n, y) => pos.set(n.id, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })))
    const height = 20 + Math.max(...layers.map((l) => l.length)) * (H + GY)
    return { pos, W, H, width: 20 + layers.length * (W + GX), height }
  }

  function dag(workflow) {
    const graph = workflow.graph
    const { pos, W, H, width, height } = layout(graph)
    const root = svg('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, 'data-testid': 'dag', role: 'img' })
    const defs = svg('defs')
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto' })
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8c959f' }))
    defs.append(marker)
    root.append(defs)
    for (const e of graph.edges) {
      const a = pos.get(e.from), b = pos.get(e.to)
      if (a == null || b == null) continue
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2
      root.append(svg('path', { class: 'edge', d: 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 }))
    }
    for (const n of graph.nodes) {
      const p = pos.get(n.id)
      const state = n.state || 'pending'
      const g = svg('g', { class: 'node ' + state, 'data-step': n.id, 'data-state': state, transform: 'translate(' + p.x + ',' + p.y + ')' })
      g.append(svg('rect', { width: W, height: H }))
      g.append(svg('text', { x: 8, y: 18 }, n.id + (n.forEach ? ' (forEach)' : '')))
      g.append(svg('text', { x: 8, y: 36, class: 'state-' + state }, n.tool + ' · ' + state))
      g.append(svg('title', {}, n.id + ': ' + n.tool + ', ' + state + (n.peers && n.peers.length ? ' on ' + n.peers.join(', ') : '')))
      root.append(g)
    }
    return root
  }

  function render(state) {
    last = state
    const node = state.node
    $('#node').textContent = short(node.peerId) + ' · mesh ' + node.meshName + ' · v' + node.version + ' · up ' + ms(node.uptimeMs) + ' · ' + node.sessions + ' sessions'
    const health = $('#health')
    health.textContent = state.health.healthy ? 'healthy' : 'unhealthy'
    health.className = 'badge ' + (state.health.healthy ? 'ok' : 'bad')
    $('#updated').textContent = 'updated ' + new Date(state.at).toLocaleTimeString()
    rows('[data-testid=peers]', state.peers, {
      attrs: (p) => ({ 'data-peer': p.peerId }),
      render: (p) => [el('span', { class: 'id', title: p.peerId, text: short(p.peerId) }), p.connected ? 'yes' : 'no',
        p.tools.join(', '), p.load ? p.load.inFlight + ' running, ' + p.load.queued + ' queued / ' + p.load.maxConcurrency : '',
        p.latencyMs != null ? ms(p.latencyMs) : '', p.lastAdvertAgoMs != null ? ms(p.lastAdvertAgoMs) + ' ago' : '']
    })
    const latency = new Map()
    for (const l of state.latency) {
      const prev = latency.get(l.tool) || { calls: 0, total: 0 }
      latency.set(l.tool, { calls: prev.calls + l.calls, total: prev.total + l.meanMs * l.calls })
    }
    rows('[data-testid=tools]', state.tools, {
      attrs: (t) => ({ 'data-tool': t.name }),
      render: (t) => {
        const l = latency.get(t.name)
        return [t.name, t.providers.map((p) => p === 'local' ? 'local' : short(p)).join(', '), l ? l.calls : '', l && l.calls ? ms(l.total / l.calls) : '']
      }
    })
    $('[data-testid=task-counts]').textContent = Object.entries(state.tasks.counts).map(([k, v]) => v + ' ' + k).join(', ')
    const tasks = state.tasks.rows.filter((t) => filter === '' || t.state === filter)
    rows('[data-testid=tasks]', tasks, {
      attrs: (t) => ({ 'data-task': t.id, 'data-state': t.state }),
      render: (t) => [el('span', { class: 'id', text: short(t.id), title: t.id }), t.tool, el('span', { class: 'state-' + t.state, text: t.state }),
        t.priority, t.attempts, t.worker ? el('span', { class: 'id', text: short(t.worker), title: t.worker }) : '', t.finishedAt != null ? ms(t.finishedAt - t.createdAt) : ms(state.at - t.createdAt) + ' ago', t.workflowId ? short(t.workflowId) + ' / ' + (t.stepId || '') : '']
    })
    $('#workflows').replaceChildren(...state.workflows.map((w) => {
      const box = el('div', { class: 'workflow', 'data-workflow': w.workflowId, 'data-state': w.state }, [
        el('div', {}, [el('strong', { text: w.name }), el('span', { class: 'muted', text: ' ' + short(w.workflowId) + ' · ' }), el('span', { class: 'state-' + w.state, text: w.state }),
          el('span', { class: 'muted', text: ' · ' + w.steps + ' steps' + (w.error ? ' · ' + w.error : '') })])
      ])
      if (w.graph) box.append(dag(w))
      return box
    }))
    rows('[data-testid=health-checks]', state.health.checks, {
      attrs: (c) => ({ 'data-subsystem': c.subsystem, 'data-ok': String(c.ok) }),
      render: (c) => [c.subsystem, c.ok ? 'ok' : 'FAIL', c.detail]
    })
  }

  async function poll() {
    let delay = (last && last.refreshMs) || 2000
    try {
      const response = await fetch('${STATE_PATH}', { credentials: 'same-origin', cache: 'no-store' })
      if (response.status === 401) { location.reload(); return }
      if (!response.ok) throw new Error('HTTP ' + response.status)
      render(await response.json())
    } catch (err) {
      $('#updated').textContent = 'update failed: ' + err.message
      delay = Math.min(delay * 2, 30000)
    }
    setTimeout(poll, delay)
  }

  $('#task-filter').addEventListener('change', (event) => {
    filter = event.target.value
    if (last) render(last)
  })
  poll()
})()
`
