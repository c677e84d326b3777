import {
  type CallToolRequest,
  type CallToolResult,
  type Client,
  DEFAULT_REQUEST_TIMEOUT_MSEC,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type Progress,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode
} from '@modelcontextprotocol/client'
import { ENVELOPE_META_KEYS, MODERN_ERA } from '../mcp/constants.js'
import { meshLogger } from '../util/logger.js'
import { P2PStreamTransport } from './p2p-transport.js'
import { quickModernToolResult } from '../mcp/quick-tool-call.js'
import { sdkVersion } from '../mcp/sdk-version.js'
import { isPlainObject } from '../util/object.js'

const log = meshLogger('mcp+p2p:fast-call')

/**
 * The calling side's tools/call fast path: `client.callTool(params, options)`
 * to a peer over its pooled `/mcp+p2p` stream, negotiated to MCP 2026-07-28,
 * as the SDK client does it, minus the SDK's per-message machinery (its
 * request bookkeeping maps, the result schema's per-call probe, the
 * x-mcp-header scan, the progress and response funnels and the one-turn
 * delay after a notification).
 *
 * What runs is the SDK's own, read from the client: the request's `_meta`
 * envelope (`_envelopeOutbound`, after the progress token as the SDK adds
 * it, so the request has the same keys in the same order), the era codec's
 * `decodeResult` (`resultType` removal, the wire result schema) and
 * `validateResult`, the client's `input_required` engine
 * (`_resolveNonCompleteResult`, whose retries go through the SDK), the
 * output-schema validator from the client's cached tool list, the
 * notification schema for progress. Errors, timeouts (`timeout`,
 * `resetTimeoutOnProgress`, `maxTotalTimeout`), abort and cancellation are
 * the SDK's, down to their codes and messages.
 *
 * Skipped on purpose: the x-mcp-header scan (its headers are for HTTP; the
 * `/mcp+p2p` transport never sends them). Anything else (another era, a
 * closed stream, options this code does not handle, an SDK whose internals
 * are not the ones read here) goes to `client.callTool` as before.
 */

/** SEP-2243's header mismatch: the SDK client refreshes its tool list and retries once. */
const HEADER_MISMATCH_ERROR_CODE = -32020

export type CallToolParams = CallToolRequest['params']

/** The options of `client.callTool` the fast path handles; any other goes to the SDK. */
export interface PeerCallOptions {
  signal?: AbortSignal
  timeout?: number
  onprogress?: (progress: Progress) => void
  resetTimeoutOnProgress?: boolean
  maxTotalTimeout?: number
  /**
   * Not an SDK option: `signal` aborts no later than `timeout` ms from now
   * (a deadline the caller made before the call), so the call sets no
   * timeout timer of its own; the signal's abort cancels it as the timer
   * would have. Ignored with `resetTimeoutOnProgress` (the timer is reset
   * on progress), and by the SDK's own `callTool`.
   */
  signalDeadline?: boolean
}
const HANDLED_OPTIONS = new Set([
  'signal',
  'timeout',
  'onprogress',
  'resetTimeoutOnProgress',
  'maxTotalTimeout',
  'signalDeadline'
])

type Validation = { ok: true; value: unknown } | { ok: false; reason: string; message?: string }
type Decoded =
  | { kind: 'complete'; result: Record<string, unknown> }
  | { kind: 'invalid'; error: Error }
  | { kind: string; [key: string]: unknown }

interface WireCodec {
  era: string
  decodeResult(method: string, raw: unknown): Decoded
  validateResult(method: string, raw: unknown): Validation
  validateNotification(method: string, raw: unknown): Validation
}

type Compiled =
  | { ok: true; validator: (value: unknown) => { valid: boolean; errorMessage?: string } }
  | { ok: false; compileError: unknown }

interface StandardValidator {
  '~standard': { version: 1; vendor: string; validate(value: unknown): { value: unknown } | { issues: unknown[] } }
}

/** The parts of the SDK's Client (Protocol) this path uses, read at runtime. */
interface ClientInternals {
  _negotiatedProtocolVersion?: string
  _options?: { enforceStrictCapabilities?: boolean }
  _negotiatedWireCodec?: () => WireCodec
  _envelopeOutbound?: <T>(message: T) => T
  _resolveNonCompleteResult?: (decoded: Decoded, flow: Record<string, unknown>) => Promise<unknown>
  _requestWithSchemaViaCodec?: (
    codec: WireCodec,
    request: { method: string; params?: unknown },
    schema: StandardValidator,
    options: unknown
  ) => Promise<unknown>
  _compileOutputValidator?: (tool: unknown) => Compiled | undefined
  _cache?: {
    outputValidator(name: string, compile: (tool: unknown) => Compiled | undefined): Promise<Compiled | undefined>
    evict(method: string): Promise<void>
  }
  _reportStoreError?: (error: unknown) => void
  _onerror?: (error: Error) => void
}

