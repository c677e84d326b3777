import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { hostAllowed, originAllowed } from './http-guard.js'
import { headerValue } from './http-io.js'
import { bearerToken, tokenMatches } from './http-token.js'

/** A read-only resource served beside MCP (metrics, the dashboard), behind the same checks and token. */
export interface HttpRoute {
  path: string
  /**
   * A page a browser opens: `?token=<token>` exchanges the bearer token for
   * an HttpOnly SameSite=Strict cookie (then redirects to drop it from the
   * address bar), and a request without either gets a form asking for it.
   */
  page?: boolean
  handle(url: URL): Promise<HttpRouteResponse>
}

export interface HttpRouteResponse {
  status?: number
  contentType: string
  body: string | Uint8Array
}

/** The cookie a page login sets; its value is derived from the token, never the token itself. */
export const SESSION_COOKIE = 'mcp_mesh_session'

/** Headers of every route response: nothing cached, no framing, scripts only from this origin. */
const ROUTE_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

/**
 * Serves a route: the same Host, Origin and token checks as MCP; GET only; a
 * page may log in with `?token=`. `token` is undefined when the endpoint runs
 * without auth (then routes refuse everyone: they fail closed).
 */
export async function serveRoute(
  route: HttpRoute,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  port: number,
  token: string | undefined
): Promise<void> {
  const cookie = token == null ? undefined : sessionCookieValue(token)
  if (!hostAllowed(req.headers.host, port)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden: invalid Host header')
    return
  }
  const origin = headerValue(req.headers.origin)
  if (!originAllowed(origin)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end(`Forbidden: Origin ${origin} is not a loopback origin`)
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed')
    return
  }
  const presented = url.searchParams.get('token')
  if (route.page === true && presented != null) {
    if (token != null && tokenMatches(token, presented)) {
      res
        .writeHead(303, {
          ...ROUTE_HEADERS,
          location: route.path,
          'set-cookie': `${SESSION_COOKIE}=${cookie}; HttpOnly; SameSite=Strict; Path=/`
        })
        .end()
    } else {
      res.writeHead(401, { ...ROUTE_HEADERS, 'content-type': 'text/html; charset=utf-8' }).end(loginPage(true))
    }
    return
  }
  const bearerOk = token != null && tokenMatches(token, bearerToken(headerValue(req.headers.authorization)))
  const cookieOk = cookie != null && tokenMatches(cookie, cookieValue(req.headers.cookie, SESSION_COOKIE))
  if (!bearerOk && !cookieOk) {
    if (route.page === true) {
      res.writeHead(401, { ...ROUTE_HEADERS, 'content-type': 'text/html; charset=utf-8' }).end(loginPage(false))
    } else {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="mcp-mesh"' })
        .end('Unauthorized: send Authorization: Bearer <token> (print the token with `mcp-mesh http-token`)')
    }
    return
  }
  const response = await route.handle(url)
  res.writeHead(response.status ?? 200, { ...ROUTE_HEADERS, 'content-type': response.contentType })
  res.end(req.method === 'HEAD' ? undefined : response.body)
}

/** The session cookie's value for `token`: a hash, so the cookie never holds the token itself. */
export function sessionCookieValue(token: string): string {
  return createHash('sha256').update(`mcp-mesh-session:${token}`).digest('base64url')
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** The page shown to a browser without the cookie: it asks for the token (sent once, exchanged for the cookie). */
function loginPage(wrong: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcp-mesh: sign in</title></head>
<body><h1>mcp-mesh</h1>
<p>${wrong ? 'That token is not valid. ' : ''}Enter this node's HTTP token (print it with <code>mcp-mesh http-token</code>).</p>
<form method="get"><input name="token" type="password" autocomplete="off" aria-label="token" size="50"> <button type="submit">Open</button></form>
</body></html>`
}
