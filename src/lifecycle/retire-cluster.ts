// The cluster half of `--retire`, planned after the push (a dry run plans it against the cluster as
// it is): see src/lifecycle/retire.ts for the order and why.
import type { Ctx } from '../context.ts'
import type { Change } from '../task.ts'
import { SetupError } from '../errors.ts'
import { kube, type KObj, type Kube } from '../cluster/kube.ts'
import { kubeOfCluster } from '../cluster/app-cluster.ts'
import { trackedBy } from '../cluster/argo.ts'
import { resourceLabel } from '../cluster/app-snapshot.ts'
import { CONTROLLER_DEPLOYMENT, IMAGE_UPDATER_API } from '../cluster/our-resources.ts'
import { CONTROLLER_CONFIGMAP } from '../cluster/verify.ts'
import { ensureLogin, isLoggedIn, kvDestroy, kvGet } from '../cluster/vault.ts'
import { readRepoFile } from '../files.ts'
import { parseYaml } from '../yaml-parse.ts'
import { appRef, deleteWithResources, syncAndWait, workloadChanges, workloadsOf, type WorkloadState } from './cluster-steps.ts'
import { ARGO_HELM, CHART_NAME, globMatch, includesOf, secretRefs, type Footprint } from './footprint.ts'
import { remainingReaders, repoLeftovers, type RetireOptions } from './retire.ts'

const IU_CRD = 'imageupdaters.argocd-image-updater.argoproj.io'

async function liveImageUpdaters(k: Kube, ns: string): Promise<KObj[]> {
  try {
    return await k.list(IMAGE_UPDATER_API, 'ImageUpdater', ns)
  } catch {
    return [] // the kind is gone with its CRD
  }
}

const isChartApp = (a: KObj) => [a.spec?.source, ...(a.spec?.sources ?? [])].some((s) => s?.chart === CHART_NAME)
const iuLabel = (o: KObj) => `ImageUpdater ${o.metadata.namespace}/${o.metadata.name}${o.metadata.deletionTimestamp ? ' (Terminating)' : ''}`

const refOf = (o: KObj) => ({ apiVersion: o.apiVersion, kind: o.kind, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), name: o.metadata.name })
const objLabel = (o: KObj) => resourceLabel(refOf(o))
/** The kinds the argocd-image-updater chart makes, the CRD last. */
const CHART_KINDS: [string, string, boolean][] = [
  ['apps/v1', 'Deployment', true],
  ['v1', 'Service', true],
  ['v1', 'ConfigMap', true],
  ['v1', 'Secret', true],
  ['v1', 'ServiceAccount', true],
  ['rbac.authorization.k8s.io/v1', 'Role', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', false],
]

/** The objects of the chart's kinds that Argo CD's tracking label says Application `app` made. */
async function trackedObjects(k: Kube, ns: string, app: string): Promise<KObj[]> {
  const out: KObj[] = []
  for (const [apiVersion, kind, namespaced] of CHART_KINDS)
    for (const o of await k.list(apiVersion, kind, namespaced ? ns : undefined, `app.kubernetes.io/instance=${app}`).catch(() => [] as KObj[])) out.push({ ...o, apiVersion, kind })
  return out
}
const selects = (iu: KObj, app: string) => (iu.spec?.applicationRefs ?? []).some((r: { namePattern?: unknown }) => typeof r.namePattern === 'string' && globMatch(r.namePattern, app))
const esKey = (r: { namespace?: string; name: string }) => `${r.namespace}/${r.name}`

/**
 * What the cluster still holds of the updater, found by what it is: the apps the live ImageUpdaters
 * select, the Secrets they and the controller's ConfigMap read, and the ExternalSecrets that make
 * those Secrets. A retirement stopped after its push (Ctrl-C, a lost connection) leaves the repo
 * retired and the cluster not: the repo no longer names these, and the same command must still
 * finish them in the order that loses nothing.
 */
async function leftInCluster(k: Kube, ns: string, ius: KObj[]): Promise<{ apps: string[]; secretsRead: Set<string>; externalSecrets: { apiVersion: string; kind: string; namespace: string; name: string }[] }> {
  const live = (await k.list('argoproj.io/v1alpha1', 'Application', ns)).filter((a) => !isChartApp(a))
  const apps = live.filter((a) => ius.some((iu) => selects(iu, a.metadata.name))).map((a) => a.metadata.name)
  const secretsRead = new Set(ius.flatMap((iu) => secretRefs(JSON.stringify(iu.spec ?? {}))))
  const config = await k.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: CONTROLLER_CONFIGMAP }).catch(() => undefined)
  for (const r of secretRefs(JSON.stringify(config?.data ?? {}))) secretsRead.add(r)
  const externalSecrets: { apiVersion: string; kind: string; namespace: string; name: string }[] = []
  for (const sns of new Set([...secretsRead].map((s) => s.split('/')[0]!))) {
    const list = await k.list('external-secrets.io/v1', 'ExternalSecret', sns).catch(() => [] as KObj[])
    for (const es of list)
      if (secretsRead.has(`${sns}/${es.spec?.target?.name ?? es.metadata.name}`)) externalSecrets.push({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: sns, name: es.metadata.name })
  }
  return { apps, secretsRead, externalSecrets }
}

