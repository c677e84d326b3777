// MCP SDK 2.4.0 (@modelcontextprotocol/server and /client, each bundling its own copy
// of the core): `request()` of a spec method builds its result validator with
// `codecResultValidator(codec, method)` on every request, and that function
// first probes the era codec with `codec.validateResult(method, undefined)` to
// learn whether the method has a result schema in this era. For a method that
// has one, the probe is a failing zod parse of `undefined`: a ZodError, its
// issues and their message string, for every request the SDK client sends (a
// node calling a shared MCP server's tool, at 64 in flight: about 4-5 µs of a
// call's 84 in a CPU profile, `_getMessage`, `newError`, `init` under
// `triState` under `codecResultValidator`). The validator it returns depends
// on nothing but the codec and the method (the codecs are the SDK's era
// constants; `validate` keeps no state), so the patch keeps one per codec and
// method once the probe has said the method is in the era. A method that is
// not gets no entry and is probed again, as before (the caller turns that
// into its TypeError): the cache holds at most the era registry's methods.
// mcp-mesh's own tools/call fast path to peers (`src/mesh/fast-client-call.ts`)
// already keeps its validator per codec; this covers every other SDK request:
// the shared servers' calls, tools/list, a server's input requests.
// Upstream: to be filed against packages/core (`codecResultValidator` probes
// on every request); no issue about it was found.
const edits = [
  {
    from: 'function codecResultValidator(codec, method) {\n\tconst probe = codec.validateResult(method, void 0);\n\tif (!probe.ok && probe.reason === "not-in-era") return void 0;\n\treturn { "~standard": {',
    to: 'const codecResultValidators = /* @__PURE__ */ new WeakMap(); // mcp-mesh patch: one validator per codec and method\nfunction codecResultValidator(codec, method) {\n\tlet known = codecResultValidators.get(codec);\n\tif (known === void 0) { known = /* @__PURE__ */ new Map(); codecResultValidators.set(codec, known); }\n\tconst cached = known.get(method);\n\tif (cached !== void 0) return cached;\n\tconst probe = codec.validateResult(method, void 0);\n\tif (!probe.ok && probe.reason === "not-in-era") return void 0;\n\tconst validator = { "~standard": {'
  },
  {
    from: '\t\t\treturn { issues: [{ message: outcome.reason === "invalid" ? outcome.message : `not-in-era: ${method}` }] };\n\t\t}\n\t} };\n}',
    to: '\t\t\treturn { issues: [{ message: outcome.reason === "invalid" ? outcome.message : `not-in-era: ${method}` }] };\n\t\t}\n\t} };\n\tknown.set(method, validator);\n\treturn validator;\n}'
  }
]

export default [
  { package: '@modelcontextprotocol/server', versions: /^2\.4\.0$/, file: 'dist/src-DdvbAHrR.mjs', edits },
  { package: '@modelcontextprotocol/client', versions: /^2\.4\.0$/, file: 'dist/src-CeKsbNLO.mjs', edits }
]
