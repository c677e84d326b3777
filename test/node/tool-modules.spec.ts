import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, expect, it } from 'vitest'
import { cleanup, createHome, FIXTURES_DIR, resultText, spawnNode } from '../helpers/index.js'

afterAll(cleanup)

it('loads tools from an ES module named in config `tools`, and serves them', async () => {
  const home = await createHome({ config: { tools: [join(FIXTURES_DIR, 'tools', 'text-tools.mjs')] } })
  const node = await spawnNode({ home: home.dir })
  const { tools } = await node.client.listTools()
  const wordCount = tools.find((t) => t.name === 'word_count')
  expect(wordCount).toMatchObject({
    title: 'Word count',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
    outputSchema: { type: 'object', properties: { words: { type: 'integer' } } }
  })
  expect(tools.some((t) => t.name === 'reverse')).toBe(true)

  const counted = (await node.client.callTool({
    name: 'word_count',
    arguments: { text: 'a mesh of peers' }
  })) as CallToolResult
  expect(counted.structuredContent).toEqual({ words: 4 })
  const reversed = (await node.client.callTool({ name: 'reverse', arguments: { text: 'abc' } })) as CallToolResult
  expect(reversed.structuredContent).toEqual({ text: 'cba' })
  expect((await node.status()).tools.byCategory.text).toBe(2)
})

it('resolves relative module paths against the home', async () => {
  const home = await createHome()
  await mkdir(join(home.dir, 'tools'))
  // The home is outside the repo, so the module imports zod by URL.
  const zod = import.meta.resolve('zod')
  await writeFile(
    join(home.dir, 'tools', 'upper.mjs'),
    [
      `import { z } from ${JSON.stringify(zod)}`,
      'export const upper = {',
      "  name: 'upper',",
      "  description: 'Upper-cases a string.',",
      '  inputSchema: z.object({ text: z.string() }),',
      '  handler: async ({ text }) => text.toUpperCase()',
      '}',
      ''
    ].join('\n')
  )
  await home.patchConfig({ tools: ['tools/upper.mjs'] })
  const node = await spawnNode({ home: home.dir })
  const result = (await node.client.callTool({ name: 'upper', arguments: { text: 'mesh' } })) as CallToolResult
  expect(resultText(result)).toBe('MESH')
})

it('gives a tool module the zod inside the bundle when it imports this package’s own zod (one zod per node)', async () => {
  const zod = import.meta.resolve('zod')
  const origin = async (env: Record<string, string | undefined>): Promise<string> => {
    const home = await createHome()
    await writeFile(
      join(home.dir, 'origin.mjs'),
      [
        `import { z } from ${JSON.stringify(zod)}`,
        'export const origin = {',
        "  name: 'zod_origin',",
        "  description: 'Where this module’s zod came from.',",
        '  inputSchema: z.object({}),',
        '  outputSchema: z.object({ url: z.string() }),',
        `  handler: async () => ({ url: import.meta.resolve(${JSON.stringify(zod)}) })`,
        '}',
        ''
      ].join('\n')
    )
    await home.patchConfig({ tools: ['origin.mjs'] })
    const node = await spawnNode({ home: home.dir, env })
    const result = (await node.client.callTool({ name: 'zod_origin', arguments: {} })) as CallToolResult
    return (result.structuredContent as { url: string }).url
  }
  expect(await origin({})).toMatch(/\/dist\/bundle\/cli\/zod\.js$/)
  // The modules tsc wrote import node_modules' zod themselves: nothing to share, nothing redirected.
  expect(await origin({ MCP_MESH_BUNDLE: '0' })).toBe(zod)
})
