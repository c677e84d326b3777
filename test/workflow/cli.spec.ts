// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax under test
/**
 * `mcp-mesh workflow run|status|list|cancel|graph|result` against a real
 * daemon, through its local API, as a user would run them.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, createTempDir, parseJson, runCli, startDaemon, waitFor } from '../helpers/index.js'
import { WORKFLOW_TOOLS } from './cluster.js'

let home: string
let dir: string

async function writeDocument(name: string, document: unknown): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, typeof document === 'string' ? document : JSON.stringify(document))
  return path
}

const DIAMOND = {
  name: 'cli-diamond',
  tags: ['cli'],
  inputs: { v: 1 },
  steps: [
    { id: 'a', tool: 'wf_value', args: { value: '${inputs.v}' } },
    { id: 'b', tool: 'wf_double', args: { n: { $ref: 'steps.a.output.value' } } },
    { id: 'c', tool: 'wf_double', args: { n: { $ref: 'steps.a.output.value' }, delayMs: 20 } },
    { id: 'd', tool: 'wf_join', args: { parts: ['${steps.b.output.n}', '${steps.c.output.n}'] } }
  ]
}

beforeAll(async () => {
  dir = await createTempDir('mcp-mesh-wf-cli-')
  home = (await createHome({ config: { tools: [WORKFLOW_TOOLS] } })).dir
  await startDaemon({ home, env: { MESH_TEST_NAME: 'D' } })
}, 60_000)

afterAll(cleanup)

describe('mcp-mesh workflow', () => {
  it('has --help for the group and every command', async () => {
    const group = await runCli(['workflow', '--help'])
    expect(group.code).toBe(0)
    for (const command of ['run', 'status', 'list', 'cancel', 'graph', 'result'])
      expect(group.stdout).toContain(command)
    const run = await runCli(['workflow', 'run', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('Exit 0 succeeded, 1 failed or cancelled, 2 rejected document')
  })

  it('run --progress: one line per step event on a non-TTY stderr, the result as JSON on stdout, exit 0', async () => {
    const file = await writeDocument('diamond.json', DIAMOND)
    const result = await runCli(['workflow', 'run', file, '--home', home, '--all', '--input', 'v=3', '--progress'])
    expect(result.code, result.stderr).toBe(0)
    const output = parseJson<{
      workflowId: string
      state: string
      final: unknown
      outputs: Record<string, unknown>
      steps: Array<{ id: string; state: string; peers: string[] }>
    }>(result)
    expect(output.state).toBe('succeeded')
    // A string that is exactly one ${…} keeps the value's type.
    expect(output.final).toEqual({ parts: [6, 6], count: 2, node: 'D' })
    expect(Object.keys(output.outputs)).toEqual(['a', 'b', 'c', 'd'])
    expect(output.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('mcp-mesh: '))
    expect(lines[0]).toMatch(/^mcp-mesh: workflow wf-[0-9a-f]{16} \(cli-diamond\) submitted: 4 steps$/)
    expect(lines.some((line) => /^mcp-mesh: a succeeded on \S+; 1\/4 steps done/.test(line))).toBe(true)
    expect(lines.some((line) => /d succeeded on \S+; 4\/4 steps done$/.test(line))).toBe(true)
    expect(result.stderr).not.toContain('\r')

    // status, list, result and graph of the finished workflow
    const status = await runCli(['workflow', 'status', output.workflowId, '--home', home])
    expect(status.code).toBe(0)
    expect(parseJson<{ state: string }>(status).state).toBe('succeeded')
    const list = await runCli(['workflow', 'list', '--home', home, '--state', 'succeeded', '--tag', 'cli'])
    expect(parseJson<{ workflows: Array<{ workflowId: string }> }>(list).workflows.map((w) => w.workflowId)).toContain(
      output.workflowId
    )
    const final = await runCli(['workflow', 'result', output.workflowId, '--home', home])
    expect(parseJson<{ final: unknown }>(final).final).toEqual(output.final)
    const dot = await runCli(['workflow', 'graph', output.workflowId, '--home', home, '--format', 'dot'])
    expect(dot.code).toBe(0)
    expect(dot.stdout).toMatch(/^digraph "cli-diamond" \{/)
    expect(dot.stdout).toContain('"a" -> "b";')
    expect(dot.stdout).toContain('fillcolor=palegreen')
  })

  it('run: exit 1 and the failure as JSON when the workflow fails', async () => {
    const file = await writeDocument('fails.json', {
      name: 'cli-fails',
      steps: [
        { id: 'ok', tool: 'wf_value', args: { value: 1 } },
        { id: 'bad', tool: 'wf_fail', args: { message: 'cli failure' }, dependsOn: ['ok'] }
      ]
    })
    const result = await runCli(['workflow', 'run', file, '--home', home])
    expect(result.code).toBe(1)
    const output = parseJson<{ state: string; errors: Record<string, string> }>(result)
    expect(output.state).toBe('failed')
    expect(output.errors.bad).toContain('cli failure')
    expect(result.stderr).toMatch(/workflow wf-[0-9a-f]{16} failed: step "bad" failed: .*cli failure/)
    // Not a terminal and no --progress: no progress lines, only the outcome.
    expect(result.stderr).not.toMatch(/submitted: \d+ steps|steps done/)
  })

  it('run: exit 2 with every problem listed when the document is rejected, and for bad input files', async () => {
    const file = await writeDocument('cycle.json', {
      name: 'cli-cycle',
      steps: [
        { id: 'x', tool: 'wf_value', args: { value: { $ref: 'steps.y.output.value' } } },
        { id: 'y', tool: 'wf_value', args: { value: { $ref: 'steps.x.output.value' } } },
        { id: 'z', tool: 'no_such_tool' }
      ]
    })
    const result = await runCli(['workflow', 'run', file, '--home', home])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('workflow rejected, 2 problems')
    expect(result.stderr).toContain('- step "x": dependency cycle x -> y -> x')
    expect(result.stderr).toContain('- step "z": unknown tool "no_such_tool"')
    expect(parseJson<{ problems: unknown[] }>(result).problems).toHaveLength(2)

    const yaml = await writeDocument('flow.yaml', 'name: x\n')
    const yamlResult = await runCli(['workflow', 'run', yaml, '--home', home])
    expect(yamlResult.code).toBe(2)
    expect(yamlResult.stderr).toContain('YAML is not supported')
    const notJson = await writeDocument('broken.json', '{"name":')
    expect((await runCli(['workflow', 'run', notJson, '--home', home])).code).toBe(2)
    expect((await runCli(['workflow', 'status', 'not-an-id', '--home', home])).code).toBe(2)
  })

  it('run --detach returns at once; cancel stops the running workflow', async () => {
    const marker = join(dir, 'detach.marker')
    const file = await writeDocument('long.json', {
      name: 'cli-long',
      steps: [
        { id: 'wait', tool: 'wf_wait', args: { marker } },
        { id: 'after', tool: 'wf_value', args: { value: 1 }, dependsOn: ['wait'] }
      ]
    })
    const detached = await runCli(['workflow', 'run', file, '--home', home, '--detach'])
    expect(detached.code, detached.stderr).toBe(0)
    const { workflowId, state } = parseJson<{ workflowId: string; state: string }>(detached)
    expect(state).toBe('running')
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'started', {
      message: 'the step to start'
    })
    const cancelled = await runCli(['workflow', 'cancel', workflowId, '--home', home, '--reason', 'from the test'])
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(parseJson(cancelled)).toMatchObject({ state: 'cancelled', cancelled: ['wait'], skipped: ['after'] })
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'aborted', {
      message: 'the step to be aborted'
    })
  })

  it('graph draws a document file without a running node', async () => {
    const file = await writeDocument('graph.json', DIAMOND)
    const idle = (await createHome()).dir
    const mermaid = await runCli(['workflow', 'graph', file, '--home', idle])
    expect(mermaid.code).toBe(0)
    expect(mermaid.stdout.split('\n')).toEqual(
      expect.arrayContaining(['flowchart LR', '  s0["a<br/>wf_value"]', '  s0 --> s1', '  s2 --> s3'])
    )
    const json = await runCli(['workflow', 'graph', file, '--home', idle, '--format', 'json'])
    expect(parseJson<{ edges: unknown[] }>(json).edges).toHaveLength(4)
  })
})
