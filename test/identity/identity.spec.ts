import { describe, expect, it } from 'vitest'
import { createIdentity, loadPrivateKey } from '../../src/identity/identity.js'

describe('identity', () => {
  it('creates an Ed25519 identity that loads back to the same PeerId', async () => {
    const identity = await createIdentity()
    expect(identity.peerId).toMatch(/^12D3KooW/)
    const key = loadPrivateKey(identity)
    expect(key.type).toBe('Ed25519')
  })

  it('creates a different identity each time', async () => {
    expect((await createIdentity()).peerId).not.toBe((await createIdentity()).peerId)
  })

  it('refuses a key that does not belong to the stored PeerId', async () => {
    const a = await createIdentity()
    const b = await createIdentity()
    let error: Error | undefined
    try {
      loadPrivateKey({ peerId: a.peerId, privKey: b.privKey })
    } catch (err) {
      error = err as Error
    }
    expect(error?.name).toBe('IdentityError')
    expect(error?.message).toContain('does not match')
  })

  it('refuses a key that is not a libp2p private key', () => {
    expect(() => loadPrivateKey({ peerId: 'x', privKey: Buffer.from('garbage').toString('base64') })).toThrow(
      expect.objectContaining({ name: 'IdentityError' })
    )
  })
})
