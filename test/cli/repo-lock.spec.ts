import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { acquireRepoLock, lockHolder } from '../../src/node/repo-lock.js'
import { cleanup, createTempDir } from '../helpers/index.js'

afterEach(cleanup)

// The parent of the test worker: a live process that is not us.
const OTHER = process.ppid

describe('repo lock hand-over (start -> its detached node)', () => {
  it('takes over a live holder only when named by takeOverFrom, atomically', async () => {
    const home = await createTempDir()
    const path = join(home, 'repo.lock')
    await writeFile(path, `${OTHER}\n`)
    expect(await acquireRepoLock(home)).toEqual({ acquired: false, holderPid: OTHER })
    expect(await acquireRepoLock(home, { takeOverFrom: OTHER + 1 })).toEqual({ acquired: false, holderPid: OTHER })

    const lock = await acquireRepoLock(home, { takeOverFrom: OTHER })
    expect(lock.acquired).toBe(true)
    expect(await lockHolder(home)).toBe(process.pid)
    if (lock.acquired) await lock.release()
    expect(await lockHolder(home)).toBeUndefined()
  })

  it('release leaves a lock another process took over', async () => {
    const home = await createTempDir()
    const lock = await acquireRepoLock(home)
    expect(lock.acquired).toBe(true)
    await writeFile(join(home, 'repo.lock'), `${OTHER}\n`)
    if (lock.acquired) await lock.release()
    expect((await readFile(join(home, 'repo.lock'), 'utf8')).trim()).toBe(String(OTHER))
  })
})
