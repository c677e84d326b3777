import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { warnIfExposed } from '../identity/permissions.js'
import { SWARM_KEY_BYTES, SWARM_KEY_ENCODING, SWARM_KEY_FILE, SWARM_KEY_HEADER } from './constants.js'
import { InvalidSwarmKeyError, SwarmKeyExistsError } from './errors.js'

/**
 * Private meshes: a pre-shared key in kubo's format, so a `swarm.key` file can
 * be copied between mcp-mesh homes and IPFS repos alike:
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 hex characters>
 * ```
 */

export function swarmKeyPath(home: string): string {
  return join(home, SWARM_KEY_FILE)
}

/** A new key in kubo's text format (trailing newline included). */
export function generateSwarmKey(): string {
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${randomBytes(SWARM_KEY_BYTES).toString('hex')}\n`
}

/** Checks the text format; returns the 32 key bytes. Only `/base16/` is accepted (as kubo writes it). */
export function parseSwarmKey(text: string, path = SWARM_KEY_FILE): Uint8Array {
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.trim())
  if (lines[0] !== SWARM_KEY_HEADER) throw new InvalidSwarmKeyError(path, `first line must be ${SWARM_KEY_HEADER}`)
  if (lines[1] !== SWARM_KEY_ENCODING) {
    throw new InvalidSwarmKeyError(
      path,
      `second line must be ${SWARM_KEY_ENCODING} (other encodings are not supported)`
    )
  }
  const hex = lines[2] ?? ''
  if (!new RegExp(`^[0-9a-fA-F]{${SWARM_KEY_BYTES * 2}}$`).test(hex)) {
    throw new InvalidSwarmKeyError(path, `third line must be ${SWARM_KEY_BYTES * 2} hex characters`)
  }
  if (lines.slice(3).some((line) => line !== '')) throw new InvalidSwarmKeyError(path, 'unexpected text after the key')
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/**
 * Reads `<home>/swarm.key`: the file's bytes (what `@libp2p/pnet` takes) when
 * it exists and is valid, `undefined` when there is none. A malformed key
 * fails loudly: silently running without pnet would leak into a public mesh.
 * A key other users can read is used, with a warning on stderr.
 */
export async function readSwarmKey(
  home: string,
  options: { warn?: (message: string) => void } = {}
): Promise<Uint8Array | undefined> {
  const path = swarmKeyPath(home)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InvalidSwarmKeyError(path, `cannot read: ${(err as Error).message}`)
  }
  // Anyone who can read the key can join the private mesh.
  await warnIfExposed(path, options.warn)
  parseSwarmKey(text, path)
  return new TextEncoder().encode(text)
}

/** A short, non-secret fingerprint to compare keys between homes (sha256 of the key bytes, 8 bytes hex). */
export async function swarmKeyFingerprint(key: Uint8Array): Promise<string> {
  const bytes = parseSwarmKey(new TextDecoder().decode(key))
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', Uint8Array.from(bytes)))
  return Buffer.from(digest.subarray(0, 8)).toString('hex')
}

/** Writes a new key to `<home>/swarm.key` with mode 0600; refuses to replace one unless `force`. */
export async function writeSwarmKey(home: string, options: { force?: boolean } = {}): Promise<string> {
  const path = swarmKeyPath(home)
  const text = generateSwarmKey()
  await mkdir(home, { recursive: true, mode: 0o700 })
  if (options.force === true) {
    const temp = `${path}.${process.pid}.tmp`
    await writeFile(temp, text, { mode: 0o600 })
    await rename(temp, path)
  } else {
    try {
      await writeFile(path, text, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SwarmKeyExistsError(path)
      throw err
    }
  }
  // The umask may have narrowed the mode further; it must never be wider.
  await chmod(path, 0o600)
  return path
}
