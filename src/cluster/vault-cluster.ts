// Which cluster Vault runs on, and the kube client for it. Vault may run on another cluster than
// Argo CD: VAULT_KUBE_CONTEXT names its context; without it the repo tells (the ClusterSecretStore's
// Vault server shares its host with an Argo CD cluster's server, whose kube context reaches that host
// or carries the cluster's Argo CD name); a store that points nowhere the repo knows is taken as
// Argo CD's cluster when Vault's pod is there. When it cannot be told, the error names the setting.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { kube, type Kube } from './kube.ts'
import { hostOf } from '../repo-model/clusters.ts'
import { contextFor, noContextText } from './cluster-context.ts'

export interface VaultCluster {
  kube: Kube
  /** the kube context, when not KUBE_CONTEXT's */
  context?: string
  /** how it was told (one line, for the log) */
  why: string
}

const targets = new WeakMap<Ctx, Promise<VaultCluster>>()

/** The kube client of the cluster Vault runs on (told once per run). */
export function vaultCluster(ctx: Ctx): Promise<VaultCluster> {
  let t = targets.get(ctx)
  if (!t) {
    t = tell(ctx).then((found) => {
      ctx.log(`Vault's cluster: ${found.why}`)
      return found
    })
    targets.set(ctx, t)
    t.catch(() => targets.delete(ctx))
  }
  return t
}

const FIX = 'set VAULT_KUBE_CONTEXT in .env to the kube context of the cluster Vault runs on (kubectl config get-contexts lists them; add that cluster to KUBECONFIG first if it is missing)'

async function tell(ctx: Ctx): Promise<VaultCluster> {
  const s = ctx.settings
  const main = await kube(ctx)
  if (s.vaultKubeContext) {
    if (s.vaultKubeContext === main.contextName) return { kube: main, why: `VAULT_KUBE_CONTEXT=${s.vaultKubeContext}, the context of Argo CD's cluster` }
    const context = s.vaultKubeContext
    return { kube: await kube(ctx, { context, setting: 'VAULT_KUBE_CONTEXT' }), context, why: `VAULT_KUBE_CONTEXT=${context}` }
  }
  const { loadRepoModel } = await import('../repo-model/index.ts')
  const model = await loadRepoModel(ctx)
  const vaults = model.vaultStores.filter((v) => v.kind === 'ClusterSecretStore')
  const { secretStore } = await import('../secret-store.ts')
  const storeName = (await secretStore(ctx)).name
  const store = vaults.find((v) => v.name === storeName) ?? (vaults.length === 1 ? vaults[0] : undefined)
  if (!store) return { kube: main, why: `no ClusterSecretStore ${storeName} with a Vault server in the repo: Vault is looked for on ${main.contextName}` }
  const at = `the ClusterSecretStore ${store.name} (${store.where.file}:${store.where.line}) reaches Vault at ${store.server}`
  const cluster = store.cluster
  if (cluster?.inCluster) return { kube: main, why: `${at}: ${store.clusterWhy}` }
  if (cluster) {
    const match = contextFor(main, cluster)
    // Argo CD's own context is that cluster's: Vault is on the cluster the run already talks to
    if (match.context === main.contextName) return { kube: main, why: `${at}, on ${cluster.name}, the cluster of ${main.contextName}` }
    if (match.context) {
      const context = match.context
      return { kube: await kube(ctx, { context, setting: 'VAULT_KUBE_CONTEXT' }), context, why: `${at}, on the Argo CD cluster ${cluster.name} (${cluster.server}): kube context ${context}` }
    }
    throw new SetupError(`Vault runs on the Argo CD cluster ${cluster.name} (${cluster.server ?? 'server not in the repo'}): ${at}; ${noContextText(main, cluster, match)}`, FIX)
  }
  // the repo does not say: the store's host may still be the host this run's context talks to, or
  // Vault's pod may be on Argo CD's cluster, reached through a node address
  if (store.host && hostOf(main.server) === store.host.toLowerCase()) return { kube: main, why: `${at}, the host of ${main.contextName}` }
  const pod = await main.get({ apiVersion: 'v1', kind: 'Pod', namespace: s.vaultNamespace, name: s.vaultPod })
  if (pod) return { kube: main, why: `${at} (${store.clusterWhy}); the pod ${s.vaultNamespace}/${s.vaultPod} runs on ${main.contextName}` }
  throw new SetupError(`cannot tell which cluster Vault runs on: ${at} (${store.clusterWhy}), and ${main.contextName} has no pod ${s.vaultNamespace}/${s.vaultPod}`, FIX)
}
