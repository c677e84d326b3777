import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MeshError } from '../util/errors.js'

export class IdentityError extends MeshError {
  static override readonly code = 'ERR_IDENTITY'
}

export interface StoredIdentity {
  peerId: string
  /** Protobuf-encoded private key, base64 (as kubo stores `Identity.PrivKey`). */
  privKey: string
}

export async function createIdentity(): Promise<StoredIdentity> {
  const key = await generateKeyPair('Ed25519')
  return {
    peerId: peerIdFromPrivateKey(key).toString(),
    privKey: Buffer.from(privateKeyToProtobuf(key)).toString('base64')
  }
}

/** Decodes the stored key and checks it really belongs to the stored PeerId. */
export function loadPrivateKey(identity: StoredIdentity): PrivateKey {
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(Buffer.from(identity.privKey, 'base64'))
  } catch (err) {
    throw new IdentityError(`identity.privKey is not a valid libp2p private key: ${(err as Error).message}`)
  }
  const derived = peerIdFromPrivateKey(key).toString()
  if (derived !== identity.peerId) {
    throw new IdentityError(`identity.peerId ${identity.peerId} does not match identity.privKey (which is ${derived})`)
  }
  return key
}
