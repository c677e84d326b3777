import type { Tool as McpTool } from '@modelcontextprotocol/server'
import type { MeshToolSource } from '../mcp/local-view.js'
import { TOOL_META_KEY } from '../mcp/view.js'
import type { Catalog, CatalogPeer } from './catalog.js'
import { mergeListing } from './catalog/provider-policy.js'

/** Characters of a peer ID used as its alias in clashing tool names. */
export const PEER_ALIAS_LENGTH = 8

export function peerAlias(peerId: string): string {
  return peerId.slice(-PEER_ALIAS_LENGTH)
}

export interface SurfaceEntry {
  /** The name the local client sees. */
  name: string
  /** The name on the providing peers. */
  remoteName: string
  providers: string[]
  descriptor: McpTool
}

function shortPeer(peerId: string): string {
  return `…${peerAlias(peerId)}`
}

/**
 * How the mesh's tools appear in the local tools/list. Naming rule:
 * - a tool name offered by peers with one schema, and not by this node, is
 *   listed under its plain name, routed to any of those peers;
 * - when peers offer one name with different schemas, or a schema different
 *   from this node's own tool of that name, each such peer's version is listed
 *   as `<peer-alias>.<tool>`, where the alias is the last 8 characters of the
 *   peer ID; a local tool always keeps the plain name;
 * - peers offering this node's own tool with the same schema are not listed
 *   again: the plain name reaches them when the call is routed to the mesh
 *   (metadata `runtime: mesh`, or `_meta["mcp-mesh/runtime"]: "mesh"`);
 * - a remote name of the form `<alias>.<tool>` whose alias is another catalog
 *   peer's is aliased with its real provider, so no peer passes for another.
 * Descriptions say where the tool runs. Several providers under one name
 * are listed as `mergeListing` (catalog/provider-policy.ts) says: what they
 * all agree on, never the first-seen provider's word where they differ.
 */
export class MeshSurface implements MeshToolSource {
  readonly #catalog: Catalog
  readonly #localHash: (name: string) => string | undefined
  #entries?: Map<string, SurfaceEntry>
  /** Peers offering a local tool's name with the local schema: reachable by mesh routing, not listed twice. */
  #shadowed = new Map<string, SurfaceEntry>()
  #localNames: ReadonlySet<string> = new Set()

  /** `localHash` gives the schema hash of this node's own tool of a name, if it has one. */
  constructor(catalog: Catalog, localHash: (name: string) => string | undefined) {
    this.#catalog = catalog
    this.#localHash = localHash
    catalog.addEventListener('change', () => this.invalidate())
  }

  invalidate(): void {
    this.#entries = undefined
  }

  list(localNames: ReadonlySet<string>): McpTool[] {
    return [...this.entries(localNames).values()].map((entry) => entry.descriptor)
  }

  describe(name: string): McpTool | undefined {
    return this.entries().get(name)?.descriptor
  }

  /** Providers for a name the local client may call, listed or shadowed by a local tool. */
  resolve(name: string): SurfaceEntry | undefined {
    return this.entries().get(name) ?? this.#shadowed.get(name)
  }

  entries(localNames?: ReadonlySet<string>): Map<string, SurfaceEntry> {
    if (localNames != null && !sameSet(localNames, this.#localNames)) {
      this.#localNames = new Set(localNames)
      this.#entries = undefined
    }
    this.#entries ??= this.#build()
    return this.#entries
  }

  #build(): Map<string, SurfaceEntry> {
    const byName = new Map<string, Array<{ peer: CatalogPeer; descriptor: McpTool; hash: string }>>()
    for (const peer of this.#catalog.peers()) {
      for (const tool of peer.tools.values()) {
        if (tool.descriptor == null) continue
        const list = byName.get(tool.advert.name) ?? []
        list.push({ peer, descriptor: tool.descriptor, hash: tool.advert.schemaHash })
        byName.set(tool.advert.name, list)
      }
    }
    const entries = new Map<string, SurfaceEntry>()
    const shadowed = new Map<string, SurfaceEntry>()
    const aliases = new Set(this.#catalog.peers().map((peer) => peerAlias(peer.peerId)))
    for (const [name, allOffers] of byName) {
      let offers = allOffers
      const localHash = this.#localNames.has(name) ? this.#localHash(name) : undefined
      if (localHash != null) {
        const same = offers.filter((offer) => offer.hash === localHash)
        if (same.length > 0) {
          const providers = same.map((offer) => offer.peer.peerId)
          shadowed.set(name, {
            name,
            remoteName: name,
            providers,
            descriptor: decorate(
              mergeListing(
                name,
                same.map((offer) => offer.descriptor)
              ),
              name,
              providers
            )
          })
        }
        offers = offers.filter((offer) => offer.hash !== localHash)
        if (offers.length === 0) continue
      }
      const hashes = new Set(offers.map((offer) => offer.hash))
      if (hashes.size === 1 && !this.#localNames.has(name) && !spoofsAlias(name, offers, aliases)) {
        const providers = offers.map((offer) => offer.peer.peerId)
        entries.set(name, {
          name,
          remoteName: name,
          providers,
          descriptor: decorate(
            mergeListing(
              name,
              offers.map((offer) => offer.descriptor)
            ),
            name,
            providers
          )
        })
        continue
      }
      for (const offer of offers) {
        const aliased = `${peerAlias(offer.peer.peerId)}.${name}`
        // An aliased name is its peer's: a plain name equal to it (see spoofsAlias) never takes it.
        if (aliased.length > 128 || entries.get(aliased)?.remoteName === aliased) continue
        const providers = [offer.peer.peerId]
        entries.set(aliased, {
          name: aliased,
          remoteName: name,
          providers,
          descriptor: decorate(offer.descriptor, aliased, providers)
        })
      }
    }
    this.#shadowed = shadowed
    return entries
  }
}

function decorate(descriptor: McpTool, name: string, providers: string[]): McpTool {
  const where =
    providers.length === 1
      ? `runs on mesh peer ${shortPeer(providers[0]!)}`
      : `runs on one of ${providers.length} mesh peers (${providers.map(shortPeer).join(', ')})`
  const meta = (descriptor._meta?.[TOOL_META_KEY] ?? {}) as Record<string, unknown>
  return {
    ...descriptor,
    name,
    description: `${descriptor.description ?? descriptor.name} [${where}]`,
    _meta: { ...descriptor._meta, [TOOL_META_KEY]: { ...meta, runtime: 'mesh', providers } }
  }
}

/**
 * Whether a remote tool name reads as `<alias>.<tool>` for the alias of a
 * catalog peer other than the ones offering it: listed plain, it would pass
 * for that peer's aliased version (and receive the calls meant for it), so
 * it is aliased with its real provider instead.
 */
function spoofsAlias(
  name: string,
  offers: ReadonlyArray<{ peer: CatalogPeer }>,
  aliases: ReadonlySet<string>
): boolean {
  const dot = name.indexOf('.')
  if (dot !== PEER_ALIAS_LENGTH) return false
  const prefix = name.slice(0, dot)
  return aliases.has(prefix) && offers.some((offer) => peerAlias(offer.peer.peerId) !== prefix)
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false
  for (const value of a) if (!b.has(value)) return false
  return true
}
