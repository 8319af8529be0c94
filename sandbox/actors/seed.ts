// The cluster as the homelab had it before the setup, built from the GitOps repo: namespaces, the
// Argo CD and ESO CRDs, the repo's AppProjects and Applications as at origin's HEAD, the resources
// those Applications synced (so it-tools runs), Vault (`vault-0`, its token Secret, the existing
// cloudflare secret) and the registry tags of the images that run.
import type { KObject, Store } from '../store.ts'
import type { ArgoCdController } from './argocd.ts'
import { applicationCrd, appProjectCrd, clusterSecretStoreCrd, externalSecretCrd } from './crds.ts'
import type { GitRemote } from './git-source.ts'
import type { InMemoryRegistry } from './registry.ts'
import { parseManifests } from './render.ts'
import { reconcileExternalSecrets } from './eso.ts'
import { splitImage } from './update-options.ts'
import type { VaultState } from './vault.ts'
import { reconcileDeployments, runningPod } from './workloads.ts'

export const SEED_NAMESPACES = ['argocd', 'vault', 'external-secrets', 'personal-services']
// The operator applied these with `kubectl apply` long ago.
const MANAGER = 'kubectl-client-side-apply'

function ensure(store: Store, obj: KObject): void {
  const existing = store.get({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name })
  if (!existing) store.create(obj, MANAGER)
}

export async function seedCluster(opts: { store: Store; remote: GitRemote; argo: ArgoCdController; vault: VaultState; registry: InMemoryRegistry; log: (l: string) => void }): Promise<void> {
  const { store, remote, vault } = opts
  for (const name of SEED_NAMESPACES) ensure(store, { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {}, status: { phase: 'Active' } })
  for (const crd of [applicationCrd(), appProjectCrd(), externalSecretCrd(), clusterSecretStoreCrd()]) ensure(store, crd)

  ensure(store, runningPod({ name: 'vault-0', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/instance': 'vault', component: 'server', 'statefulset.kubernetes.io/pod-name': 'vault-0' }, spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.17.2' }] } }))
  ensure(store, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'vault', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' } }, spec: { selector: { 'app.kubernetes.io/name': 'vault' }, ports: [{ name: 'http', port: 8200, targetPort: 8200 }] } })
  ensure(store, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'external-secrets' }, type: 'Opaque', data: { token: Buffer.from(vault.rootToken).toString('base64') } })

  const head = await remote.resolve('HEAD')
  if (!head) throw new Error(`the GitOps remote ${remote.bareDir} has no commits`)
  const files = await remote.listFiles(head, '.')
  const manifestsUnder = async (dir: string) => {
    const out: KObject[] = []
    for (const f of files.filter((f) => f.startsWith(`${dir}/`) && /\.ya?ml$/.test(f))) out.push(...parseManifests(await remote.show(head, f), f))
    return out
  }
  for (const p of (await manifestsUnder('argocd/projects')).filter((o) => o.kind === 'AppProject')) ensure(store, { ...p, metadata: { ...p.metadata, namespace: p.metadata.namespace ?? 'argocd' } })
  const apps = (await manifestsUnder('argocd/applications')).filter((o) => o.kind === 'Application')
  for (const a of apps) ensure(store, { ...a, metadata: { ...a.metadata, namespace: a.metadata.namespace ?? 'argocd' } })

  // Secrets the existing ExternalSecrets read were put in Vault long ago.
  vault.write('secret/data/homelab/cloudflare', { token: 'cf-sandbox-token' })

  // What these Applications had synced: one sync each, as if done before.
  for (const a of store.list('argoproj.io/v1alpha1', 'Application')) {
    const withOp = { ...a, operation: { sync: {}, initiatedBy: { username: 'admin' } } }
    await opts.argo.reconcile(withOp)
  }
  // The store config exists even when no app synced it.
  if (!store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: 'vault-backend' }) && files.includes('k8s/helm/manifests/vault-eso-config.yaml')) {
    for (const o of parseManifests(await remote.show(head, 'k8s/helm/manifests/vault-eso-config.yaml'), 'vault-eso-config.yaml')) if (o.kind === 'ClusterSecretStore') ensure(store, o)
  }
  reconcileDeployments(store)
  reconcileExternalSecrets(store, vault)
  // Statuses as Argo CD would report them once the workloads are up.
  await opts.argo.reconcileAll()
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000)
  for (const d of store.list('apps/v1', 'Deployment')) {
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      const { name, tag } = splitImage(String(c.image))
      if (name.startsWith('ghcr.io/') && tag) opts.registry.pushTag(name, tag, dayAgo)
    }
  }
  opts.log(`sandbox: seeded ${apps.length} Applications from ${remote.bareDir} at ${head.slice(0, 7)}`)
}
