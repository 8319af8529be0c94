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
import { applicationCrd, appProjectCrd, clusterSecretStoreCrd, externalSecretCrd, installedCrd } from './crds.ts'
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
}

export interface StartReport {
  /** one line per Application: name, sync, health (and why, when it is opaque or broken) */
  apps: { name: string; sync: string; health: string; note?: string }[]
  /** apps kept opaque, with the reason */
  opaque: { name: string; reason: string }[]
  /** CRDs installed for custom kinds the apps render, and whether a package gave the real schema */
  crds: { name: string; schemaFrom?: string }[]
  /** kinds the sandbox could not serve at all (built-in kinds it does not model) */
  unknownKinds: string[]
  /** what the sandbox could not model, one line each (empty: it modelled everything) */
  unmodelled: string[]
  /** storage classes the claims use that nothing in the repo defines: taken as installed by hand */
  storageClassesOutOfBand?: string[]
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
    }
  }
  return { head, projects, applications }
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
}

export async function seedCluster(opts: SeedOptions): Promise<StartReport> {
  const { store, vault, scan, argo } = opts
  const problems = opts.problems ?? {}
  for (const name of SEED_NAMESPACES) ensure(store, namespace(name))
  for (const crd of [applicationCrd(), appProjectCrd(), externalSecretCrd(), clusterSecretStoreCrd()]) ensure(store, crd)
  ensure(store, localPathStorageClass())

  ensure(store, runningPod({ name: 'vault-0', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/instance': 'vault', component: 'server', 'statefulset.kubernetes.io/pod-name': 'vault-0' }, spec: { containers: [{ name: 'vault', image: 'hashicorp/vault:1.17.2' }] } }))
  ensure(store, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'vault', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' } }, spec: { selector: { 'app.kubernetes.io/name': 'vault' }, ports: [{ name: 'http', port: 8200, targetPort: 8200 }] } })
  ensure(store, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: 'external-secrets' }, type: 'Opaque', data: { token: Buffer.from(vault.rootToken).toString('base64') } })

  for (const p of scan.projects) ensure(store, p)
  for (const a of scan.applications) ensure(store, a)
  for (const name of Object.keys(problems)) if (!scan.applications.some((a) => a.metadata.name === name)) throw new Error(`sandbox: cannot seed ${name} ${problems[name]}: the repo has no Application named ${name}`)

  // What each app renders; the opaque ones render nothing.
  const report: StartReport = { apps: [], opaque: [], crds: [], unknownKinds: [], unmodelled: [] }
  const rendered = new Map<string, KObject[]>()
  for (const app of store.list(APP.apiVersion, APP.kind)) {
    const reason = unrenderable(app, opts.remoteFor)
    if (reason) {
      opts.opaque.add(app, reason)
      report.opaque.push({ name: app.metadata.name, reason })
      // Its chart put its resources in the destination namespace.
      if (app.spec?.destination?.namespace) ensure(store, namespace(app.spec.destination.namespace))
      continue
    }
    const { objects, error } = await argo.desired(app)
    if (error && /does not render Helm charts from git/.test(error)) {
      const why = `Helm chart in git at ${sourcesOf(app)[0]?.path}`
      opts.opaque.add(app, why)
      report.opaque.push({ name: app.metadata.name, reason: why })
      if (app.spec?.destination?.namespace) ensure(store, namespace(app.spec.destination.namespace))
      continue
    }
    rendered.set(app.metadata.name, objects)
  }
  const all = [...rendered.values()].flat()

  // CRDs of the custom kinds the apps render that nothing serves yet and no app defines.
  const missing = new Map<string, { group: string; kind: string; versions: string[] }>()
  for (const o of all) {
    if (store.typeOf(o.apiVersion, o.kind)) continue
    const { group, version } = splitApiVersion(o.apiVersion)
    if (all.some((c) => c.kind === 'CustomResourceDefinition' && c.spec?.group === group && c.spec?.names?.kind === o.kind)) continue
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
    ensure(store, crd)
    report.crds.push({ name: crd.metadata.name, ...(schemaFrom ? { schemaFrom } : {}) })
  }

  const outOfBand = storageClassesOutOfBand(all)
  for (const name of outOfBand) ensure(store, outOfBandStorageClass(name))
  if (outOfBand.length) report.storageClassesOutOfBand = outOfBand

  // Every namespace a resource lives in, whether an app creates it or the operator made it by hand.
  for (const o of all) {
    const type = store.typeOf(o.apiVersion, o.kind)
    if (type?.namespaced !== false && o.metadata.namespace) ensure(store, namespace(o.metadata.namespace))
    if (o.kind === 'Namespace' && !splitApiVersion(o.apiVersion).group) ensure(store, namespace(o.metadata.name))
  }

  // A generated value for every Vault key an ExternalSecret reads (except where a test wants it Degraded).
  const degraded = new Set(Object.entries(problems).filter(([, p]) => p === 'Degraded').map(([n]) => n))
  const keep = vaultReads([...rendered].filter(([n]) => !degraded.has(n)).flatMap(([, o]) => o), store)
  for (const [name] of [...rendered].filter(([n]) => degraded.has(n))) {
    if (!rendered.get(name)!.some((o) => o.kind === 'ExternalSecret')) throw new Error(`sandbox: cannot seed ${name} Degraded: it renders no ExternalSecret whose Vault key could be missing`)
  }
  const withheld = vaultReads([...rendered].filter(([n]) => degraded.has(n)).flatMap(([, o]) => o), store)
  for (const [path, props] of keep) {
    if (withheld.has(path) || vault.readLatest(path)) continue
    const data: Record<string, string> = {}
    for (const p of props.size ? props : ['value']) data[p] = placeholder()
    vault.write(path, data)
  }

  // What these Applications had synced: one sync each, as if done long ago.
  for (const a of store.list(APP.apiVersion, APP.kind)) await argo.reconcile({ ...a, operation: { sync: {}, initiatedBy: { username: 'admin' } } })
  // Children a root app created in that pass get their first sync too.
  for (const a of store.list(APP.apiVersion, APP.kind)) if (!a.status?.operationState) await argo.reconcile({ ...a, operation: { sync: {}, initiatedBy: { username: 'admin' } } })
  for (let i = 0; i < 3; i++) {
    reconcileDeployments(store)
    reconcileStatefulWorkloads(store)
    reconcileK3s(store)
    reconcileExternalSecrets(store, vault)
  }
  for (const [name, problem] of Object.entries(problems)) if (problem === 'OutOfSync') breakSync(store, name, rendered.get(name) ?? [])
  await argo.reconcileAll()

  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000)
  for (const d of store.list('apps/v1', 'Deployment')) {
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      const { name, tag } = splitImage(String(c.image))
      if (name.startsWith('ghcr.io/') && tag) opts.registry.pushTag(name, tag, dayAgo)
    }
  }

  for (const a of store.list(APP.apiVersion, APP.kind)) {
    const reason = opts.opaque.reason(a)
    const condition = a.status?.conditions?.[0]?.message
    report.apps.push({ name: a.metadata.name, sync: a.status?.sync?.status ?? 'Unknown', health: a.status?.health?.status ?? 'Unknown', ...(reason ? { note: `opaque: ${reason}` } : condition ? { note: condition } : problems[a.metadata.name] ? { note: `seeded ${problems[a.metadata.name]} on purpose` } : {}) })
  }
  for (const o of report.opaque) report.unmodelled.push(`${o.name}: rendered as an opaque app without resources (${o.reason})`)
  for (const k of report.unknownKinds) report.unmodelled.push(`kind ${k}: not served by the sandbox`)
  for (const c of report.crds) if (!c.schemaFrom) report.unmodelled.push(`CRD ${c.name}: installed with a permissive schema (no package ships its real one)`)
  opts.log(`sandbox: seeded ${scan.applications.length} Applications from ${opts.remote.bareDir} at ${scan.head.slice(0, 7)}`)
  return report
}

