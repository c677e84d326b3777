import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { progressLine } from '../../src/cli/progress.js'
import {
  BIN_PATH,
  cleanup,
  createHome,
  NODE_BIN,
  REPO_ROOT,
  runCli,
  startDaemon,
  trackPid,
  untrackPid
} from '../helpers/index.js'

// Long CLI operations show a progress line on a terminal and stay quiet otherwise.
afterEach(cleanup)

const SCRIPT = '/usr/bin/script'
const CLEAR_LINE = '\r\x1b[2K'

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = []
  const stream = {
    isTTY,
    columns: 80,
    write: (chunk: string) => {
      written.push(chunk)
      return true
    }
  } as unknown as NodeJS.WriteStream
  return { stream, written }
}

/** Runs `mcp-mesh <args>` under a pseudo-terminal (util-linux `script`); stdout and stderr arrive merged. */
async function runOnTty(args: string[]): Promise<{ code: number | null; output: string }> {
  const quoted = [NODE_BIN, BIN_PATH, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
  const child = spawn(SCRIPT, ['-qec', quoted, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { ...process.env, TERM: 'xterm' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  trackPid(child.pid)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr.resume()
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  try {
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    return { code, output }
  } finally {
    clearTimeout(timer)
    untrackPid(child.pid)
  }
}

describe('progress line', () => {
  it('draws and redraws in place on a TTY, then clears the line', () => {
    const { stream, written } = fakeStream(true)
    let now = 1_000
    const progress = progressLine('doctor: connecting', { stream, enabled: true, tickMs: 60_000, now: () => now })
    now = 3_500
    progress.update('doctor: reading status')
    progress.done()
    progress.update('ignored after done')
    expect(written).toEqual([
      `${CLEAR_LINE}| doctor: connecting (0s)`,
      `${CLEAR_LINE}/ doctor: reading status (2s)`,
      CLEAR_LINE
    ])
  })

  it('writes nothing when stderr is not a terminal', () => {
    const { stream, written } = fakeStream(false)
    const progress = progressLine('doctor: connecting', { stream })
    progress.update('doctor: reading status')
    progress.done()
    expect(written).toEqual([])
  })
})

describe.skipIf(!existsSync(SCRIPT))('task submit --wait and doctor', () => {
  it('show progress on a pseudo-terminal and none through pipes', async () => {
    const home = await createHome()
    await startDaemon({ home: home.dir })

    const submit = ['task', 'submit', 'echo', '--args', '{"message":"tty"}', '--wait', '--home', home.dir]
    const onTty = await runOnTty(submit)
    expect(onTty.code, onTty.output).toBe(0)
    expect(onTty.output).toContain(`${CLEAR_LINE}| task `)
    expect(onTty.output).toMatch(/\| task [0-9a-f-]+ submitted; waiting for its result \(\d+s\)/)
    expect(onTty.output).toContain('"message": "tty"')
    const piped = await runCli(submit)
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stderr).toBe('')
    expect(JSON.parse(piped.stdout)).toMatchObject({ state: 'succeeded' })

    const doctorArgs = ['doctor', '--home', home.dir, '--timeout', '1000']
    const doctorTty = await runOnTty(doctorArgs)
    expect(doctorTty.output).toContain("doctor: reading the node's status")
    expect(doctorTty.output).toContain(CLEAR_LINE)
    expect(doctorTty.output).toContain('mcp-mesh doctor: peer')
    const doctorPiped = await runCli(doctorArgs)
    expect(doctorPiped.stdout).toContain('mcp-mesh doctor: peer')
    expect(doctorPiped.stderr).not.toContain('doctor:')
    expect(doctorPiped.stderr).not.toContain('\r')
    expect(doctorPiped.stdout).not.toContain('\r')
  })
})
