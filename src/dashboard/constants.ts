/** Where the node serves the dashboard and its JSON API (on the HTTP endpoint). */
export const DASHBOARD_PATH = '/dashboard'
export const DASHBOARD_SCRIPT_PATH = '/dashboard/app.js'
export const DASHBOARD_STYLE_PATH = '/dashboard/app.css'
export const STATE_PATH = '/api/state'

/** Tasks in one state snapshot (newest first); the page filters them by state. */
export const STATE_MAX_TASKS = 200
/** The queue is read in pages of this size (its maximum), and at most this many pages per snapshot. */
export const STATE_TASK_PAGE_SIZE = 500
export const STATE_MAX_TASK_PAGES = 100
/** Workflows (newest first) whose DAG the snapshot carries. */
export const STATE_MAX_WORKFLOWS = 20
/** Health checks are slow-ish (a datastore write): one result is reused this long. */
export const HEALTH_CACHE_MS = 5_000
/** A health check that takes longer is reported as failed. */
export const HEALTH_TIMEOUT_MS = 3_000
/** The page's default poll interval (config `dashboard.refreshMs`). */
export const DEFAULT_REFRESH_MS = 2_000