/**
 * The kube client of the cluster `app` deploys to: its workloads are read there (Image Updater and
 * the Applications live on Argo CD's cluster, an app may run on another). Undefined, with why, when
 * no kube context reaches that cluster: the retirement itself needs only Argo CD's cluster, so the
 * check of that app's workloads is skipped and said so, rather than done on the wrong cluster.
 */
async function workloadCluster(ctx: Ctx, main: Kube, app: KObj | undefined): Promise<{ k?: Kube; skipped?: string }> {
  if (!app) return { k: main }
  const { loadRepoModel } = await import('../repo-model/index.ts')
  const { resolveDestination } = await import('../repo-model/clusters.ts')
  const cluster = resolveDestination(app.spec?.destination, (await loadRepoModel(ctx)).clusters).cluster
  const reached = await kubeOfCluster(ctx, main, cluster)
  return 'k' in reached ? reached : { skipped: `its workloads on cluster ${cluster!.name} not read (${reached.unreachable})` }
}

export async function planRetireCluster(ctx: Ctx, fp: Footprint, opts: RetireOptions, rev: string | undefined): Promise<Change[]> {
  const k = await kube(ctx)
  const ns = ctx.settings.argocdNamespace
  const changes: Change[] = []
  const short = rev ? rev.slice(0, 7) : 'the pushed commit'
  const ius = await liveImageUpdaters(k, ns)
  const left = await leftInCluster(k, ns, ius)
  const appNames = [...new Set([...fp.apps.map((a) => a.name), ...left.apps])]
  const secretsRead = new Set([...fp.secretsRead, ...left.secretsRead])
  const before = new Map<string, WorkloadState[]>()
  const workloadReaders = new Map<string, Kube>()
  const unread = new Map<string, string>()
  for (const name of appNames) {
    const app = await k.get(appRef(ctx, name))
    const where = await workloadCluster(ctx, k, app)
    if (where.k) workloadReaders.set(name, where.k)
    else unread.set(name, where.skipped!)
    before.set(name, where.k ? await workloadsOf(where.k, app) : [])
  }
  /** the app's workloads now, read where they run (none when that cluster cannot be read) */
  const workloadsNow = async (name: string, app: KObj | undefined) => (workloadReaders.has(name) ? workloadsOf(workloadReaders.get(name)!, app) : [])
  const keepsText = (name: string) => {
    if (unread.has(name)) return unread.get(name)!
    const all = before.get(name) ?? []
    // a big tree of dozens of apps: the first few by name, then how many more
    const shown = all.slice(0, 3).map((w) => `${w.label} keeps ${w.images.join(', ')}`)
    return [...shown, ...(all.length > 3 ? [`${all.length - 3} more workloads keep theirs`] : [])].join('; ') || 'no workload listed'
  }

  // 1. the Applications first: each that syncs an ImageUpdater (found by Argo CD's tracking on it: an
  // app's own folder, or a folder of ImageUpdaters another Application syncs) and each app Image
  // Updater updated sync to the retirement, so Argo CD prunes the ImageUpdaters while the controller
  // still runs to remove their finalizer
  const liveApps = new Set((await k.list('argoproj.io/v1alpha1', 'Application', ns)).map((a) => a.metadata.name))
  const trackers = ius.map(trackedBy).filter((n): n is string => n !== undefined && liveApps.has(n))
  for (const name of [...new Set([...appNames, ...trackers])]) {
    if (!liveApps.has(name)) continue
    const mine = ius.filter((iu) => trackedBy(iu) === name)
    const keeps = appNames.includes(name) ? keepsText(name) : undefined
    changes.push({
      summary: `sync Application ${ns}/${name} at ${short}${mine.length ? `: Argo CD prunes ${mine.map(iuLabel).join(', ')} while the controller runs` : ''}${keeps ? `; ${keeps}` : ''}`,
      async apply() {
        const target = rev ?? ctx.pushedRevision
        if (!target) throw new SetupError('no pushed commit to sync to', 'run the same command again')
        await syncAndWait(ctx, k, name, target, async () => {
          const left = (await liveImageUpdaters(k, ns)).filter((iu) => mine.some((m) => m.metadata.name === iu.metadata.name))
          return left.length ? `${left.map(iuLabel).join(', ')} still there` : undefined
        })
        const changed = workloadChanges(before.get(name) ?? [], await workloadsNow(name, await k.get(appRef(ctx, name))))
        if (changed.length) throw new SetupError(`the retirement changed what ${name} runs: ${changed.join('; ')}`, `look at ${name}'s kustomization images: and the Application; the tag Image Updater last wrote is in git history (git log -p -- '*.argocd-source-${name}.yaml')`)
        ctx.log(`${name}: Synced and Healthy at ${target.slice(0, 7)}${mine.length ? `, ${mine.map(iuLabel).join(', ')} pruned` : ''}${keeps ? `; ${keeps}` : ''}`)
      },
    })
  }
  // ImageUpdaters no Application syncs (applied by hand, or their Application is gone): deleted directly, still before the controller
  const orphans = ius.filter((iu) => !trackers.includes(trackedBy(iu) ?? ''))
  if (orphans.length)
    changes.push({
      summary: `delete ${orphans.map(iuLabel).join(', ')} (no Application of the repo syncs it) while the controller still removes their finalizer`,
      async apply() {
        for (const iu of orphans) {
          const ref = { apiVersion: IMAGE_UPDATER_API, kind: 'ImageUpdater', namespace: iu.metadata.namespace, name: iu.metadata.name }
          await k.delete(ref)
          await k.waitFor(ref, (o) => (o ? { waiting: 'Terminating' } : { ready: true }), { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `${iuLabel(iu)} deleted` })
        }
      },
    })

  // 2. the controller: the chart's Application with its resources, once no ImageUpdater is left
  const chartApps = (await k.list('argoproj.io/v1alpha1', 'Application', ns)).filter(isChartApp)
  /** What a chart Application pruned without its resources left: the controller and its RBAC first, the CRD last. */
  const deleteLeftBy = async (name: string) => {
    const left = await trackedObjects(k, ns, name)
    for (const o of left) await k.delete(refOf(o))
    for (const o of left) await k.waitFor(refOf(o), (x) => (x ? { waiting: 'Terminating' } : { ready: true }), { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `${objLabel(o)} deleted` })
    if (left.length) ctx.log(`what Application ${ns}/${name} left running is deleted: ${left.map(objLabel).join(', ')}`)
  }
  // An app-of-apps that syncs the chart's Application prunes it as soon as the retirement lands,
  // before the ImageUpdaters are gone. Without Argo CD's resources finalizer that prune leaves the
  // controller running, which is what the ImageUpdaters' finalizers need (with it, the controller
  // would go first and leave them stuck); once they are gone, what it left is deleted here, found
  // by Argo CD's tracking label of the chart's Application (the corpus' app-of-apps repos).
  // (a run stopped after such a prune no longer has the Application in the repo: the controller's
  // own tracking label names it)
  const controller = await k.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: CONTROLLER_DEPLOYMENT })
  const pruned = [...fp.chartApps.map((d) => d.name), ...(controller ? [trackedBy(controller)] : [])].filter((n): n is string => n !== undefined && !chartApps.some((a) => a.metadata.name === n))
  for (const name of new Set(pruned)) {
    const left = await trackedObjects(k, ns, name)
    if (!left.length) continue
    changes.push({
      summary: `delete what the pruned Application ${ns}/${name} left running: ${left.map(objLabel).join(', ')}, after every ImageUpdater is gone`,
      async apply() {
        const ius = await liveImageUpdaters(k, ns)
        if (ius.length)
          throw new SetupError(`${ius.map(iuLabel).join(', ')} still exist: deleting the controller now would leave them stuck Terminating`, `delete them first (kubectl -n ${ns} delete imageupdater ${ius.map((o) => o.metadata.name).join(' ')}), then run the same command again`)
        await deleteLeftBy(name)
      },
    })
  }
  for (const app of chartApps) {
    changes.push({
      summary: `delete Application ${ns}/${app.metadata.name} with its resources (the controller, its CRD, ConfigMap and RBAC), after every ImageUpdater is gone`,
      async apply() {
        const left = await liveImageUpdaters(k, ns)
        if (left.length)
          throw new SetupError(
            `${left.map(iuLabel).join(', ')} still exist: deleting the controller now would leave them (and their CRD) stuck Terminating, since only the controller removes their finalizer`,
            `delete them first (kubectl -n ${ns} delete imageupdater ${left.map((o) => o.metadata.name).join(' ')}), then run the same command again`,
          )
        await deleteWithResources(ctx, k, app.metadata.name, async () => (await liveImageUpdaters(k, ns)).filter((o) => o.metadata.deletionTimestamp).map(iuLabel))
        // pruned meanwhile by the Application that syncs it, without the finalizer: what it left goes now
        await deleteLeftBy(app.metadata.name)
        // the chart marks its CRD helm.sh/resource-policy: keep, which Argo CD may honour: with no
        // ImageUpdater left, deleting it loses nothing
        const crdRef = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: IU_CRD }
        if (await k.delete(crdRef)) await k.waitFor(crdRef, (o) => (o ? { waiting: 'Terminating' } : { ready: true }), { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `CRD ${IU_CRD} deleted` })
        ctx.log(`Application ${ns}/${app.metadata.name} deleted with its resources`)
      },
    })
  }

  // 3. the ExternalSecrets: pruned by the Applications that synced them, else deleted
  const fromRepo = fp.externalSecrets.map((d) => ({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: d.namespace ?? ns, name: d.name }))
  const esRefs = [...fromRepo, ...left.externalSecrets.filter((r) => !fromRepo.some((f) => esKey(f) === esKey(r)))]
  const liveEs = (await Promise.all(esRefs.map(async (r) => ((await k.get(r).catch(() => undefined)) ? r : undefined)))).filter((r) => r !== undefined)
  if (liveEs.length) {
    const syncers = [...new Set(fp.externalSecrets.flatMap((d) => includesOf(fp.docs, d.file).map((a) => a.name)))]
    const names = liveEs.map((r) => `${r.namespace}/${r.name}`).join(', ')
    changes.push({
      summary: syncers.length ? `sync Application ${syncers.map((s) => `${ns}/${s}`).join(', ')} at ${short}: Argo CD prunes ExternalSecret ${names} (their Secrets go with them)` : `delete ExternalSecret ${names} (their Secrets go with them)`,
      async apply() {
        const target = rev ?? ctx.pushedRevision
        for (const s of syncers) if (target) await syncAndWait(ctx, k, s, target)
        // an Application without prune leaves them: deleted here
        for (const r of liveEs) await k.delete(r)
        for (const r of liveEs) await k.waitFor(r, (o) => (o ? { waiting: 'still there' } : { ready: true }), { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `ExternalSecret ${r.namespace}/${r.name} deleted` })
      },
    })
  }

  // 4. the AppProject as the repo has it now (argo-helm gone from sourceRepos)
  for (const p of fp.docs.filter((d) => d.kind === 'AppProject')) {
    const live = await k.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', namespace: p.namespace ?? ns, name: p.name })
    if (!live || !(live.spec?.sourceRepos ?? []).includes(ARGO_HELM)) continue
    const text = await readRepoFile(ctx, p.file)
    const desired = text === null ? undefined : (parseYaml(text)[p.index]?.toJS() as KObj | undefined)
    if (!desired || (desired.spec?.sourceRepos ?? []).includes(ARGO_HELM)) continue
    changes.push({
      summary: `apply AppProject ${live.metadata.namespace}/${p.name} from ${p.file} (server-side): sourceRepos without ${ARGO_HELM}`,
      async apply() {
        await k.apply({ ...desired, metadata: { ...desired.metadata, namespace: desired.metadata.namespace ?? ns } }, { force: true })
      },
    })
  }

  // 5. the token in Vault, unless something else reads it
  const readers = remainingReaders(ctx, fp)
  const path = ctx.settings.vaultPath
  if (opts.keepToken) ctx.log(`${path}: kept (--keep-token)`)
  else if (readers.length) ctx.log(`${path}: kept, ${readers.map((r) => `ExternalSecret ${r.namespace ?? ns}/${r.name} (${r.file})`).join(', ')} read${readers.length === 1 ? 's' : ''} it too`)
  else {
    const readable = ctx.dryRun ? await isLoggedIn(ctx) : await ensureLogin(ctx)
    if (!readable || (await kvGet(ctx, path)))
      changes.push({
        summary: `vault kv metadata delete ${path}: the GitHub token, read by no ExternalSecret of the repo any more (--keep-token keeps it)`,
        async apply() {
          await ensureLogin(ctx)
          await kvDestroy(ctx, path)
        },
      })
  }

  if (!changes.length && !appNames.length) return []
  // 6. verified: nothing of the updater left, every app as it was
  changes.push({
    summary: 'verify: nothing of Image Updater left in the cluster or in the repo outside docs/; every app Synced and Healthy, running what it ran',
    async apply() {
      const problems: string[] = []
      if (await k.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: IU_CRD })) problems.push(`CRD ${IU_CRD} is still there`)
      for (const iu of await liveImageUpdaters(k, ns)) problems.push(`${iuLabel(iu)} is still there`)
      if (await k.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: CONTROLLER_DEPLOYMENT })) problems.push(`Deployment ${ns}/${CONTROLLER_DEPLOYMENT} is still there`)
      if (await k.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: CONTROLLER_CONFIGMAP })) problems.push(`ConfigMap ${ns}/${CONTROLLER_CONFIGMAP} is still there`)
      for (const a of (await k.list('argoproj.io/v1alpha1', 'Application', ns)).filter(isChartApp)) problems.push(`Application ${ns}/${a.metadata.name} (the ${CHART_NAME} chart) is still there`)
      for (const r of esRefs) if (await k.get(r).catch(() => undefined)) problems.push(`ExternalSecret ${r.namespace}/${r.name} is still there`)
      for (const s of secretsRead) {
        const [sns, sname] = s.split('/')
        if (await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: sns, name: sname })) problems.push(`Secret ${s} is still there`)
      }
      for (const line of await repoLeftovers(ctx)) problems.push(`repo: ${line}`)
      for (const name of appNames) {
        const app = await k.get(appRef(ctx, name))
        const sync = app?.status?.sync?.status
        const health = app?.status?.health?.status
        if (sync !== 'Synced' || health !== 'Healthy') problems.push(`Application ${ns}/${name} is ${sync ?? 'missing'}/${health ?? 'missing'}`)
        problems.push(...workloadChanges(before.get(name) ?? [], await workloadsNow(name, app)).map((p) => `${name}: ${p}`))
      }
      if (problems.length) throw new SetupError(`the retirement is not complete:\n  ${problems.join('\n  ')}`, 'fix what is named above (each line says what is left), then run the same command again')
      const notRead = [...unread.entries()].map(([name, why]) => `; ${name}: ${why}`).join('')
      ctx.log(`verified: nothing of Image Updater left; ${appNames.length ? `${appNames.join(', ')} Synced and Healthy, running what they ran` : 'no app was updated by it'}${notRead}`)
    },
  })
  return changes
}
