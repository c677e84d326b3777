import { describe, expect, it } from 'vitest'
import {
  RELAY_HOP_TIMEOUT_MS,
  RELAY_LIMIT_DATA_BYTES,
  RELAY_LIMIT_DURATION_MS,
  RELAY_MAX_INBOUND_HOP_STREAMS,
  RELAY_MAX_OUTBOUND_STOP_STREAMS,
  RELAY_MAX_RESERVATIONS,
  RELAY_RESERVATION_TTL_MS
} from '../../src/config/defaults.js'
import { parseConfig } from '../../src/config/load.js'
import { relayServerInit } from '../../src/node/libp2p-defaults.js'

const config = (relay: Record<string, unknown> = {}): ReturnType<typeof parseConfig> =>
  parseConfig({ relay: { server: true, ...relay } }, 'test')

describe('--relay server options', () => {
  it('bounds reservations (count, TTL), hop streams and each circuit explicitly by default', () => {
    expect(relayServerInit(config())).toEqual({
      hopTimeout: RELAY_HOP_TIMEOUT_MS,
      maxInboundHopStreams: RELAY_MAX_INBOUND_HOP_STREAMS,
      maxOutboundStopStreams: RELAY_MAX_OUTBOUND_STOP_STREAMS,
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        reservationTtl: RELAY_RESERVATION_TTL_MS,
        applyDefaultLimit: true,
        defaultDurationLimit: RELAY_LIMIT_DURATION_MS,
        defaultDataLimit: BigInt(RELAY_LIMIT_DATA_BYTES)
      }
    })
  })

  it('leaves circuits unlimited only when relay.limitCircuits is false', () => {
    expect(relayServerInit(config({ limitCircuits: false })).reservations).toEqual({
      maxReservations: RELAY_MAX_RESERVATIONS,
      reservationTtl: RELAY_RESERVATION_TTL_MS,
      applyDefaultLimit: false
    })
  })

  it('applies the default per-circuit duration and data limits with relay.limitCircuits: true', () => {
    expect(relayServerInit(config({ limitCircuits: true })).reservations).toEqual({
      maxReservations: RELAY_MAX_RESERVATIONS,
      reservationTtl: RELAY_RESERVATION_TTL_MS,
      applyDefaultLimit: true,
      defaultDurationLimit: RELAY_LIMIT_DURATION_MS,
      defaultDataLimit: BigInt(RELAY_LIMIT_DATA_BYTES)
    })
  })

  it('takes configured values, and a configured limit turns the limits on', () => {
    const reservations = relayServerInit(
      config({ maxReservations: 4, reservationTtlMs: 60_000, limitCircuits: false, limitDataBytes: 1_048_576 })
    ).reservations
    expect(reservations).toEqual({
      maxReservations: 4,
      reservationTtl: 60_000,
      applyDefaultLimit: true,
      defaultDurationLimit: RELAY_LIMIT_DURATION_MS,
      defaultDataLimit: 1_048_576n
    })
  })
})
