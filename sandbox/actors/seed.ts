// The cluster as the homelab had it before the setup, built from the GitOps repo at origin's HEAD:
// Argo CD and ESO CRDs, k3s' own parts (local-path StorageClass), Vault (`vault-0`, its token
// Secret), every AppProject and Application found in the repo (the ones applied by hand and the
// children a root app renders), the CRDs of the custom kinds those apps render (installed by other
// means on a real homelab), every namespace their resources live in, a generated placeholder in
// Vault for every key their ExternalSecrets read, and one sync of each app as if done long ago.
// Apps the sandbox cannot render (a public Helm chart) are kept as opaque apps without resources.
// The start report says what each app is and what the sandbox could not model.
import { randomBytes } from 'node:crypto'
import type { KObject, Store } from '../store.ts'
import { splitApiVersion } from '../apiserver/kinds.ts'
import { hasModel } from '../apiserver/model-schema.ts'
import type { ArgoCdController } from './argocd.ts'
import { ClusterDirectory, declaredCluster, generatedClusterSecret, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, makesClusterSecret, normaliseServer, type ClusterHandle, type PlannedCluster } from './clusters.ts'
import { reconcileApplicationSets } from './applicationset.ts'
import { applicationCrd, applicationSetCrd, appProjectCrd, clusterSecretStoreCrd, externalSecretCrd, installedCrd } from './crds.ts'
import { vaultApiPath } from './eso-keys.ts'
import { reconcileExternalSecrets } from './eso.ts'
import { normaliseRepoUrl, type GitRemote } from './git-source.ts'
import { ARGO_HELM_REPO, IMAGE_UPDATER_CHART } from './helm-image-updater.ts'
import { localPathStorageClass, outOfBandStorageClass, reconcileK3s, storageClassesOutOfBand } from './k3s.ts'
import type { InMemoryRegistry } from './registry.ts'
import { parseManifests } from './render.ts'
import { reconcileStatefulWorkloads } from './stateful-workloads.ts'
import { splitImage } from './update-options.ts'
import type { VaultState } from './vault.ts'
import { reconcileDeployments, runningPod } from './workloads.ts'

export const SEED_NAMESPACES = ['argocd', 'vault', 'external-secrets', 'kube-node-lease']
// The operator applied these with `kubectl apply` long ago.
const MANAGER = 'kubectl-client-side-apply'
const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }

/** Problems a test can have the seeder leave in place, to tell earlier problems from the product's. */
export type SeededProblem = 'Degraded' | 'OutOfSync'

