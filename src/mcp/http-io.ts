import type { IncomingMessage, ServerResponse } from 'node:http'
import { MAX_HTTP_BODY_BYTES } from './constants.js'

/** Node's request and response objects to and from the web ones the SDK's handlers take. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

export function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers()
  for (const [key, value] of Object.entries(req.headers)) {
    if (value == null) continue
    if (Array.isArray(value)) for (const item of value) headers.append(key, item)
    else headers.set(key, value)
  }
  return headers
}

export async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_HTTP_BODY_BYTES) return 'too-large'
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * Writes a web Response to Node's response. A JSON error answer the SDK gave
 * with `id: null` although the request had an id (e.g. a refused protocol
 * version header) gets the request's id: every error names its request.
 */
export async function writeResponse(
  response: Response,
  res: ServerResponse,
  id: string | number | null
): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    headers[key] = value
  })
  if (id != null && response.status >= 400 && headers['content-type']?.startsWith('application/json') === true) {
    const text = await response.text()
    const fixed = withRequestId(text, id)
    delete headers['content-length']
    res.writeHead(response.status, headers).end(fixed)
    return
  }
  res.writeHead(response.status, headers)
  if (response.body == null) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  res.on('close', () => {
    void reader.cancel().catch(() => {})
  })
  // SSE responses stay open; flush each chunk as it comes.
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
    if (done) break
    if (value != null && !res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve))
  }
  res.end()
}

function withRequestId(text: string, id: string | number): string {
  try {
    const message = JSON.parse(text) as { id?: unknown; error?: unknown }
    if (message == null || typeof message !== 'object' || message.error == null || message.id != null) return text
    return JSON.stringify({ ...message, id })
  } catch {
    return text
  }
}
