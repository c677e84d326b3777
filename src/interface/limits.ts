/**
 * Longest tool timeout (metadata, and a peer's advert of it): timers derived
 * from it stay in range, and a caller that waits for any tool waits this long.
 * Here, not in src/tools/meta.ts, so the CLI's light paths need not load zod.
 */
export const MAX_TOOL_TIMEOUT_MS = 24 * 3_600_000
