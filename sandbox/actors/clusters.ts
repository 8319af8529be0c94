// The clusters of a homelab as Argo CD knows them: the in-cluster API (Argo CD's own) and one
// cluster per other destination the repo's Applications name, each registered through a cluster
// Secret in `argocd` (label argocd.argoproj.io/secret-type: cluster; keys name and server). The
// sandbox plans the clusters from the repo (destinations, and the cluster Secrets or
// ExternalSecrets that make them), runs an API per cluster, and resolves an Application's
// destination as Argo CD does: through the cluster Secrets live on the in-cluster API.
import type { KObject, Store } from '../store.ts'
import type { PodRuntime } from '../apiserver/pods.ts'

export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc'
export const IN_CLUSTER_NAME = 'in-cluster'
export const CLUSTER_SECRET_LABEL = 'argocd.argoproj.io/secret-type'

/** One cluster the sandbox runs: its own store, pods (exec/logs) and API. */
export interface ClusterHandle {
  /** Argo CD's name for it (`in-cluster` for Argo CD's own) */
  name: string
  /** its API address as the repo names it (`https://kubernetes.default.svc` for in-cluster) */
  server: string
  store: Store
  pods: PodRuntime
}

/** A cluster the repo names, and how Argo CD learns of it. */
export interface PlannedCluster {
  name: string
  server: string
  /** where its cluster Secret comes from: a Secret or an ExternalSecret in the repo, or none (generated) */
  secretFrom: 'Secret' | 'ExternalSecret' | 'generated'
}

export const normaliseServer = (url: string) => String(url ?? '').trim().replace(/\/+$/, '')
const hostOf = (url: string) => {
  try {
    return new URL(url).hostname
  } catch {
    return ''
  }
}
export const isInCluster = (dest: { server?: string; name?: string } | undefined) =>
  !dest || (!dest.name && (!dest.server || normaliseServer(dest.server) === IN_CLUSTER_SERVER)) || dest.name === IN_CLUSTER_NAME

const decoded = (secret: KObject, key: string): string | undefined => {
  const plain = (secret as any).stringData?.[key]
  if (typeof plain === 'string') return plain
  const b64 = (secret as any).data?.[key]
  return typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : undefined
}

const isClusterSecret = (o: KObject) => o?.kind === 'Secret' && o.metadata?.labels?.[CLUSTER_SECRET_LABEL] === 'cluster'
const isClusterExternalSecret = (o: KObject) => o?.kind === 'ExternalSecret' && o.spec?.target?.template?.metadata?.labels?.[CLUSTER_SECRET_LABEL] === 'cluster'
/** A literal value (not a Go template) of an ExternalSecret's template data. */
const literal = (v: unknown) => (typeof v === 'string' && !v.includes('{{') ? v : undefined)

/** name/server a cluster Secret or the template of an ExternalSecret making one states literally. */
export function declaredCluster(o: KObject): { name?: string; server?: string } | undefined {
  if (isClusterSecret(o)) return { name: decoded(o, 'name'), server: decoded(o, 'server') }
  if (isClusterExternalSecret(o)) return { name: literal(o.spec.target.template.data?.name), server: literal(o.spec.target.template.data?.server) }
  return undefined
}

/** Whether a document is a cluster Secret, or an ExternalSecret whose target is one. */
export const makesClusterSecret = (o: KObject) => isClusterSecret(o) || isClusterExternalSecret(o)

/**
 * The clusters besides in-cluster: one per destination the Applications name, by server URL or by
 * name, with the name and server their cluster Secret in the repo gives. A registration whose
 * server comes from Vault (an ExternalSecret's template) is paired with a server destination no
 * registration states; where the repo registers none, the Secret is generated: a name from the
 * server's host, or a server from the name.
 */
