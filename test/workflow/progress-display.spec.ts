import { afterEach, describe, expect, it } from 'vitest'
import { ProgressDisplay } from '../../src/cli/commands/workflow.js'

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

const term = process.env.TERM

afterEach(() => {
  process.env.TERM = term
})

describe('workflow run progress display', () => {
  it('redraws one bar in place on a TTY', () => {
    process.env.TERM = 'xterm'
    const { stream, written } = fakeStream(true)
    const display = new ProgressDisplay(stream)
    display.update({ progress: 1.5, total: 4, message: 'a succeeded; 1/4 steps done; running: b' })
    display.update({ progress: 4, total: 4, message: 'd succeeded; 4/4 steps done' })
    display.end()
    expect(written[0]).toBe('\r\x1b[2K[#########---------------] 38% a succeeded; 1/4 steps done; running: b')
    expect(written[1]).toBe('\r\x1b[2K[########################] 100% d succeeded; 4/4 steps done')
    expect(written[2]).toBe('\n')
  })

  it('prints one plain line per event elsewhere', () => {
    const { stream, written } = fakeStream(false)
    const display = new ProgressDisplay(stream)
    display.update({ progress: 1, total: 2, message: 'a succeeded; 1/2 steps done' })
    display.update({ progress: 1.5, total: 2, message: 'b started; 1/2 steps done; running: b' })
    display.end()
    expect(written).toEqual([
      'mcp-mesh: a succeeded; 1/2 steps done\n',
      'mcp-mesh: b started; 1/2 steps done; running: b\n'
    ])
  })
})