/** The API groups of built-in kinds: a kind of these the sandbox does not serve cannot get a CRD. */
const BUILTIN_GROUPS = new Set(['', 'apps', 'batch', 'policy', 'autoscaling', 'extensions', 'events.k8s.io', 'networking.k8s.io', 'storage.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'node.k8s.io', 'discovery.k8s.io', 'admissionregistration.k8s.io', 'certificates.k8s.io', 'flowcontrol.apiserver.k8s.io', 'apiregistration.k8s.io', 'resource.k8s.io'])

/** The Argo CD objects found in the repo at HEAD, and every repoURL their sources name. */
export interface RepoScan {
  head: string
  projects: KObject[]
  applications: KObject[]
  /** cluster Secrets and the ExternalSecrets that make them (label argocd.argoproj.io/secret-type: cluster) */
  clusterDocs: KObject[]
  applicationSets: KObject[]
}

export interface StartReport {
  /** one entry per Application: its cluster, sync, health, and why when it is opaque or not Synced and Healthy */
  apps: { name: string; cluster: string; sync: string; health: string; note?: string; reasons?: string[] }[]
  /** the clusters the sandbox runs: in-cluster first, then one per other destination, with where its cluster Secret came from */
  clusters: { name: string; server: string; secretFrom: string }[]
  /** the cluster vault-0 runs on */
  vaultCluster: string
  /** apps kept opaque, with the reason */
  opaque: { name: string; reason: string }[]
  /** CRDs installed for custom kinds the apps render, and whether a package gave the real schema */
  crds: { name: string; schemaFrom?: string; cluster?: string }[]
  /** kinds the sandbox could not serve at all (built-in kinds it does not model) */
  unknownKinds: string[]
  /** what the sandbox could not model, one line each (empty: it modelled everything) */
  unmodelled: string[]
  /** storage classes the claims use that nothing in the repo defines: taken as installed by hand */
  storageClassesOutOfBand?: string[]
  /** each ApplicationSet: how many Applications it generated, or the error it reports (a generator not modelled among them) */
  applicationSets?: { name: string; applications: number; error?: string }[]
}

const sourcesOf = (app: KObject): any[] => (Array.isArray(app.spec?.sources) && app.spec.sources.length ? app.spec.sources : app.spec?.source ? [app.spec.source] : [])
const isArgo = (o: KObject, kind: string) => o?.kind === kind && String(o.apiVersion).startsWith('argoproj.io/')

/** Every AppProject and Application in the repo's YAML files at HEAD (files that do not parse are skipped). */
export async function scanRepo(remote: GitRemote): Promise<RepoScan> {
  const head = await remote.resolve('HEAD')
  if (!head) throw new Error(`the GitOps remote ${remote.bareDir} has no commits`)
  const files = (await remote.listFiles(head, '.')).filter((f) => /\.ya?ml$/.test(f))
  const texts = await Promise.all(files.map(async (f) => [f, await remote.show(head, f)] as const))
  const projects: KObject[] = []
  const applications: KObject[] = []
  const clusterDocs: KObject[] = []
  const applicationSets: KObject[] = []
  for (const [file, text] of texts) {
    if (!text.includes('argoproj.io')) continue
    let docs: KObject[]
    try {
      docs = parseManifests(text, file)
    } catch {
      continue // a template or a broken file: Argo CD reports it when an app renders it
    }
    for (const o of docs) {
      const withNs = { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? 'argocd' } }
      if (isArgo(o, 'AppProject')) projects.push(withNs)
      // Only whole Applications (a kustomize patch of one has no destination).
      else if (isArgo(o, 'Application') && sourcesOf(o).length && o.spec?.destination) applications.push(withNs)
      else if (isArgo(o, 'ApplicationSet') && o.spec?.generators && o.spec?.template) applicationSets.push(withNs)
      else if (makesClusterSecret(o)) clusterDocs.push(withNs)
    }
  }
  return { head, projects, applications, clusterDocs, applicationSets }
}

/** Why the sandbox cannot render an app's sources (undefined: it can). */
export function unrenderable(app: KObject, remoteFor: (url: string) => GitRemote | undefined): string | undefined {
  for (const s of sourcesOf(app)) {
    if (s?.chart) {
      if (normaliseRepoUrl(String(s.repoURL)) === normaliseRepoUrl(ARGO_HELM_REPO) && s.chart === IMAGE_UPDATER_CHART) continue
      return `Helm chart ${s.chart} ${s.targetRevision ?? ''} from ${s.repoURL} (no network here)`.replace('  ', ' ')
    }
    if (!remoteFor(String(s?.repoURL ?? ''))) return `source ${s?.repoURL} is another repository`
  }
  return undefined
}

/** Apps kept opaque, by namespace/name, with the sources they had when seeded (a changed app is rendered again). */
export class OpaqueApps {
  private readonly apps = new Map<string, { sources: string; reason: string }>()
  add(app: KObject, reason: string): void {
    this.apps.set(`${app.metadata.namespace}/${app.metadata.name}`, { sources: JSON.stringify(sourcesOf(app)), reason })
  }
  has(app: KObject): boolean {
    return this.apps.get(`${app.metadata.namespace}/${app.metadata.name}`)?.sources === JSON.stringify(sourcesOf(app))
  }
  reason(app: KObject): string | undefined {
    return this.has(app) ? this.apps.get(`${app.metadata.namespace}/${app.metadata.name}`)!.reason : undefined
  }
}

function ensure(store: Store, obj: KObject): void {
  const existing = store.get({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name })
  if (!existing) store.create(obj, MANAGER)
}

const namespace = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {}, status: { phase: 'Active' } })
const placeholder = () => `sandbox-${randomBytes(9).toString('base64url')}`

