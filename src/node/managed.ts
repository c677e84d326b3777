import type { NodeSubsystem } from '../interface/subsystem.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { Tool } from '../tools/types.js'

/** A service that contributes MCP tools to the node. */
export interface ToolService extends NodeSubsystem {
  tools(): Tool[]
}

/**
 * Runs a service inside the node: its tools are registered after `start()`
 * and unregistered before `stop()`, so a service never touches the registry
 * itself. `running` is true between the two, for closures that must not
 * reach a stopped service (the router's dispatcher, the local view's mesh).
 */
export class ManagedService implements NodeSubsystem {
  readonly #service: NodeSubsystem & Partial<Pick<ToolService, 'tools'>>
  readonly #registry: ToolRegistry
  #registered: string[] = []
  #running = false

  constructor(service: NodeSubsystem & Partial<Pick<ToolService, 'tools'>>, registry: ToolRegistry) {
    this.#service = service
    this.#registry = registry
  }

  get name(): string {
    return this.#service.name
  }

  get running(): boolean {
    return this.#running
  }

  async start(): Promise<void> {
    if (this.#running) return
    await this.#service.start()
    const tools = this.#service.tools?.() ?? []
    this.#registry.registerAll(tools)
    this.#registered = tools.map((tool) => tool.name)
    this.#running = true
  }

  async stop(): Promise<void> {
    this.#running = false
    for (const name of this.#registered) this.#registry.unregister(name)
    this.#registered = []
    await this.#service.stop()
  }

  status(): unknown {
    return this.#service.status?.()
  }

  /** The service's own health check, when it has one. */
  get health(): NodeSubsystem['health'] {
    const service = this.#service
    return service.health == null ? undefined : async (signal) => service.health!(signal)
  }
}