/**
 * The client SDK release whose 2026-07-28 tools/call result schemas were
 * read for this shortcut: `decodeResult` parses the raw result with the wire
 * schema (a loose object: `_meta`, `resultType: string`, `content`,
 * `structuredContent`, `isError`) only to validate it, then `validateResult`
 * parses it without `resultType` with the lifted schema (the same loose
 * object less `resultType`). For a result whose `resultType` is "complete",
 * the first parse succeeds exactly when the second does, so the second alone
 * decides; when it refuses, the full decode runs and gives the SDK's own
 * error. Another release gets the full decode.
 */
const WIRE_PARSE_IMPLIED_BY = '2.4.0'
const wireParseImplied = sdkVersion('@modelcontextprotocol/client') === WIRE_PARSE_IMPLIED_BY

/** codecResultValidator of the SDK, for tools/call: one per codec (the SDK builds it, and probes it, per call). */
const validators = new WeakMap<WireCodec, StandardValidator | null>()

function resultValidator(codec: WireCodec): StandardValidator | undefined {
  let validator = validators.get(codec)
  if (validator === undefined) {
    const probe = codec.validateResult('tools/call', undefined)
    validator =
      !probe.ok && probe.reason === 'not-in-era'
        ? null
        : {
            '~standard': {
              version: 1,
              vendor: 'mcp-wire-codec',
              validate(value: unknown) {
                const outcome = codec.validateResult('tools/call', value)
                if (outcome.ok) return { value: outcome.value }
                return {
                  issues: [{ message: outcome.reason === 'invalid' ? outcome.message : 'not-in-era: tools/call' }]
                }
              }
            }
          }
    validators.set(codec, validator)
  }
  return validator ?? undefined
}

/** What the fast path needs of a client, or undefined when the call must go through the SDK. */
function fastable(
  client: Client,
  options: PeerCallOptions | undefined
):
  | { internals: ClientInternals; transport: P2PStreamTransport; codec: WireCodec; schema: StandardValidator }
  | undefined {
  const transport = client.transport
  if (!(transport instanceof P2PStreamTransport) || transport.closed) return undefined
  const internals = client as unknown as ClientInternals
  if (internals._negotiatedProtocolVersion !== MODERN_ERA || internals._options?.enforceStrictCapabilities === true) {
    return undefined
  }
  if (options != null) for (const key in options) if (!HANDLED_OPTIONS.has(key)) return undefined
  const codec = internals._negotiatedWireCodec?.()
  if (
    codec?.era !== MODERN_ERA ||
    internals._envelopeOutbound == null ||
    internals._resolveNonCompleteResult == null ||
    internals._requestWithSchemaViaCodec == null ||
    internals._compileOutputValidator == null ||
    internals._cache == null ||
    internals._reportStoreError == null
  ) {
    return undefined
  }
  const schema = resultValidator(codec)
  return schema == null ? undefined : { internals, transport, codec, schema }
}

/**
 * `client.callTool(params, options)` for a peer's pooled client: the fast
 * path when it can do exactly what the SDK would, else the SDK.
 */
