// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax under test
/**
 * The owner of a workflow is killed mid-run and restarted on the same home:
 * the workflow resumes from its journal and completes, and the steps that had
 * succeeded are not run again (counted in the nodes' execution logs). The step
 * running at the time of the crash runs on peer B: it keeps running there, and
 * the restarted owner re-leases it from B instead of running it again.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, expect, it } from 'vitest'
import {
  cleanup,
  createHome,
  createTempDir,
  type NodeProcess,
  resultText,
  spawnNode,
  tcpAddress,
  waitFor
} from '../helpers/index.js'
import { FAST_CATALOG, WORKFLOW_TOOLS } from './cluster.js'

afterEach(cleanup)

async function call(node: NodeProcess, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = (await node.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) throw new Error(`${name}: ${resultText(result)}`)
  return result
}

async function waitForTools(node: NodeProcess, names: string[]): Promise<void> {
  await waitFor(
    async () => {
      const listed = (await node.client.listTools()).tools.map((tool) => tool.name)
      return names.every((name) => listed.includes(name))
    },
    { timeoutMs: 20_000, intervalMs: 50, message: `${names.join(', ')} listed` }
  )
}

it('resumes a workflow after its owner is killed, without re-running succeeded steps', async () => {
  const dir = await createTempDir('mcp-mesh-wf-restart-')
  const logs = [join(dir, 'A.log'), join(dir, 'B.log')]
  const marker = join(dir, 'second.marker')
  const gate = join(dir, 'second.gate')

  const homeB = await createHome({ config: { tools: [WORKFLOW_TOOLS], ...FAST_CATALOG } })
  const b = await spawnNode({ home: homeB.dir, env: { MESH_TEST_NAME: 'B', WF_TEST_LOG: logs[1] } })
  const addrB = tcpAddress(await b.status())
  const peerB = (await b.status()).peerId
  const homeA = await createHome({ config: { tools: [WORKFLOW_TOOLS], ...FAST_CATALOG } })
  const startA = async (): Promise<NodeProcess> =>
    spawnNode({ home: homeA.dir, args: ['--bootstrap', addrB], env: { MESH_TEST_NAME: 'A', WF_TEST_LOG: logs[0] } })
  let a = await startA()
  try {
    await scenario()
  } catch (err) {
    // Both nodes' logs, for a failure that only shows on a loaded machine.
    throw new Error(
      `${(err as Error).message}\n--- A stderr:\n${a.stderr().slice(-4000)}\n--- B stderr:\n${b.stderr().slice(-4000)}`,
      {
        cause: err
      }
    )
  }

  async function scenario(): Promise<void> {
    await waitForTools(a, ['wf_value', 'wf_wait', 'wf_double'])

    const submitted = await call(a, 'workflow_submit', {
      document: {
        name: 'survives-restart',
        steps: [
          { id: 'first', tool: 'wf_double', args: { n: 5, label: 'first' }, placement: { peer: peerB } },
          {
            id: 'each',
            tool: 'wf_double',
            forEach: [1, 2, 3],
            args: { n: '${item}', label: 'each ${index}' },
            placement: { peer: peerB }
          },
          {
            id: 'second',
            tool: 'wf_wait',
            args: { marker, gate, label: 'second' },
            dependsOn: ['first', 'each'],
            // Running on B while the owner crashes: the restarted owner re-leases it from B.
            placement: { peer: peerB }
          },
          {
            id: 'third',
            tool: 'wf_value',
            args: { value: { $ref: 'steps.first.output.n' }, label: 'third' },
            dependsOn: ['second']
          }
        ],
        output: {
          first: '${steps.first.output.n}',
          each: { $ref: 'steps.each.output' },
          third: { $ref: 'steps.third.output.value' }
        }
      }
    })
    const { workflowId } = submitted.structuredContent as { workflowId: string }
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'started', {
      timeoutMs: 15_000,
      message: 'the second step to run on B'
    })

    // Crash the owner (no graceful shutdown), then start it again on the same home.
    await a.kill('SIGKILL')
    a = await startA()
    const resumed = (await call(a, 'workflow_status', { workflowId })).structuredContent as {
      state: string
      steps: Array<{ id: string; state: string }>
    }
    expect(resumed.state).toBe('running')
    expect(resumed.steps.find((s) => s.id === 'first')?.state).toBe('succeeded')
    expect(resumed.steps.find((s) => s.id === 'each')?.state).toBe('succeeded')

    await writeFile(gate, 'open')
    const result = (await a.client.callTool({
      name: 'workflow_result',
      arguments: { workflowId, wait: true, timeoutMs: 30_000 }
    })) as CallToolResult
    const outcome = result.structuredContent as { state: string; final: unknown }
    expect(outcome.state, resultText(result)).toBe('succeeded')
    expect(outcome.final).toEqual({
      first: 10,
      each: [
        { n: 2, node: 'B' },
        { n: 4, node: 'B' },
        { n: 6, node: 'B' }
      ],
      third: 10
    })

    const lines = (await Promise.all(logs.map(async (path) => readFile(path, 'utf8').catch(() => ''))))
      .join('\n')
      .split('\n')
      .filter((line) => line !== '')
    const count = (label: string): number => lines.filter((line) => line.endsWith(` ${label}`)).length
    // Succeeded before the crash: run exactly once.
    expect(count('first')).toBe(1)
    expect(count('each 0') + count('each 1') + count('each 2')).toBe(3)
    // Running on B during the crash: re-leased, not re-run.
    expect(count('second')).toBe(1)
    expect(count('third')).toBe(1)
  }
})
