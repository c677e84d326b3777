import { stat } from 'node:fs/promises'
import { notice } from '../util/logger.js'

/**
 * Secret files of a home (the config holding the identity key, `swarm.key`,
 * `http.token`) must be readable by their owner only, as ssh insists for its
 * keys. A file that group or other users can access is reported, not refused:
 * the node still starts, with a warning that says how to fix it.
 */

/** Bits that must be clear on a secret file: any access by group or other users. */
export const EXPOSED_MODE_BITS = 0o077
/** The mode every secret file the node writes gets. */
export const SECRET_FILE_MODE = 0o600

export interface FilePermissions {
  path: string
  exists: boolean
  /** Permission bits (`mode & 0o777`), when the file exists. */
  mode?: number
  /** Group or other users may access the file. Always false on Windows (POSIX modes do not apply). */
  exposed: boolean
}

/** `0644`-style text for permission bits. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`
}

export async function filePermissions(path: string): Promise<FilePermissions> {
  try {
    const info = await stat(path)
    const mode = info.mode & 0o777
    return { path, exists: true, mode, exposed: process.platform !== 'win32' && (mode & EXPOSED_MODE_BITS) !== 0 }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, exists: false, exposed: false }
    throw err
  }
}

/** The warning printed for an exposed file. */
export function exposedWarning(permissions: FilePermissions): string {
  return `warning: ${permissions.path} is readable by other users (mode ${formatMode(permissions.mode ?? 0)}); run chmod 600 ${permissions.path}`
}

/** Paths already warned about on stderr by this process (a file read by several services warns once). */
const warned = new Set<string>()

function noticeOnce(path: string): (message: string) => void {
  return (message) => {
    if (warned.has(path)) return
    warned.add(path)
    notice(message)
  }
}

/**
 * Checks a secret file's mode and warns when group or other users can access
 * it: through `warn` when given, else once per process on stderr. A missing
 * file is not an error here.
 */
export async function warnIfExposed(path: string, warn?: (message: string) => void): Promise<FilePermissions> {
  const permissions = await filePermissions(path)
  if (permissions.exposed) (warn ?? noticeOnce(path))(exposedWarning(permissions))
  return permissions
}
