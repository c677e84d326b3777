import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { track } from './cleanup.js'
import { parseJson, runCli } from './cli.js'
import { FIXTURES_DIR, NODE_BIN } from './paths.js'

export type JsonObject = Record<string, unknown>

export interface TestHome {
  /** The temporary directory holding the home (removed by cleanup). */
  readonly root: string
  /** The node home, as passed to `--home`. */
  readonly dir: string
  readonly configPath: string
  /** The PeerId `mcp-mesh init` created. */
  readonly peerId: string
  /** Reads config.json. */
  readConfig(): Promise<JsonObject>
  /**
   * Deep-merges `patch` into config.json (objects merge, arrays and scalars
   * replace; `undefined` deletes a key).
   */
  patchConfig(patch: JsonObject): Promise<void>
  /** Overwrites config.json with raw text (for invalid-config tests). */
  writeRawConfig(text: string): Promise<void>
  remove(): Promise<void>
}

export interface CreateHomeOptions {
  /**
   * Keep the config safe for tests: listen on 127.0.0.1 only, mDNS off
   * (default true). Flags from spawnNode say the same; this covers callers
   * that start a node without them.
   */
  loopback?: boolean
  /** Patch applied to the fresh config. */
  config?: JsonObject
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Deep merge used by `patchConfig`: objects merge, everything else replaces, `undefined` deletes. */
export function mergeJson(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete out[key]
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = mergeJson(out[key] as JsonObject, value)
    else out[key] = value
  }
  return out
}

/** A temporary directory under os.tmpdir(), removed by cleanup. */
export async function createTempDir(prefix = 'mcp-mesh-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  track(`temp dir ${dir}`, async () => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Creates a fresh home with the real `mcp-mesh init --home`, under a temp
 * directory that cleanup removes.
 *
 * @example
 * const home = await createHome()
 * const node = await spawnNode({ home: home.dir })
 */
export async function createHome(options: CreateHomeOptions = {}): Promise<TestHome> {
  const root = await createTempDir()
  const dir = join(root, 'home')
  const result = await runCli(['init', '--home', dir])
  if (result.code !== 0) throw new Error(`mcp-mesh init failed (${result.code}): ${result.stderr}`)
  const { peerId, config: configPath } = parseJson<{ peerId: string; config: string }>(result)

  const readConfig = async (): Promise<JsonObject> => JSON.parse(await readFile(configPath, 'utf8')) as JsonObject
  const writeRawConfig = async (text: string): Promise<void> => {
    await writeFile(configPath, text, { mode: 0o600 })
  }
  const patchConfig = async (patch: JsonObject): Promise<void> => {
    await writeRawConfig(`${JSON.stringify(mergeJson(await readConfig(), patch), null, 2)}\n`)
  }
  const home: TestHome = {
    root,
    dir,
    configPath,
    peerId,
    readConfig,
    patchConfig,
    writeRawConfig,
    remove: async () => rm(root, { recursive: true, force: true })
  }
  if (options.loopback !== false) {
    await patchConfig({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      discovery: { mdns: { enabled: false } }
    })
  }
  if (options.config != null) await patchConfig(options.config)
  return home
}

/**
 * A config `servers` entry for the fixture MCP server that speaks 2026-07-28
 * (its tool answers `input_required`), under the prefix `modern.`.
 */
export function modernServer(extra: JsonObject = {}): JsonObject {
  return {
    command: NODE_BIN,
    args: [join(FIXTURES_DIR, 'modern-server.mjs')],
    prefix: 'modern.',
    negotiate: true,
    ...extra
  }
}
