// Where the launcher keeps V8's code cache for mcp-mesh and its dependencies
// (Node's module compile cache): inside the install, so it is warmed by
// `prepare` and removed with node_modules. Plain JavaScript (see mcp-mesh.js).
import { join } from 'node:path'

/** The compile cache directory of the install rooted at `root`. */
export function compileCacheDir(root) {
  return join(root, 'node_modules', '.cache', 'mcp-mesh', 'compile')
}
