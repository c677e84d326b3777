import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Shallow-merges `patch` into `<home>/config.json` (bench homes come from makeHome). */
export async function configure(home: string, patch: Record<string, unknown>): Promise<void> {
  const path = join(home, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  await writeFile(path, JSON.stringify({ ...config, ...patch }, null, 2))
}

/** First loopback TCP address (with /p2p/) from mesh_status. */
export function tcpAddressOf(status: { addresses: string[] }): string {
  const address = status.addresses.find((a) => a.includes('/tcp/') && !a.includes('/ws') && !a.includes('p2p-circuit'))
  if (address == null) throw new Error(`no TCP address in ${status.addresses.join(', ')}`)
  return address
}
