// Discovery documents (/api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version),
// computed from the types served now, so a CRD's kinds appear and disappear with it.
import type { ResourceType } from './kinds.ts'
import { joinApiVersion } from './kinds.ts'

export const VERSION_INFO = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.4+k3s1',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-08-01T00:00:00Z',
  goVersion: 'go1.24.5',
  compiler: 'gc',
  platform: 'linux/amd64',
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] }
}

function groupOf(types: ResourceType[], group: string) {
  const versions = [...new Set(types.filter((t) => t.group === group).map((t) => t.version))]
  if (versions.length === 0) return undefined
  const list = versions.map((version) => ({ groupVersion: joinApiVersion(group, version), version }))
  return { name: group, versions: list, preferredVersion: list[0] }
}

export function apiGroupList(types: ResourceType[]) {
  const groups = [...new Set(types.map((t) => t.group).filter(Boolean))]
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => groupOf(types, g)!) }
}

export function apiGroup(types: ResourceType[], group: string) {
  const g = groupOf(types, group)
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...g } : undefined
}

export function apiResourceList(types: ResourceType[], group: string, version: string) {
  const mine = types.filter((t) => t.group === group && t.version === version)
  if (mine.length === 0) return undefined
  const resources: Record<string, unknown>[] = []
  for (const t of mine) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: '',
    })
    if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] })
    // kubectl scale finds the Scale kind of a subresource here (autoscaling/v1, whatever the parent's group)
    if (t.scale) resources.push({ name: `${t.plural}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] })
    if (t.kind === 'Pod' && !group) {
      resources.push({ name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] })
      resources.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] })
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: joinApiVersion(group, version), resources }
}