/** The Vault API paths and properties the ExternalSecrets read (through the stores they name). */
function vaultReads(objects: KObject[], store: Store): Map<string, Set<string>> {
  const stores = new Map<string, KObject>()
  for (const o of [...store.list('external-secrets.io/v1', 'ClusterSecretStore'), ...objects.filter((o) => o.kind === 'ClusterSecretStore')]) stores.set(o.metadata.name, o)
  const reads = new Map<string, Set<string>>()
  const add = (es: KObject, key: unknown, property: unknown) => {
    const provider = stores.get(es.spec?.secretStoreRef?.name)?.spec?.provider?.vault ?? { path: 'secret', version: 'v2' }
    const path = vaultApiPath(String(key ?? ''), provider)
    const props = reads.get(path) ?? new Set<string>()
    if (typeof property === 'string' && property) props.add(property)
    reads.set(path, props)
  }
  for (const es of objects.filter((o) => o.kind === 'ExternalSecret' && String(o.apiVersion).startsWith('external-secrets.io/'))) {
    for (const d of es.spec?.data ?? []) add(es, d?.remoteRef?.key, d?.remoteRef?.property)
    for (const d of es.spec?.dataFrom ?? []) if (d?.extract) add(es, d.extract.key, d.extract.property)
  }
  return reads
}

