import { MeshError } from '../util/errors.js'

/** The config (file, environment or flags) is invalid; `path` is the field path. */
export class ConfigError extends MeshError {
  static override readonly code = 'ERR_CONFIG'
  constructor(
    readonly source: string,
    readonly problems: Array<{ path: string; reason: string }>
  ) {
    super(`invalid config (${source}):\n${problems.map((p) => `  ${p.path}: ${p.reason}`).join('\n')}`)
  }
}

export class HomeNotInitializedError extends MeshError {
  static override readonly code = 'ERR_HOME_NOT_INITIALIZED'
  constructor(readonly home: string) {
    super(`no mcp-mesh home at ${home}; run \`mcp-mesh init --home ${home}\``)
  }
}

export class HomeExistsError extends MeshError {
  static override readonly code = 'ERR_HOME_EXISTS'
  constructor(readonly home: string) {
    super(`${home} already holds an identity; refusing to overwrite it (use --force to replace the identity)`)
  }
}
