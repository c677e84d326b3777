import { Option } from 'commander'

/** `--home` and `--config`, as the built-in commands define them. */
export function homeOption(): Option {
  return new Option('--home <dir>', 'node home directory (default: $MCP_MESH_HOME or ~/.mcp-mesh)')
}

export function configOption(): Option {
  return new Option('--config <file>', 'config file (default: <home>/config.json)')
}