export interface SeedOptions {
  /** the in-cluster API's objects (Argo CD's cluster) */
  store: Store
  remote: GitRemote
  scan: RepoScan
  argo: ArgoCdController
  opaque: OpaqueApps
  remoteFor(url: string): GitRemote | undefined
  vault: VaultState
  registry: InMemoryRegistry
  log: (l: string) => void
  /** Apps to leave with a problem (Degraded: their ExternalSecrets' Vault keys stay empty; OutOfSync: one resource deleted). */
  problems?: Record<string, SeededProblem>
  /** every cluster the sandbox runs (in-cluster alone for a single-cluster repo) */
  clusters?: ClusterDirectory
  /** the clusters besides in-cluster the repo names, and where their cluster Secrets come from */
  planned?: PlannedCluster[]
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const ES_KINDS = new Set(['ExternalSecret', 'ClusterSecretStore', 'SecretStore'])

/** A Secret as the API server stores it: stringData folded into data. */
function asStored(secret: KObject): KObject {
  const { stringData, ...rest } = secret as any
  if (!stringData) return secret
  return { ...rest, data: { ...(rest.data ?? {}), ...Object.fromEntries(Object.entries<string>(stringData).map(([k, v]) => [k, b64(String(v))])) } }
}

/** The repo document that registers a planned cluster (its Secret, or the ExternalSecret making it). */
function registrationOf(c: PlannedCluster, docs: KObject[], taken: Set<KObject>): KObject | undefined {
  const declared = (o: KObject) => declaredCluster(o) ?? {}
  const exact = docs.find((o) => !taken.has(o) && o.kind === c.secretFrom && (declared(o).name === c.name || (declared(o).server && normaliseServer(declared(o).server!) === c.server)))
  if (exact) return exact
  // an ExternalSecret whose name and server come from Vault: the one named after the cluster, else the only one left
  const open = docs.filter((o) => !taken.has(o) && o.kind === c.secretFrom)
  return open.find((o) => o.metadata.name.includes(c.name) || String(o.spec?.target?.name ?? '').includes(c.name)) ?? (open.length === 1 ? open[0] : undefined)
}

/**
 * The Vault values an ExternalSecret that makes a cluster Secret must read so that the Secret names
 * this cluster: where its template (or, without one, the Secret itself) takes `name` or `server`
 * from a Vault key, that key holds the cluster's name or server.
 */
function clusterVaultValues(es: KObject, c: PlannedCluster, store: Store, objects: KObject[]): Map<string, Record<string, string>> {
  const want: Record<string, string> = { name: c.name, server: c.server }
  const template = es.spec?.target?.template?.data
  // secret key (what the template sees) → the value it must have
  const needed = new Map<string, string>()
  for (const field of ['name', 'server']) {
    const t = template?.[field]
    if (template && typeof t === 'string') {
      const ref = /^\s*\{\{-?\s*\.(\w+)\s*-?\}\}\s*$/.exec(t)
      if (ref) needed.set(ref[1]!, want[field]!)
    } else if (!template) needed.set(field, want[field]!)
  }
  const out = new Map<string, Record<string, string>>()
  const css = [...store.list('external-secrets.io/v1', 'ClusterSecretStore'), ...objects.filter((o) => o.kind === 'ClusterSecretStore')].find((o) => o.metadata.name === es.spec?.secretStoreRef?.name)
  const provider = css?.spec?.provider?.vault ?? { path: 'secret', version: 'v2' }
  const put = (key: unknown, prop: string, value: string) => {
    const path = vaultApiPath(String(key ?? ''), provider)
    out.set(path, { ...(out.get(path) ?? {}), [prop]: value })
  }
  for (const d of es.spec?.data ?? []) {
    const value = needed.get(d?.secretKey)
    if (value !== undefined) put(d?.remoteRef?.key, d?.remoteRef?.property || 'value', value)
  }
  for (const d of es.spec?.dataFrom ?? []) if (d?.extract) for (const [k, v] of needed) if (!(es.spec?.data ?? []).some((x: any) => x?.secretKey === k)) put(d.extract.key, k, v)
  return out
}

export async function seedCluster(opts: SeedOptions): Promise<StartReport> {
  const { store, vault, scan, argo } = opts
  const problems = opts.problems ?? {}
  const inCluster: ClusterHandle = opts.clusters?.inCluster ?? { name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, store, pods: undefined as never }
  const clusters = opts.clusters ?? new ClusterDirectory(inCluster, [])
  const planned = opts.planned ?? []
  for (const name of SEED_NAMESPACES.filter((n) => n !== 'vault')) ensure(store, namespace(name))
  for (const crd of [applicationCrd(), appProjectCrd(), applicationSetCrd(), externalSecretCrd(), clusterSecretStoreCrd()]) ensure(store, crd)
  for (const c of clusters.all) {
    ensure(c.store, namespace('kube-node-lease'))
    ensure(c.store, localPathStorageClass())
  }

  for (const p of scan.projects) ensure(store, p)
  // Argo CD makes the project `default` when it starts (unless the repo brings its own)
  ensure(store, { apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'default', namespace: 'argocd' }, spec: { sourceRepos: ['*'], destinations: [{ namespace: '*', server: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] } })
  for (const a of scan.applications) ensure(store, a)
  // the ApplicationSets applied long ago, and the Applications they generated then
  for (const s of scan.applicationSets) ensure(store, s)
  await reconcileApplicationSets({ store, remoteFor: opts.remoteFor, log: opts.log })
  for (const name of Object.keys(problems)) if (!store.get({ ...APP, namespace: 'argocd', name })) throw new Error(`sandbox: cannot seed ${name} ${problems[name]}: the repo has no Application named ${name}`)

  // Argo CD's cluster Secrets, as they were before any sync: the repo's own (its Secret; the Secret
  // its ExternalSecret made long ago) or, where the repo registers none, the one `argocd cluster add` made.
  const taken = new Set<KObject>()
  const registrations = new Map<PlannedCluster, KObject>()
  for (const c of planned) {
    const doc = c.secretFrom === 'generated' ? undefined : registrationOf(c, scan.clusterDocs, taken)
    if (doc) {
      taken.add(doc)
      registrations.set(c, doc)
    }
    if (!doc) ensure(store, generatedClusterSecret(c))
    else if (doc.kind === 'Secret') ensure(store, asStored(doc))
    else {
      const target = String(doc.spec?.target?.name ?? doc.metadata.name)
      const labels = { ...(doc.spec?.target?.template?.metadata?.labels ?? {}) }
      ensure(store, { apiVersion: 'v1', kind: 'Secret', metadata: { name: target, namespace: doc.metadata.namespace ?? 'argocd', labels }, type: 'Opaque', data: { name: b64(c.name), server: b64(c.server) } })
    }
  }
  const clusterOf = (app: KObject): ClusterHandle => {
    const r = clusters.resolve(app.metadata.name, app.spec?.destination)
    return 'cluster' in r ? r.cluster : inCluster
  }

  // What each app renders; the opaque ones render nothing.
  const report: StartReport = { apps: [], opaque: [], crds: [], unknownKinds: [], unmodelled: [], clusters: [{ name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, secretFrom: 'in-cluster' }, ...planned.map((p) => ({ name: p.name, server: p.server, secretFrom: p.secretFrom }))], vaultCluster: IN_CLUSTER_NAME }
  const rendered = new Map<string, KObject[]>()
  const appCluster = new Map<string, ClusterHandle>()
  for (const app of store.list(APP.apiVersion, APP.kind)) {
    const cluster = clusterOf(app)
    appCluster.set(app.metadata.name, cluster)
    const reason = unrenderable(app, opts.remoteFor)
    if (reason) {
      opts.opaque.add(app, reason)
      report.opaque.push({ name: app.metadata.name, reason })
      // Its chart put its resources in the destination namespace.
      if (app.spec?.destination?.namespace) ensure(cluster.store, namespace(app.spec.destination.namespace))
      continue
    }
    const { objects, error } = await argo.desired(app)
    if (error && /does not render Helm charts from git/.test(error)) {
      const why = `Helm chart in git at ${sourcesOf(app)[0]?.path}`
      opts.opaque.add(app, why)
      report.opaque.push({ name: app.metadata.name, reason: why })
      if (app.spec?.destination?.namespace) ensure(cluster.store, namespace(app.spec.destination.namespace))
      continue
    }
    rendered.set(app.metadata.name, objects)
  }
  const all = [...rendered.values()].flat()

  const installedKinds = new Set<string>()
  for (const cluster of clusters.all) {
    const objects = [...rendered].filter(([n]) => appCluster.get(n) === cluster).flatMap(([, o]) => o)
    // ESO runs on each cluster that has a store (its CRDs and namespace with it).
    if (cluster !== inCluster && objects.some((o) => ES_KINDS.has(o.kind) && String(o.apiVersion).startsWith('external-secrets.io/'))) {
      for (const crd of [externalSecretCrd(), clusterSecretStoreCrd()]) ensure(cluster.store, crd)
      for (const kind of ES_KINDS) installedKinds.add(`external-secrets.io/${kind}`)
      ensure(cluster.store, namespace('external-secrets'))
    }
    // CRDs of the custom kinds the apps render that nothing serves yet and no app defines.
    const missing = new Map<string, { group: string; kind: string; versions: string[] }>()
    for (const o of objects) {
      if (cluster.store.typeOf(o.apiVersion, o.kind)) continue
      const { group, version } = splitApiVersion(o.apiVersion)
      if (objects.some((c) => c.kind === 'CustomResourceDefinition' && c.spec?.group === group && c.spec?.names?.kind === o.kind)) continue
      if (BUILTIN_GROUPS.has(group)) {
        const name = `${o.apiVersion} ${o.kind}`
        if (!report.unknownKinds.includes(name)) report.unknownKinds.push(name)
        continue
      }
      const entry = missing.get(`${group}/${o.kind}`) ?? { group, kind: o.kind, versions: [] }
      if (!entry.versions.includes(version)) entry.versions.push(version)
      missing.set(`${group}/${o.kind}`, entry)
    }
    for (const m of missing.values()) {
      const { crd, schemaFrom } = installedCrd(m.group, m.kind, m.versions, (pkg, v) => hasModel(pkg, m.group, v, m.kind))
      ensure(cluster.store, crd)
      installedKinds.add(`${m.group}/${m.kind}`)
      report.crds.push({ name: crd.metadata.name, ...(schemaFrom ? { schemaFrom } : {}), ...(cluster !== inCluster ? { cluster: cluster.name } : {}) })
    }
    // a class the claims name and nothing on this cluster defines was installed by hand
    const outOfBand = storageClassesOutOfBand(objects)
    for (const name of outOfBand) ensure(cluster.store, outOfBandStorageClass(name))
    for (const name of outOfBand) if (!(report.storageClassesOutOfBand ?? []).includes(name)) report.storageClassesOutOfBand = [...(report.storageClassesOutOfBand ?? []), name]
    // Every namespace a resource lives in, whether an app creates it or the operator made it by hand.
    for (const o of objects) {
      const type = cluster.store.typeOf(o.apiVersion, o.kind)
      if (type?.namespaced !== false && o.metadata.namespace) ensure(cluster.store, namespace(o.metadata.namespace))
      if (o.kind === 'Namespace' && !splitApiVersion(o.apiVersion).group) ensure(cluster.store, namespace(o.metadata.name))
    }
  }

  // the renders above guessed the scope of kinds whose CRDs were only installed now
  argo.forgetRenders(installedKinds)

  // Vault runs on the cluster whose address its ClusterSecretStores name (the host of
  // provider.vault.server is that cluster's node), else beside Argo CD.
  const vaultServer = all.find((o) => o.kind === 'ClusterSecretStore' && o.spec?.provider?.vault?.server && clusters.byHost(o.spec.provider.vault.server))?.spec.provider.vault.server
  const vaultCluster = (vaultServer && clusters.byHost(vaultServer)) || inCluster
  report.vaultCluster = vaultCluster.name
  ensure(vaultCluster.store, namespace('vault'))
  ensure(vaultCluster.store, runningPod({ name: 'vault-0', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/instance': 'vault', component: 'server', 'statefulset.kubernetes.io/pod-name': 'vault-0' }, spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.17.2' }] } }))
  ensure(vaultCluster.store, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'vault', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' } }, spec: { selector: { 'app.kubernetes.io/name': 'vault' }, ports: [{ name: 'http', port: 8200, targetPort: 8200 }] } })
  for (const c of clusters.all) if (c.store.typeOf('external-secrets.io/v1', 'ExternalSecret')) ensure(c.store, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'external-secrets' }, type: 'Opaque', data: { token: Buffer.from(vault.rootToken).toString('base64') } })

  // A generated value for every Vault key an ExternalSecret reads (except where a test wants it Degraded).
  const degraded = new Set(Object.entries(problems).filter(([, p]) => p === 'Degraded').map(([n]) => n))
  const keep = vaultReads([...rendered].filter(([n]) => !degraded.has(n)).flatMap(([, o]) => o), store)
  for (const [name] of [...rendered].filter(([n]) => degraded.has(n))) {
    if (!rendered.get(name)!.some((o) => o.kind === 'ExternalSecret')) throw new Error(`sandbox: cannot seed ${name} Degraded: it renders no ExternalSecret whose Vault key could be missing`)
  }
  const withheld = vaultReads([...rendered].filter(([n]) => degraded.has(n)).flatMap(([, o]) => o), store)
  // The keys an ExternalSecret making a cluster Secret reads hold that cluster's name and server.
  const fixed = new Map<string, Record<string, string>>()
  for (const [c, doc] of registrations) {
    if (doc.kind !== 'ExternalSecret') continue
    const live = all.find((o) => o.kind === 'ExternalSecret' && o.metadata.name === doc.metadata.name && o.metadata.namespace === doc.metadata.namespace) ?? doc
    for (const [path, values] of clusterVaultValues(live, c, store, all)) fixed.set(path, { ...(fixed.get(path) ?? {}), ...values })
  }
  for (const [path, props] of keep) {
    if (withheld.has(path) || vault.readLatest(path)) continue
    const data: Record<string, string> = {}
    for (const p of props.size ? props : fixed.has(path) ? [] : ['value']) data[p] = placeholder()
    vault.write(path, { ...data, ...(fixed.get(path) ?? {}) })
  }

  // What these Applications had synced: one sync each, as if done long ago.
  const syncOnce = (a: KObject) => argo.reconcile({ ...a, operation: { sync: {}, initiatedBy: { username: 'admin' } } })
  for (const a of store.list(APP.apiVersion, APP.kind)) await syncOnce(a)
  // Children a root app created in that pass get their first sync too.
  for (const a of store.list(APP.apiVersion, APP.kind)) if (!a.status?.operationState) await syncOnce(a)
  for (let i = 0; i < 3; i++) {
    for (const c of clusters.all) {
      reconcileDeployments(c.store)
      reconcileStatefulWorkloads(c.store)
      reconcileK3s(c.store)
      if (c.store.typeOf('external-secrets.io/v1', 'ExternalSecret')) reconcileExternalSecrets(c.store, vault)
    }
  }
  for (const [name, problem] of Object.entries(problems)) if (problem === 'OutOfSync') breakSync(store, appCluster.get(name)?.store ?? store, name, rendered.get(name) ?? [])
  await argo.reconcileAll()

  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000)
  for (const c of clusters.all) {
    for (const d of c.store.list('apps/v1', 'Deployment')) {
      for (const ctr of d.spec?.template?.spec?.containers ?? []) {
        const { name, tag } = splitImage(String(ctr.image))
        if (name.startsWith('ghcr.io/') && tag) opts.registry.pushTag(name, tag, dayAgo)
      }
    }
  }

  for (const a of store.list(APP.apiVersion, APP.kind)) {
    const reason = opts.opaque.reason(a)
    const sync = a.status?.sync?.status ?? 'Unknown'
    const health = a.status?.health?.status ?? 'Unknown'
    const why = sync === 'Synced' && health === 'Healthy' ? [] : appReasons(a)
    const note = reason ? `opaque: ${reason}` : problems[a.metadata.name] ? `seeded ${problems[a.metadata.name]} on purpose` : why[0]
    report.apps.push({ name: a.metadata.name, cluster: clusterOf(a).name, sync, health, ...(note ? { note } : {}), ...(why.length ? { reasons: why } : {}) })
  }
  for (const set of store.list('argoproj.io/v1alpha1', 'ApplicationSet')) {
    const error = (set.status?.conditions ?? []).find((c: any) => c.type === 'ErrorOccurred' && c.status === 'True')?.message
    const applications = store.list(APP.apiVersion, APP.kind, set.metadata.namespace, (a) => ((a.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === set.metadata.uid)).length
    report.applicationSets = [...(report.applicationSets ?? []), { name: set.metadata.name, applications, ...(error ? { error } : {}) }]
    if (error && /is not modelled by the sandbox/.test(error)) report.unmodelled.push(`ApplicationSet ${set.metadata.name}: ${error}`)
  }
  for (const o of report.opaque) report.unmodelled.push(`${o.name}: rendered as an opaque app without resources (${o.reason})`)
  for (const k of report.unknownKinds) report.unmodelled.push(`kind ${k}: not served by the sandbox`)
  for (const c of report.crds) if (!c.schemaFrom) report.unmodelled.push(`CRD ${c.name}: installed with a permissive schema (no package ships its real one)`)
  opts.log(`sandbox: seeded ${store.list(APP.apiVersion, APP.kind).length} Applications from ${opts.remote.bareDir} at ${scan.head.slice(0, 7)}${planned.length ? ` on ${planned.length + 1} clusters` : ''}`)
  return report
}

