import { readdir, readFile } from 'node:fs/promises'

/** Parent pid of `pid` from /proc (Linux), or undefined when it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[1])
  } catch {
    return undefined
  }
}

/** Direct children of `pid` (Linux /proc), e.g. the MCP servers a node runs. */
export async function childPids(pid: number): Promise<number[]> {
  const entries = await readdir('/proc')
  const children: number[] = []
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        if ((await parentOf(Number(entry))) === pid) children.push(Number(entry))
      })
  )
  return children.sort((a, b) => a - b)
}

/** The command line of `pid`, as one space-separated string ('' when it is gone). */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim()
  } catch {
    return ''
  }
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