/** OutOfSync on purpose: one resource of the app is gone (an app without selfHeal leaves it so). */
function breakSync(store: Store, name: string, objects: KObject[]): void {
  const app = store.list(APP.apiVersion, APP.kind).find((a) => a.metadata.name === name)!
  if (app.spec?.syncPolicy?.automated?.selfHeal) throw new Error(`sandbox: cannot seed ${name} OutOfSync: it has selfHeal, so Argo CD would heal it`)
  const victim = objects.find((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition')
  if (!victim) throw new Error(`sandbox: cannot seed ${name} OutOfSync: it renders no resource`)
  store.delete({ apiVersion: victim.apiVersion, kind: victim.kind, namespace: victim.metadata.namespace, name: victim.metadata.name })
}

/** The start report as lines: one per Application, then what the sandbox could not model. */
export function reportLines(report: StartReport): string[] {
  const width = Math.max(4, ...report.apps.map((a) => a.name.length))
  const lines = report.apps.map((a) => `  ${a.name.padEnd(width)}  ${a.sync.padEnd(9)} ${a.health.padEnd(11)}${a.note ? ` ${a.note}` : ''}`.trimEnd())
  for (const c of report.crds) lines.push(`  CRD ${c.name}: ${c.schemaFrom ? `schema from ${c.schemaFrom}` : 'permissive schema'}`)
  for (const name of report.storageClassesOutOfBand ?? []) lines.push(`  StorageClass ${name}: installed out of band (nothing in the repo defines it); its claims bind at once (Immediate)`)
  if (report.unmodelled.length) lines.push(`  not modelled (${report.unmodelled.length}): ${report.unmodelled.join('; ')}`)
  return lines
}
