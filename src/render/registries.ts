// `config.registries` of the chart values: one entry per registry an app's image comes from, with
// the registry's real API URL. Credentials only where a pull secret holds them (GHCR: the GitHub
// token); Docker Hub gets a note on its anonymous pull limit.
import { DOCKER_HUB } from './image.ts'

export interface RegistryEntry {
  name: string
  api_url: string
  prefix: string
  ping: boolean
  /** Docker Hub: the registry used for names without a host (nginx, dko0/squoosh) */
  defaultns?: string
  default?: boolean
  credentials?: string
  /** comment lines above the entry */
  note?: string[]
}

/** The entry for one registry host (`docker.io`, `ghcr.io`, `lscr.io`, `quay.io`, `host:port`). */
export function registryEntry(host: string, pullSecret: string): RegistryEntry {
  switch (host) {
    case DOCKER_HUB:
      return {
        name: 'Docker Hub',
        // images are named docker.io/..., the registry API lives at registry-1.docker.io
        api_url: 'https://registry-1.docker.io',
        prefix: DOCKER_HUB,
        ping: true,
        defaultns: 'library',
        // names without a host (dko0/squoosh) use the default registry; only an entry marked default replaces the built-in one
        default: true,
        note: [
          'Docker Hub limits anonymous pulls (10 per hour per IP address; each manifest read counts, which the',
          'digest strategy does every cycle). If updates stall with "toomanyrequests", add credentials here.',
        ],
      }
    case 'ghcr.io':
      return { name: 'GitHub Container Registry', api_url: 'https://ghcr.io', prefix: 'ghcr.io', ping: true, credentials: pullSecret }
    case 'lscr.io':
      return { name: 'LinuxServer.io', api_url: 'https://lscr.io', prefix: 'lscr.io', ping: false, note: ['lscr.io answers the registry API itself (its images live on ghcr.io; anonymous pulls work).'] }
    case 'quay.io':
      return { name: 'Red Hat Quay', api_url: 'https://quay.io', prefix: 'quay.io', ping: false }
    default:
      return { name: host, api_url: `https://${host}`, prefix: host, ping: false, note: host.includes(':') || host === 'localhost' ? [`change api_url to http://${host} if this registry serves plain HTTP`] : undefined }
  }
}

/** The YAML lines of one entry at the given indent (`- name: ...` first). */
export function formatEntry(e: RegistryEntry, indent: string): string {
  const lines = [
    ...(e.note ?? []).map((n) => `# ${n}`),
    `- name: ${e.name}`,
    `  api_url: ${e.api_url}`,
    `  prefix: ${e.prefix}`,
    `  ping: ${e.ping ? 'yes' : 'no'}`,
    ...(e.defaultns ? [`  defaultns: ${e.defaultns}`] : []),
    ...(e.default ? ['  default: true'] : []),
    ...(e.credentials ? [`  credentials: ${e.credentials}`] : []),
  ]
  return lines.map((l) => indent + l).join('\n')
}

/** Distinct hosts in first-seen order. */
export function registryHosts(hosts: string[]): string[] {
  return [...new Set(hosts)]
}

/** The list under `config.registries:` (4-space item indent), one entry per distinct host. */
export function registryEntries(hosts: string[], pullSecret: string): string {
  return registryHosts(hosts).map((h) => formatEntry(registryEntry(h, pullSecret), '    ')).join('\n')
}
