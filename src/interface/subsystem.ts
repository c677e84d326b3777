/**
 * A part of the node with a lifecycle that reports into `mesh_status` and
 * `mesh_health`. Later layers (mesh protocol, catalog, queue, workflows)
 * plug in as subsystems without the node knowing their internals.
 */
export interface NodeSubsystem {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
  status?(): unknown
  health?(signal: AbortSignal): Promise<{ ok: boolean; detail: string }>
}