export async function callPeerTool(
  client: Client,
  params: CallToolParams,
  options?: PeerCallOptions
): Promise<CallToolResult> {
  const fast = fastable(client, options)
  if (fast == null) return (await client.callTool(params, sdkOptions(options))) as CallToolResult
  const { internals, codec, schema } = fast
  const { compile, report } = storeCallbacks(client, internals)
  // The SDK's `outputValidator(...).catch(report)`, without the promise `.catch` adds.
  const pending = internals._cache?.outputValidator(params.name, compile)
  let compiled: Compiled | undefined
  try {
    compiled = await pending
  } catch (error) {
    compiled = report(error)
  }
  const assertCompiled = (): void => {
    if (compiled === undefined || compiled.ok) return
    const err = compiled.compileError
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 200)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Tool '${params.name}' has an invalid outputSchema: ${message}`
    )
  }
  assertCompiled()
  let result: Record<string, unknown>
  try {
    result = (await request(client, fast, params, options)) as Record<string, unknown>
  } catch (error) {
    if (!(error instanceof ProtocolError) || error.code !== HEADER_MISMATCH_ERROR_CODE) throw error
    // As the SDK client: refresh the tool list once and send again (through the SDK).
    const refresh = { signal: options?.signal, timeout: options?.timeout, cacheMode: 'refresh' as const }
    await internals._cache?.evict('tools/list')
    await client.listTools(undefined, refresh).catch(report)
    compiled = await internals._cache?.outputValidator(params.name, compile).catch(report)
    assertCompiled()
    result = (await internals._requestWithSchemaViaCodec?.call(
      client,
      codec,
      { method: 'tools/call', params },
      schema,
      options
    )) as Record<string, unknown>
  }
  const validator = compiled?.ok === true ? compiled.validator : undefined
  if (validator != null) {
    if (result.structuredContent === undefined && result.isError !== true) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidRequest,
        `Tool ${params.name} has an output schema but did not return structured content`
      )
    }
    if (result.structuredContent !== undefined && result.isError !== true) {
      try {
        const validation = validator(result.structuredContent)
        if (!validation.valid) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Structured content does not match the tool's output schema: ${validation.errorMessage}`
          )
        }
      } catch (error) {
        if (error instanceof ProtocolError) throw error
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Failed to validate structured content: ${error instanceof Error ? error.message : String(error)}`
        )
      }
    }
  }
  return result as CallToolResult
}

/** The options as the SDK's `callTool` takes them (without `signalDeadline`). */
function sdkOptions(options: PeerCallOptions | undefined): PeerCallOptions | undefined {
  if (options?.signalDeadline === undefined) return options
  const { signalDeadline: _ours, ...sdk } = options
  return sdk
}

interface StoreCallbacks {
  compile: (tool: unknown) => Compiled | undefined
  report: (error: unknown) => undefined
}

/** The client's output-validator compile and store-error callbacks, made once per client (not per call). */
const callbacks = new WeakMap<Client, StoreCallbacks>()

function storeCallbacks(client: Client, internals: ClientInternals): StoreCallbacks {
  let made = callbacks.get(client)
  if (made == null) {
    made = {
      compile: (tool) => internals._compileOutputValidator?.call(client, tool),
      report: (error) => void internals._reportStoreError?.call(client, error)
    }
    callbacks.set(client, made)
  }
  return made
}

function formatIssue(issue: { message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }): string {
  if (issue.path == null || issue.path.length === 0) return issue.message
  return `${issue.path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.')}: ${issue.message}`
}

/**
 * The SDK's `_requestWithSchemaViaCodec` for one tools/call, on the
 * transport's direct requests. Not an async function: the call's own
 * promise, its timer and abort listener released as it settles (`finish`).
 */
function request(
  client: Client,
  fast: NonNullable<ReturnType<typeof fastable>>,
  params: CallToolParams,
  options: PeerCallOptions | undefined
): Promise<unknown> {
  const { internals, transport, codec, schema } = fast
  const signal = options?.signal
  const onprogress = options?.onprogress
  const flowStartedAt = Date.now()
  let onAbort: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  const { promise, resolve, reject } = Promise.withResolvers<unknown>()
  try {
    // The stream may have closed while the output validator was looked up (as in the SDK).
    if (client.transport == null || transport.closed) throw new Error('Not connected')
    if (signal?.aborted) {
      const reason: unknown = signal.reason
      throw reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason))
    }
    let done = false
    const call = transport.call(
      (id) => {
        const message: JSONRPCRequest = { method: 'tools/call', params, jsonrpc: '2.0', id }
        if (onprogress != null) message.params = { ...params, _meta: { ...params._meta, progressToken: id } }
        return (internals._envelopeOutbound?.call(client, message) as JSONRPCRequest | undefined) ?? message
      },
      onprogress != null ? (notification) => queueMicrotask(() => progressed(notification)) : undefined
    )
    const finish = (): boolean => {
      if (done) return false
      done = true
      call.forget()
      clearTimeout(timer)
      if (onAbort != null) signal?.removeEventListener('abort', onAbort)
      return true
    }
    const cancel = (reason: unknown): void => {
      if (!finish()) return
      const cancelled = internals._envelopeOutbound?.call(client, {
        jsonrpc: '2.0' as const,
        method: 'notifications/cancelled',
        params: { requestId: call.id, reason: String(reason) }
      })
      transport
        .send(cancelled as JSONRPCNotification)
        .catch((error: unknown) => internals._onerror?.call(client, new Error(`Failed to send cancellation: ${error}`)))
      reject(reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason)))
    }
    const timeout = options?.timeout ?? DEFAULT_REQUEST_TIMEOUT_MSEC
    const onTimeout = (): void => cancel(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout }))
    const startTime = Date.now()
    const progressed = (raw: JSONRPCNotification): void => {
      if (done) return
      const outcome = codec.validateNotification('notifications/progress', liftEnvelope(raw))
      if (!outcome.ok) {
        const problem =
          outcome.reason === 'invalid'
            ? outcome.message
            : 'No wire schema for notifications/progress in the resolved era'
        internals._onerror?.call(client, new Error(`Uncaught error in notification handler: Error: ${problem}`))
        return
      }
      if (options?.resetTimeoutOnProgress === true) {
        const totalElapsed = Date.now() - startTime
        const maxTotalTimeout = options.maxTotalTimeout
        if (maxTotalTimeout && totalElapsed >= maxTotalTimeout) {
          // The SDK gives up without cancelling the request.
          if (finish()) {
            reject(
              new SdkError(SdkErrorCode.RequestTimeout, 'Maximum total timeout exceeded', {
                maxTotalTimeout,
                totalElapsed
              })
            )
          }
          return
        }
        clearTimeout(timer)
        timer = setTimeout(onTimeout, timeout)
      }
      const { progressToken: _token, ...progress } = (outcome.value as { params: Record<string, unknown> }).params
      onprogress?.(progress as unknown as Progress)
    }
    onAbort = () => cancel(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    // The caller's deadline (signalDeadline) fires first: no timer of the call's own.
    if (options?.signalDeadline !== true || signal == null || options.resetTimeoutOnProgress === true) {
      timer = setTimeout(onTimeout, timeout)
    }
    call.response.then(
      (raw) => {
        if (signal?.aborted || !finish()) return
        if (wireParseImplied && isPlainObject(raw) && raw.resultType === 'complete') {
          // One schema parse instead of two (see WIRE_PARSE_IMPLIED_BY); a refused result takes the full decode.
          // The SDK's `{ ...raw }` less resultType, by rest (a `delete` would leave a slow dictionary object).
          // The common shape checked by hand (quick-tool-call.ts): the lifted result as the schema's parse returns it.
          const quick = quickModernToolResult(raw)
          if (quick !== undefined) {
            resolve(quick)
            return
          }
          const { resultType: _complete, ...lifted } = raw
          const validated = schema['~standard'].validate(lifted)
          if ('value' in validated) {
            resolve(validated.value)
            return
          }
        }
        let decoded: Decoded
        try {
          decoded = codec.decodeResult('tools/call', raw)
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)))
          return
        }
        if (decoded.kind === 'invalid') {
          reject((decoded as { error: Error }).error)
          return
        }
        if (decoded.kind === 'input_required') {
          log('tools/call %s: input_required, fulfilled through the SDK client', params.name)
          const flow = {
            codec,
            request: { method: 'tools/call', params },
            resultSchema: schema,
            options,
            flowStartedAt,
            retry: async (retried: unknown, legOptions: unknown) =>
              internals._requestWithSchemaViaCodec?.call(
                client,
                codec,
                retried === undefined ? { method: 'tools/call' } : { method: 'tools/call', params: retried },
                schema,
                legOptions
              )
          }
          resolve(internals._resolveNonCompleteResult?.call(client, decoded, flow))
          return
        }
        const validated = schema['~standard'].validate((decoded as { result: unknown }).result)
        if ('value' in validated) resolve(validated.value)
        else {
          const error = (validated.issues as Array<Parameters<typeof formatIssue>[0]>).map(formatIssue).join(', ')
          reject(new SdkError(SdkErrorCode.InvalidResult, `Invalid result for tools/call: ${error}`))
        }
      },
      (error: Error) => {
        if (signal?.aborted || !finish()) return
        reject(error)
      }
    )
  } catch (error) {
    if (onAbort != null) signal?.removeEventListener('abort', onAbort)
    clearTimeout(timer)
    reject(error)
  }
  return promise
}

/** The SDK's liftWireOnlyMaterial for a notification: reserved envelope keys leave `_meta`. */
function liftEnvelope(notification: JSONRPCNotification): JSONRPCNotification {
  const params = notification.params as Record<string, unknown> | undefined
  const meta = params?._meta
  if (meta == null || typeof meta !== 'object' || Array.isArray(meta)) return notification
  const keys = ENVELOPE_META_KEYS.filter((key) => key in meta)
  if (keys.length === 0) return notification
  const next: Record<string, unknown> = { ...(meta as Record<string, unknown>) }
  for (const key of keys) delete next[key]
  const nextParams: Record<string, unknown> = { ...params }
  if (Object.keys(next).length > 0) nextParams._meta = next
  else delete nextParams._meta
  return { ...notification, params: nextParams } as JSONRPCNotification
}
