import { DASHBOARD_SCRIPT_PATH, DASHBOARD_STYLE_PATH } from './constants.js'

/**
 * The dashboard: one static page, a stylesheet and a small vanilla script
 * (no framework, no build step, nothing loaded from the network). The
 * script polls `/api/state` and redraws; workflow DAGs are drawn as SVG
 * from the graph data (the same graph the node renders as Mermaid).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcp-mesh dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_STYLE_PATH}">
</head>
<body>
<header>
  <h1>mcp-mesh</h1>
  <div id="node" data-testid="node"></div>
  <div id="health" data-testid="health" class="badge">…</div>
  <div id="updated" class="muted"></div>
</header>
<main>
  <section>
    <h2>Peers</h2>
    <table data-testid="peers"><thead><tr><th>peer</th><th>connected</th><th>tools</th><th>load</th><th>latency</th><th>last advert</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Tools by provider</h2>
    <table data-testid="tools"><thead><tr><th>tool</th><th>providers</th><th>calls</th><th>mean latency</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Tasks <span id="task-counts" class="muted" data-testid="task-counts"></span></h2>
    <label>state <select id="task-filter" data-testid="task-filter">
      <option value="">all</option><option>queued</option><option>running</option><option>succeeded</option>
      <option>failed</option><option>cancelled</option><option>dead</option>
    </select></label>
    <table data-testid="tasks"><thead><tr><th>task</th><th>tool</th><th>state</th><th>priority</th><th>attempts</th><th>worker</th><th>took / age</th><th>workflow</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Workflows</h2>
    <div id="workflows" data-testid="workflows"></div>
  </section>
  <section>
    <h2>Health</h2>
    <table data-testid="health-checks"><thead><tr><th>subsystem</th><th>ok</th><th>detail</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="${DASHBOARD_SCRIPT_PATH}"></script>
</body>
</html>
`

export const DASHBOARD_CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --wait: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 1rem; align-items: baseline; padding: .75rem 1.25rem; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem; padding: 1rem 1.25rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
code, .id { font-family: ui-monospace, monospace; font-size: 12px; white-space: nowrap; }
.muted { color: var(--muted); }
.badge { padding: .1rem .5rem; border-radius: 1rem; color: #fff; background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
.state-succeeded { color: var(--ok); } .state-failed, .state-dead { color: var(--bad); }
.state-running { color: var(--run); } .state-queued, .state-pending { color: var(--wait); }
.state-cancelled, .state-skipped { color: var(--muted); }
.workflow { margin-bottom: 1rem; }
.workflow svg { display: block; max-width: 100%; }
svg .node rect { stroke: #8c959f; stroke-width: 1; rx: 6; fill: #fff; }
svg .node.succeeded rect { fill: #dafbe1; stroke: var(--ok); }
svg .node.failed rect { fill: #ffebe9; stroke: var(--bad); }
svg .node.running rect { fill: #ddf4ff; stroke: var(--run); }
svg .node.pending rect { fill: #fff8c5; stroke: var(--wait); }
svg .node.cancelled rect, svg .node.skipped rect { fill: #eaeef2; }
svg text { font: 12px system-ui, sans-serif; }
svg .edge { stroke: #8c959f; fill: none; marker-end: url(#arrow); }
`
