import type { Command } from 'commander'
import { registerBootstrapCommand } from './bootstrap.js'
import { registerConnectCommand } from './connect.js'
import { registerDoctorCommand } from './doctor.js'
import { registerPeersCommand } from './peers.js'
import { registerSwarmKeyCommand } from './swarm-key.js'

/** `peers`, `connect`, `bootstrap list|add|rm`, `swarm-key gen` and `doctor`. */
export function registerDiscoveryCommands(program: Command, setExit: (code: number) => void): void {
  registerPeersCommand(program)
  registerConnectCommand(program)
  registerBootstrapCommand(program)
  registerSwarmKeyCommand(program)
  registerDoctorCommand(program, setExit)
}
