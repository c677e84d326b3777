import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/errors.js'
import { parseConfig } from '../../src/config/load.js'
import { thrownBy } from '../helpers/index.js'

describe('config keys of the local surfaces', () => {
  it('mcp.httpMaxSessions and mcp.httpSessionIdleMs are optional (defaults in src/mcp/constants.ts)', () => {
    expect(parseConfig({}, 'test').mcp).toEqual({})
    expect(parseConfig({ mcp: { httpPort: 8080, httpMaxSessions: 8, httpSessionIdleMs: 60_000 } }, 'test').mcp).toEqual(
      { httpPort: 8080, httpMaxSessions: 8, httpSessionIdleMs: 60_000 }
    )
  })

  it('rejects out-of-range session settings with their field path', () => {
    const error = thrownBy(() => parseConfig({ mcp: { httpMaxSessions: 0, httpSessionIdleMs: 5 } }, 'file.json'))
    expect(error.name).toBe(ConfigError.name)
    expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['mcp.httpMaxSessions', 'mcp.httpSessionIdleMs'])
  })

  it('relay.reservationTtlMs and relay.limitCircuits have defaults', () => {
    expect(parseConfig({}, 'test').relay).toMatchObject({ reservationTtlMs: 3_600_000, limitCircuits: true })
  })
})