/**
 * Why an Application is not Synced and Healthy, as `kubectl describe application` shows it: its
 * conditions, the last operation's message when it did not succeed, and each resource that is out
 * of sync or not healthy, with the health message.
 */
export function appReasons(app: KObject): string[] {
  const out: string[] = []
  for (const c of app.status?.conditions ?? []) out.push(`${c.type}: ${c.message}`)
  const op = app.status?.operationState
  if (op && op.phase !== 'Succeeded' && op.message) out.push(`sync ${op.phase}: ${op.message}`)
  for (const r of app.status?.resources ?? []) {
    const id = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`
    if (r.requiresPruning) out.push(`${id}: OutOfSync (requires pruning)`)
    else if (r.status && r.status !== 'Synced') out.push(`${id}: ${r.status}${r.health?.status && r.health.status !== 'Healthy' ? `, ${r.health.status}${r.health.message ? `: ${r.health.message}` : ''}` : ''}`)
    else if (r.health?.status && r.health.status !== 'Healthy') out.push(`${id}: ${r.health.status}${r.health.message ? `: ${r.health.message}` : ''}`)
  }
  return out
}

/** OutOfSync on purpose: one resource of the app is gone (an app without selfHeal leaves it so). */
function breakSync(store: Store, target: Store, name: string, objects: KObject[]): void {
  const app = store.list(APP.apiVersion, APP.kind).find((a) => a.metadata.name === name)!
  if (app.spec?.syncPolicy?.automated?.selfHeal) throw new Error(`sandbox: cannot seed ${name} OutOfSync: it has selfHeal, so Argo CD would heal it`)
  const victim = objects.find((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition')
  if (!victim) throw new Error(`sandbox: cannot seed ${name} OutOfSync: it renders no resource`)
  target.delete({ apiVersion: victim.apiVersion, kind: victim.kind, namespace: victim.metadata.namespace, name: victim.metadata.name })
}

/**
 * The start report as lines: the Applications grouped by the cluster they deploy to (sync, health,
 * and for each one not Synced and Healthy the reasons `kubectl describe application` gives), the
 * CRDs installed, then what the sandbox could not model.
 */
const REPORT_REASONS = 6

export function reportLines(report: StartReport, contexts: Record<string, string> = {}): string[] {
  const width = Math.max(4, ...report.apps.map((a) => a.name.length))
  const lines: string[] = []
  const clusters = report.clusters?.length ? report.clusters : [{ name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, secretFrom: 'in-cluster' }]
  const several = clusters.length > 1
  for (const c of clusters) {
    const apps = report.apps.filter((a) => (a.cluster ?? IN_CLUSTER_NAME) === c.name)
    if (several) {
      const context = contexts[c.name] ? `, context ${contexts[c.name]}` : ''
      const from = c.secretFrom === 'in-cluster' ? '' : c.secretFrom === 'generated' ? ', cluster Secret generated (the repo registers none)' : `, cluster Secret from the repo's ${c.secretFrom}`
      lines.push(`cluster ${c.name} (${c.server}${context}${from}${report.vaultCluster === c.name ? ', Vault' : ''}): ${apps.length} Application(s)`)
    }
    for (const a of apps) {
      lines.push(`  ${a.name.padEnd(width)}  ${a.sync.padEnd(9)} ${a.health.padEnd(11)}${a.note ? ` ${a.note}` : ''}`.trimEnd())
      // the first reasons in full; a sync that failed for one cause leaves dozens of resources Missing
      const rest = (a.reasons ?? []).slice(a.note === a.reasons?.[0] ? 1 : 0)
      for (const r of rest.slice(0, REPORT_REASONS)) lines.push(`  ${' '.repeat(width)}    ${r}`)
      if (rest.length > REPORT_REASONS) lines.push(`  ${' '.repeat(width)}    ... and ${rest.length - REPORT_REASONS} more (kubectl describe application ${a.name} -n argocd)`)
    }
  }
  for (const c of report.crds) lines.push(`  CRD ${c.name}${c.cluster ? ` (on ${c.cluster})` : ''}: ${c.schemaFrom ? `schema from ${c.schemaFrom}` : 'permissive schema'}`)
  for (const s of report.applicationSets ?? []) lines.push(`  ApplicationSet ${s.name}: ${s.error ? `ErrorOccurred: ${s.error}` : `${s.applications} Application(s) generated`}`)
  for (const name of report.storageClassesOutOfBand ?? []) lines.push(`  StorageClass ${name}: installed out of band (nothing in the repo defines it); its claims bind at once (Immediate)`)
  if (report.unmodelled.length) lines.push(`  not modelled (${report.unmodelled.length}): ${report.unmodelled.join('; ')}`)
  return lines
}