export function planClusters(applications: KObject[], clusterDocs: KObject[]): PlannedCluster[] {
  const dests = applications.map((a) => a.spec?.destination ?? {}).filter((d) => !isInCluster(d))
  const servers = [...new Set(dests.filter((d) => d.server).map((d) => normaliseServer(d.server)))].filter((s) => s !== IN_CLUSTER_SERVER)
  const names = [...new Set(dests.filter((d) => d.name && !d.server).map((d) => String(d.name)))]
  const planned: PlannedCluster[] = []
  const declared = clusterDocs
    .map((o) => ({ ...declaredCluster(o)!, from: o.kind as 'Secret' | 'ExternalSecret' }))
    .filter((d) => !(d.server && normaliseServer(d.server) === IN_CLUSTER_SERVER) && d.name !== IN_CLUSTER_NAME)
  const stated = new Set(declared.filter((d) => d.server).map((d) => normaliseServer(d.server!)))
  const unclaimed = servers.filter((s) => !stated.has(s))
  for (const d of declared) {
    if (planned.some((p) => (d.name && p.name === d.name) || (d.server && p.server === normaliseServer(d.server)))) continue
    const server = d.server ? normaliseServer(d.server) : unclaimed.shift()
    const name = d.name ?? `cluster-${(server ? hostOf(server) : '').replace(/[^a-z0-9]+/gi, '-') || planned.length + 1}`
    planned.push({ name, server: server ?? `https://${name}.sandbox.internal:6443`, secretFrom: d.from })
  }
  for (const server of servers) {
    if (planned.some((p) => p.server === server)) continue
    planned.push({ name: `cluster-${hostOf(server).replace(/[^a-z0-9]+/gi, '-') || planned.length + 1}`, server, secretFrom: 'generated' })
  }
  for (const name of names) if (!planned.some((p) => p.name === name)) planned.push({ name, server: `https://${name}.sandbox.internal:6443`, secretFrom: 'generated' })
  return planned
}

/** The cluster Secret Argo CD would find for a cluster the repo does not register itself. */
export function generatedClusterSecret(c: PlannedCluster): KObject {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `cluster-${c.name}`, namespace: 'argocd', labels: { [CLUSTER_SECRET_LABEL]: 'cluster' } },
    type: 'Opaque',
    data: { name: b64(c.name), server: b64(c.server), config: b64(JSON.stringify({ tlsClientConfig: { insecure: false } })) },
  }
}

/**
 * The clusters the Argo CD stand-in deploys to. Destinations resolve through the cluster Secrets
 * live in `argocd` on the in-cluster API, as Argo CD's db.GetCluster does; an address no sandbox
 * cluster answers is unreachable.
 */
export class ClusterDirectory {
  constructor(
    readonly inCluster: ClusterHandle,
    readonly others: ClusterHandle[],
  ) {}

  get all(): ClusterHandle[] {
    return [this.inCluster, ...this.others]
  }

  byName(name: string): ClusterHandle | undefined {
    return this.all.find((c) => c.name === name)
  }

  /** The cluster whose server's host is this URL's host (a Vault address on a cluster's node). */
  byHost(url: string): ClusterHandle | undefined {
    const host = hostOf(url)
    return host ? this.others.find((c) => hostOf(c.server) === host) : undefined
  }

  private registered(): { name: string; server: string }[] {
    const out: { name: string; server: string }[] = []
    for (const s of this.inCluster.store.list('v1', 'Secret', 'argocd', (o) => o.metadata.labels?.[CLUSTER_SECRET_LABEL] === 'cluster')) {
      const server = decoded(s, 'server')
      if (server) out.push({ name: decoded(s, 'name') ?? server, server: normaliseServer(server) })
    }
    return out
  }

  /** The destination's cluster, or Argo CD's message for why it has none. */
  resolve(appName: string, dest: { server?: string; name?: string } | undefined): { cluster: ClusterHandle } | { error: string } {
    if (dest?.server && dest?.name) return { error: `application destination can't have both name and server defined: ${dest.name} ${dest.server}` }
    if (isInCluster(dest)) return { cluster: this.inCluster }
    const invalid = (why: string) => ({ error: `Application destination spec for ${appName} is invalid: ${why}` })
    const known = this.registered()
    let server: string
    if (dest!.name) {
      const hit = known.filter((k) => k.name === dest!.name)
      if (!hit.length) return invalid(`unable to find destination server: there are no clusters with this name: ${dest!.name}`)
      if (hit.length > 1) return invalid(`unable to find destination server: there are ${hit.length} clusters with the same name: [${hit.map((h) => h.server).join(' ')}]`)
      server = hit[0]!.server
    } else {
      server = normaliseServer(dest!.server!)
      if (!known.some((k) => k.server === server)) return { error: `cluster '${dest!.server}' has not been configured` }
    }
    if (server === IN_CLUSTER_SERVER) return { cluster: this.inCluster }
    const cluster = this.others.find((c) => normaliseServer(c.server) === server)
    if (!cluster) return { error: `failed to get cluster info for "${server}": Get "${server}/version?timeout=32s": dial tcp ${new URL(server).host}: connect: connection refused (the sandbox runs no cluster at this address)` }
    return { cluster }
  }
}
