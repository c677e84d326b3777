import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SECRET_FILE_MODE, warnIfExposed } from '../identity/permissions.js'
import { HTTP_TOKEN_BYTES, HTTP_TOKEN_FILE } from './constants.js'
import { InvalidHttpTokenError } from './errors.js'

/**
 * The Streamable HTTP endpoint's bearer token: 32 random bytes, base64url,
 * created on first use in `<home>/http.token` (mode 0600) and kept across
 * restarts, so a client configured once keeps working.
 */

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43,512}$/
const NO_LINK_CODES = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'])

export function httpTokenPath(home: string): string {
  return join(home, HTTP_TOKEN_FILE)
}

export function generateHttpToken(): string {
  return randomBytes(HTTP_TOKEN_BYTES).toString('base64url')
}

export interface HttpToken {
  token: string
  path: string
  /** The file was written by this call. */
  created: boolean
}

/**
 * Reads `<home>/http.token`, creating it when missing. An existing file that
 * group or other users can read is used, with a warning on stderr.
 */
export async function loadHttpToken(home: string, warn?: (message: string) => void): Promise<HttpToken> {
  const path = httpTokenPath(home)
  await mkdir(home, { recursive: true, mode: 0o700 })
  const fresh = generateHttpToken()
  // Written whole to a private temp file, then hard-linked into place: link fails when the
  // file exists, so two processes racing on a new home agree on one token, and no reader
  // ever sees a half-written file.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, `${fresh}\n`, { mode: SECRET_FILE_MODE, flag: 'wx' })
    await chmod(temp, SECRET_FILE_MODE)
    await link(temp, path).catch(async (err: unknown) => {
      // Filesystems without hard links: exclusive create, as close as they allow.
      if (!NO_LINK_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw err
      await writeFile(path, `${fresh}\n`, { mode: SECRET_FILE_MODE, flag: 'wx' })
      await chmod(path, SECRET_FILE_MODE)
    })
    return { token: fresh, path, created: true }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await rm(temp, { force: true })
  }
  await warnIfExposed(path, warn)
  const token = (await readFile(path, 'utf8')).trim()
  if (!TOKEN_PATTERN.test(token)) throw new InvalidHttpTokenError(path)
  return { token, path, created: false }
}

/**
 * Constant-time check of a presented token: both sides are hashed first, so
 * neither the content nor the length of the expected token leaks through timing.
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented == null) return false
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(presented).digest()
  return timingSafeEqual(a, b)
}

/** The token of an `Authorization: Bearer <token>` header value, if it has that form. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')
  return match?.[1]
}
