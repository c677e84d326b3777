/**
 * patches/sdk-type-guards.mjs makes the SDK's JSON-RPC type
 * guards check the key their schema requires before parsing. They must give
 * the answers a full parse gives, for every shape (this holds with or
 * without the patch applied).
 */
import * as clientSdk from '@modelcontextprotocol/client'
import {
  JSONRPCErrorResponseSchema,
  JSONRPCNotificationSchema,
  JSONRPCRequestSchema,
  JSONRPCResultResponseSchema
} from '@modelcontextprotocol/core/internal'
import * as serverSdk from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'

const values: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } },
  { jsonrpc: '2.0', id: 'a', method: 'ping' },
  { jsonrpc: '2.0', id: 1.5, method: 'ping' },
  { jsonrpc: '2.0', id: null, method: 'ping' },
  { jsonrpc: '1.0', id: 1, method: 'ping' },
  { jsonrpc: '2.0', id: 1, method: 7 },
  { jsonrpc: '2.0', id: 1, method: 'ping', extra: true },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, reason: 'x' } },
  { jsonrpc: '2.0', method: 'notifications/progress', params: 'not an object' },
  { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'x' }] } },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 1, result: null },
  { jsonrpc: '2.0', id: 1, result: 'x' },
  { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } },
  { jsonrpc: '2.0', result: {} },
  { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } },
  { jsonrpc: '2.0', error: { code: -32700, message: 'parse error', data: { at: 3 } } },
  { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'x' } },
  { jsonrpc: '2.0', id: 1, error: { message: 'x' } },
  { jsonrpc: '2.0', id: 1, error: null },
  { jsonrpc: '2.0', id: 1, method: 'x', result: {} },
  { jsonrpc: '2.0', id: 1, method: undefined },
  { jsonrpc: '2.0', id: undefined, method: 'ping' },
  { jsonrpc: '2.0', id: 1, result: undefined },
  { jsonrpc: '2.0', id: 1, error: undefined },
  {},
  [],
  [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
  null,
  undefined,
  'x',
  1,
  true
]

const guards = [
  ['isJSONRPCRequest', JSONRPCRequestSchema],
  ['isJSONRPCNotification', JSONRPCNotificationSchema],
  ['isJSONRPCResultResponse', JSONRPCResultResponseSchema],
  ['isJSONRPCErrorResponse', JSONRPCErrorResponseSchema]
] as const

describe('the SDK JSON-RPC type guards (patched to check a key before parsing)', () => {
  for (const [sdkName, sdk] of [
    ['server', serverSdk],
    ['client', clientSdk]
  ] as const) {
    for (const [name, schema] of guards) {
      it(`${sdkName} ${name} answers as the full parse does`, () => {
        const guard = (sdk as unknown as Record<string, (value: unknown) => boolean>)[name]!
        for (const value of values) {
          expect(guard(value), JSON.stringify(value) ?? String(value)).toBe(schema.safeParse(value).success)
        }
      })
    }
  }
})
