/**
 * The node's web dashboard, served on the HTTP endpoint (127.0.0.1) behind
 * its bearer token: peers with their tools, latency and load; tools by
 * provider; tasks, live and filterable by state; workflows as a live DAG;
 * health. One static page and a small script poll `/api/state`.
 *
 * A browser cannot send `Authorization` on a page load: open
 * `/dashboard?token=<token>` once (or type the token into the form the page
 * shows); the endpoint exchanges it for an HttpOnly, SameSite=Strict cookie.
 *
 * @example
 * ```ts
 * const http = new HttpEndpoint(front, view, { home, port, routes: dashboardRoutes(sources) })
 * ```
 *
 * @module
 */
import type { HttpRoute } from '../mcp/http.js'
import { DASHBOARD_PATH, DASHBOARD_SCRIPT_PATH, DASHBOARD_STYLE_PATH, STATE_PATH } from './constants.js'
import { DASHBOARD_CSS, DASHBOARD_HTML } from './page.js'
import { DASHBOARD_JS } from './script.js'
import { type DashboardSources, StateBuilder } from './state.js'

export * from './constants.js'
export type { DashboardSources, DashboardState, HealthView, NodeView, TaskRow, WorkflowView } from './state.js'
export { StateBuilder } from './state.js'

/** The dashboard's routes for the HTTP endpoint: the page, its script and style, and the JSON API. */
export function dashboardRoutes(sources: DashboardSources): HttpRoute[] {
  const state = new StateBuilder(sources)
  return [
    {
      path: DASHBOARD_PATH,
      page: true,
      handle: async () => ({ contentType: 'text/html; charset=utf-8', body: DASHBOARD_HTML })
    },
    {
      path: DASHBOARD_SCRIPT_PATH,
      handle: async () => ({ contentType: 'text/javascript; charset=utf-8', body: DASHBOARD_JS })
    },
    {
      path: DASHBOARD_STYLE_PATH,
      handle: async () => ({ contentType: 'text/css; charset=utf-8', body: DASHBOARD_CSS })
    },
    {
      path: STATE_PATH,
      handle: async () => ({ contentType: 'application/json', body: JSON.stringify(await state.snapshot()) })
    }
  ]
}
