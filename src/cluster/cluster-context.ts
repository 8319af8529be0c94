// Which kube context of the kubeconfig reaches an Argo CD cluster the repo names: the one whose
// server is the cluster's, else the one named as Argo CD names the cluster, else the one on the same
// host (a k3s kubeconfig copied over keeps the name `default`). Vault's cluster and the cluster an app
// runs on are both found this way.
import type { ArgoCluster } from '../repo-model/types.ts'
import { hostOf } from '../repo-model/clusters.ts'
import type { Kube } from './kube.ts'

export interface ContextMatch {
  /** the one context that reaches it (Argo CD's own when that one does) */
  context?: string
  /** several contexts of different servers match equally: which */
  ambiguous: string[]
}

export function contextFor(main: Pick<Kube, 'contextName' | 'contextNames' | 'contextServers'>, cluster: ArgoCluster): ContextMatch {
  const same = (url: string | undefined) => !!url && !!cluster.server && url.replace(/\/+$/, '') === cluster.server.replace(/\/+$/, '')
  const ways = [
    main.contextNames.filter((n) => same(main.contextServers[n])),
    main.contextNames.filter((n) => n === cluster.name),
    main.contextNames.filter((n) => cluster.host !== undefined && hostOf(main.contextServers[n]) === cluster.host),
  ]
  // several contexts of one server (a kubeconfig with an admin and a token user) reach the same cluster: the first does
  const oneServer = (w: string[]) => w.length > 0 && new Set(w.map((n) => main.contextServers[n])).size === 1
  const found = ways.find(oneServer)
  if (found) return { context: found.includes(main.contextName) ? main.contextName : found[0]!, ambiguous: [] }
  return { ambiguous: ways.find((w) => w.length > 1) ?? [] }
}

/** "no kube context ... (contexts: a → https://..., ...)" or "several kube contexts reach it (a, b)". */
export function noContextText(main: Pick<Kube, 'contextNames' | 'contextServers'>, cluster: ArgoCluster, match: ContextMatch): string {
  return match.ambiguous.length
    ? `several kube contexts reach it (${match.ambiguous.join(', ')})`
    : `no kube context of the kubeconfig has a server on ${cluster.host ?? '?'} or is named ${cluster.name} (contexts: ${main.contextNames.map((n) => `${n} → ${main.contextServers[n]}`).join(', ')})`
}
