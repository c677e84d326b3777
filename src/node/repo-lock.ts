import { open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LOCK_FILE } from '../config/defaults.js'

export type LockResult = { acquired: true; release: () => Promise<void> } | { acquired: false; holderPid: number }

/** Whether a process with this pid exists (one owned by another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function held(path: string): LockResult {
  let released = false
  return {
    acquired: true,
    release: async () => {
      if (released) return
      released = true
      // Only our own lock: a node that took it over keeps it.
      const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
      if (pid === process.pid) await rm(path, { force: true })
    }
  }
}

/** The pid in a home's lock file, when one is there. */
export async function lockHolder(home: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(join(home, LOCK_FILE), 'utf8').catch(() => ''), 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

export interface AcquireOptions {
  /**
   * Take the lock over from this live process (the `start` that launched
   * this detached node and holds the lock for it until it runs): the lock
   * file is replaced atomically with our pid.
   */
  takeOverFrom?: number
}

/**
 * One node per home: the lock file holds the owner's pid and is created with
 * O_EXCL, so two `start`s racing on one home cannot both win. A lock left by
 * a dead process is taken over.
 */
export async function acquireRepoLock(home: string, options: AcquireOptions = {}): Promise<LockResult> {
  const path = join(home, LOCK_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return held(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
    if (pid === options.takeOverFrom && pid !== process.pid) {
      const temp = `${path}.${process.pid}.tmp`
      await writeFile(temp, `${process.pid}\n`, { mode: 0o600 })
      await rename(temp, path)
      return held(path)
    }
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
      return { acquired: false, holderPid: pid }
    await rm(path, { force: true })
  }
  throw new Error(`cannot acquire ${path}`)
}
