// Argo CD's clusters as the repo declares them (cluster Secrets, or ExternalSecrets that make one),
// where each destination lands, and which cluster a Vault secret store reaches.
import type { ArgoCluster, Destination, Where } from './types.ts'

export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc'
export const IN_CLUSTER_NAME = 'in-cluster'
export const CLUSTER_SECRET_LABEL = 'argocd.argoproj.io/secret-type'

/** The host of a URL (no scheme, no port, lower case); undefined when it is not one. */
export function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    return new URL(url.includes('://') ? url : `https://${url}`).hostname.toLowerCase().replace(/^\[|\]$/g, '') || undefined
  } catch {
    return undefined
  }
}

function sameServer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
}

function decoded(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  try {
    return Buffer.from(value, 'base64').toString('utf8')
  } catch {
    return undefined
  }
}

/** A value from a template that is filled from a store (`{{ .server }}`) says nothing here. */
function literal(value: unknown): string | undefined {
  return typeof value === 'string' && value && !value.includes('{{') ? value : undefined
}

/** A cluster declared by this document, if it declares one. */
export function clusterOfDoc(json: Record<string, any>, where: Where): ArgoCluster | undefined {
  if (json.kind === 'Secret' && json.metadata?.labels?.[CLUSTER_SECRET_LABEL] === 'cluster') {
    const name = json.stringData?.name ?? decoded(json.data?.name)
    const server = json.stringData?.server ?? decoded(json.data?.server)
    return cluster(typeof name === 'string' && name ? name : String(json.metadata?.name ?? ''), typeof server === 'string' ? server : undefined, 'Secret', where)
  }
  if (json.kind === 'ExternalSecret' && json.spec?.target?.template?.metadata?.labels?.[CLUSTER_SECRET_LABEL] === 'cluster') {
    const data = json.spec.target.template.data ?? {}
    const name = literal(data.name) ?? String(json.spec?.target?.name ?? json.metadata?.name ?? '')
    return cluster(name, literal(data.server), 'ExternalSecret', where)
  }
  return undefined
}

function cluster(name: string, server: string | undefined, declaredBy: ArgoCluster['declaredBy'], where?: Where): ArgoCluster {
  const inCluster = server !== undefined && sameServer(server, IN_CLUSTER_SERVER)
  return { name, ...(server ? { server, host: hostOf(server) } : {}), inCluster, declaredBy, ...(where ? { where } : {}) }
}

/** Argo CD's in-cluster, unless a Secret of the repo declares it (renamed, as Argo CD allows). */
export function withInCluster(declared: ArgoCluster[]): ArgoCluster[] {
  if (declared.some((c) => c.inCluster)) return declared
  return [cluster(IN_CLUSTER_NAME, IN_CLUSTER_SERVER, 'in-cluster'), ...declared]
}

/** The destination with the cluster it names (by server URL or by name), or why it cannot be told. */
export function resolveDestination(dest: Record<string, any> | undefined, clusters: ArgoCluster[]): Destination {
  const server = typeof dest?.server === 'string' && dest.server ? dest.server : undefined
  const name = typeof dest?.name === 'string' && dest.name ? dest.name : undefined
  const namespace = typeof dest?.namespace === 'string' && dest.namespace ? dest.namespace : undefined
  const base: Destination = { ...(server ? { server } : {}), ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) }
  if (server) {
    const found = clusters.find((c) => c.server && sameServer(c.server, server))
    return found ? { ...base, cluster: found } : { ...base, unresolved: `no Argo CD cluster Secret in the repo has server ${server}` }
  }
  if (name) {
    const found = clusters.find((c) => c.name === name)
    return found ? { ...base, cluster: found } : { ...base, unresolved: `no Argo CD cluster Secret in the repo is named ${name}` }
  }
  return { ...base, unresolved: 'the Application has neither destination.server nor destination.name' }
}

/** Hosts that only resolve inside a cluster: the store reaches Vault in the cluster the store itself runs in. */
export function clusterLocalHost(host: string): boolean {
  return !host.includes('.') || /\.svc(\.cluster\.local)?$/.test(host) || host.endsWith('.cluster.local')
}

/** The cluster a Vault server URL points at: an Argo CD cluster whose server has the same host. */
export function vaultCluster(server: string, clusters: ArgoCluster[], storeCluster: ArgoCluster | undefined): { cluster?: ArgoCluster; why: string } {
  const host = hostOf(server)
  if (!host) return { why: `the store's server ${server} is not a URL` }
  if (clusterLocalHost(host)) {
    return storeCluster
      ? { cluster: storeCluster, why: `${host} is a cluster-internal name: Vault runs where the store runs (${storeCluster.name})` }
      : { why: `${host} is a cluster-internal name, and the cluster the store runs on is not known` }
  }
  const same = clusters.filter((c) => c.host === host)
  if (same.length === 1) return { cluster: same[0], why: `the store reaches ${host}, the host of the Argo CD cluster ${same[0]!.name} (${same[0]!.server})` }
  if (same.length > 1) return { why: `${host} is the host of several Argo CD clusters (${same.map((c) => c.name).join(', ')})` }
  return { why: `no Argo CD cluster of the repo has the host ${host}` }
}
