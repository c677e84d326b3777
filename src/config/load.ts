import { constants } from 'node:fs'
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { z } from 'zod'
import type { StoredIdentity } from '../identity/identity.js'
import { SECRET_FILE_MODE } from '../identity/permissions.js'
import { CONFIG_FILE } from './defaults.js'
import { ConfigError, HomeExistsError, HomeNotInitializedError } from './errors.js'
import { bootstrapAddress, configSchema, type MeshConfig, multiaddrString } from './schema.js'

/** Command-line values; each overrides the environment and the file. */
export interface ConfigFlags {
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  httpPort?: number
  /** `--metrics PORT`: serve `/metrics` alone on 127.0.0.1:PORT (bearer token). */
  metricsPort?: number
  meshName?: string
  /** `--relay`: act as a circuit-relay-v2 server. */
  relay?: boolean
}

export interface LoadedConfig {
  home: string
  configPath: string
  config: MeshConfig
}

export function resolveHome(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = flag ?? env.MCP_MESH_HOME ?? join(homedir(), '.mcp-mesh')
  return resolve(home)
}

export function configPathFor(home: string, flag?: string): string {
  return flag != null ? resolve(flag) : join(home, CONFIG_FILE)
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK)
    return true
  } catch {
    return false
  }
}

function zodProblems(error: z.ZodError, prefix = ''): Array<{ path: string; reason: string }> {
  return error.issues.map((issue) => {
    let path = prefix
    for (const part of issue.path) {
      path += typeof part === 'number' ? `[${part}]` : path === '' ? String(part) : `.${String(part)}`
    }
    return { path: path === '' ? '(root)' : path, reason: issue.message }
  })
}

/** Parses a config document; every problem is reported with its field path. */
export function parseConfig(raw: unknown, source: string): MeshConfig {
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) throw new ConfigError(source, zodProblems(parsed.error))
  return parsed.data
}

async function readConfigDocument(path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(path, [{ path: '(file)', reason: `cannot read: ${(err as Error).message}` }])
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(path, [{ path: '(file)', reason: `not valid JSON: ${(err as Error).message}` }])
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(path, [{ path: '(root)', reason: 'must be a JSON object' }])
  }
  return raw as Record<string, unknown>
}

function checkAddresses(values: string[], source: string, schema: z.ZodType): string[] {
  const problems: Array<{ path: string; reason: string }> = []
  values.forEach((value, index) => {
    const result = schema.safeParse(value)
    if (!result.success) problems.push(...zodProblems(result.error, `${source}[${index}]`))
  })
  if (problems.length > 0) throw new ConfigError(source, problems)
  return values
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/**
 * Loads the effective config with precedence flags > environment > file >
 * defaults. The file is validated on its own first, so a problem names where
 * it came from (the file path, the variable or the flag).
 */
export async function loadConfig(
  home: string,
  options: { configFile?: string; flags?: ConfigFlags; env?: NodeJS.ProcessEnv } = {}
): Promise<LoadedConfig> {
  const configPath = configPathFor(home, options.configFile)
  if (!(await exists(configPath))) {
    if (options.configFile != null) {
      throw new ConfigError(configPath, [{ path: '(file)', reason: 'does not exist' }])
    }
    throw new HomeNotInitializedError(home)
  }
  const document = await readConfigDocument(configPath)
  const config = parseConfig(document, configPath)
  const env = options.env ?? process.env
  const flags = options.flags ?? {}

  if (env.MCP_MESH_BOOTSTRAP != null && env.MCP_MESH_BOOTSTRAP.trim() !== '') {
    config.bootstrap = checkAddresses(splitList(env.MCP_MESH_BOOTSTRAP), 'MCP_MESH_BOOTSTRAP', bootstrapAddress)
  }
  if (env.MCP_MESH_LISTEN != null && env.MCP_MESH_LISTEN.trim() !== '') {
    config.addresses.listen = checkAddresses(splitList(env.MCP_MESH_LISTEN), 'MCP_MESH_LISTEN', multiaddrString)
  }
  if (flags.listen != null && flags.listen.length > 0) {
    config.addresses.listen = checkAddresses(flags.listen, '--listen', multiaddrString)
  }
  if (flags.bootstrap != null && flags.bootstrap.length > 0) {
    config.bootstrap = checkAddresses(flags.bootstrap, '--bootstrap', bootstrapAddress)
  }
  if (flags.mdns === false) config.discovery.mdns.enabled = false
  if (flags.httpPort != null) config.mcp.httpPort = flags.httpPort
  if (flags.metricsPort != null) config.metrics.port = flags.metricsPort
  if (flags.relay === true) config.relay.server = true
  if (flags.meshName != null) {
    config.mesh.name = parseConfig({ mesh: { name: flags.meshName } }, '--mesh').mesh.name
  }
  // Relative module paths are relative to the home, like kubo's plugin dir.
  config.tools = config.tools.map((path) => (isAbsolute(path) ? path : resolve(home, path)))
  if (config.identity == null) {
    throw new ConfigError(configPath, [
      { path: 'identity', reason: 'missing; run `mcp-mesh init --force` to create one' }
    ])
  }
  return { home, configPath, config }
}

/** Writes JSON atomically (temp file + rename) with owner-only permissions. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: SECRET_FILE_MODE })
  // A temp file left by a crashed run keeps its old mode through writeFile; the config holds the private key.
  await chmod(temp, SECRET_FILE_MODE)
  await rename(temp, path)
}

export interface InitResult {
  home: string
  configPath: string
  identity: StoredIdentity
  created: boolean
}

/**
 * Creates the home: an Ed25519 identity plus a config file with defaults.
 * An existing identity is kept unless `force` is set; with `force` only the
 * identity is replaced and the rest of the config survives.
 */
export async function initHome(
  home: string,
  options: { force?: boolean; configFile?: string } = {}
): Promise<InitResult> {
  const configPath = configPathFor(home, options.configFile)
  await mkdir(home, { recursive: true, mode: 0o700 })
  let document: Record<string, unknown> = {}
  if (await exists(configPath)) {
    document = await readConfigDocument(configPath)
    if (document.identity != null && options.force !== true) throw new HomeExistsError(home)
  }
  // libp2p's crypto is only needed here; importing it lazily keeps `start` quick.
  const { createIdentity } = await import('../identity/identity.js')
  const identity = await createIdentity()
  const defaults = parseConfig({}, 'defaults')
  const next = { ...defaults, ...document, identity }
  parseConfig(next, configPath)
  await writeJsonFile(configPath, next)
  return { home, configPath, identity, created: true }
}

export async function homeIsInitialized(home: string, configFile?: string): Promise<boolean> {
  return exists(configPathFor(home, configFile))
}
