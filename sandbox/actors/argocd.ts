// The Argo CD application controller the sandbox plays: renders each Application from git (or the
// built-in chart), compares with the live objects, syncs automatically on a new commit or when
// asked (`operation`), applies with the `app.kubernetes.io/instance` tracking label, prunes what
// it no longer renders (auto-prune), and reports sync/health/operation status.
//
// Timing, as upstream's controller/appcontroller.go has it: a reconcile acts on the copy of the
// Application it read when it started (autoSync decides from the informer's copy, and
// SetAppOperation does not look at spec.syncPolicy again), so removing spec.syncPolicy.automated
// stops auto-sync and self-heal only for reconciles that start after; a sync operation completes
// with what it started with (revision, manifests, `prune`: SyncAppState reads operation.sync); a
// refresh request (argocd.argoproj.io/refresh) is removed only by a reconcile that read it
// (persistAppStatus patches from the copy it started with). An Application that manages itself
// re-applies its own manifest when it syncs, spec.syncPolicy included.
import { ApiError, type KObject, type Store } from '../store.ts'
import { globMatch } from './glob.ts'
import { normaliseRepoUrl, type GitRemote } from './git-source.ts'
import { renderSource, type AppSource, type SourceType } from './render.ts'
import { resourceHealth, worstHealth } from './health.ts'

export const TRACKING_LABEL = 'app.kubernetes.io/instance'
export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh'
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options'
const FIELD_MANAGER = 'argocd-controller'
const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }
const PROJECT = { apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject' }
/** Kinds never tracked or pruned (they are made by controllers, not by Argo CD). */
const UNTRACKED_KINDS = new Set(['Pod', 'Event'])


export interface ArgoEnv {
  store: Store
  log: (line: string) => void
  remoteFor(repoURL: string): GitRemote | undefined
  /** Apps the sandbox cannot render (a public Helm chart): reported Synced and Healthy with no resources. */
  opaque?(app: KObject): boolean
  /**
   * The cluster an Application deploys to (resolved through the cluster Secrets, as Argo CD does),
   * or why it has none. Absent: every destination is `store` (a single-cluster sandbox).
   */
  destination?(app: KObject): { store: Store; cluster: string } | { error: string }
}

interface Comparison {
  /** the destination cluster's objects */
  store: Store
  desired: KObject[]
  revision: string
  revisions: string[]
  sourceType: SourceType
  error?: { type: string; message: string }
}

const keyOf = (o: { apiVersion: string; kind: string; metadata: { namespace?: string; name: string } }) => `${o.apiVersion.split('/').length > 1 ? o.apiVersion.split('/')[0] : ''}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Whether every field the manifest sets has the same value live (Argo CD's diff, simplified). */
export function isSubset(desired: unknown, live: unknown): boolean {
  // a field the manifest does not set is no difference (an emptied annotations map stays `{}` live)
  if (desired === undefined) return true
  if (desired === null || typeof desired !== 'object') return desired === live || (typeof live === 'number' && String(live) === String(desired))
  if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]))
  if (!live || typeof live !== 'object') return false
  return Object.entries(desired).every(([k, v]) => isSubset(v, (live as Record<string, unknown>)[k]))
}

function syncOptions(obj: KObject): string[] {
  return (obj.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').map((s) => s.trim())
}

function kindWeight(o: KObject): number {
  const wave = Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0) || 0
  const order = ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'Secret', 'ConfigMap', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'Deployment']
  const i = order.indexOf(o.kind)
  return wave * 100 + (i < 0 ? order.length : i)
}

/** Switches tests flip to make Argo CD misbehave the way a real one does. */
export interface ArgoFaults {
  /** app name -> the message its next sync operations fail with */
  failSync: Map<string, string>
  /** app names whose next sync operation starts and then stays under way until released (holdSync) */
  holdSync: Set<string>
}

/** A sync operation that started and has not finished (a held one: ArgoCdController.holdSync). */
interface InFlight {
  /** the Application as the reconcile that started the operation read it */
  app: KObject
  cmp: Comparison
  initiatedBy: Record<string, unknown>
  /** operation.sync.prune of a requested operation (an automated one prunes as its policy said when it started) */
  prune?: boolean
  released: boolean
}

const APP_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io'

export class ArgoCdController {
  private readonly renderCache = new Map<string, { key: string; comparison: Comparison }>()
  /** app → revision of the last automated sync attempt (Argo CD does not retry a failed one) */
  private readonly attempted = new Map<string, string>()
  /** app → resources skipped for a missing CRD (SkipDryRunOnMissingResource), retried on later syncs */
  private readonly skipped = new Map<string, Set<string>>()

  /** app → its sync operation under way (only held ones last beyond the reconcile that starts them) */
  private readonly inFlight = new Map<string, InFlight>()

  readonly faults: ArgoFaults = { failSync: new Map(), holdSync: new Set() }

  constructor(private readonly env: ArgoEnv) {}

  /**
   * The app's next sync operation (automated or requested) starts as Argo CD starts one (phase
   * Running, `operation` set) and stays under way until the returned function is called; it then
   * completes with the revision, manifests and prune setting it started with. A sync that is slow
   * (hooks, waves, a busy cluster) and lands after a change made while it ran.
   */
  holdSync(app: string): () => void {
    this.faults.holdSync.add(app)
    return () => {
      this.faults.holdSync.delete(app)
      const running = this.inFlight.get(app)
      if (running) running.released = true
    }
  }

  /**
   * Drops the cached renders holding one of these kinds (`group/Kind`): their scope (namespaced or
   * not) was guessed before the CRD the seeder installed since.
   */
  forgetRenders(kinds: Set<string>): void {
    for (const [app, { comparison }] of this.renderCache) if (comparison.desired.some((o) => kinds.has(`${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}`))) this.renderCache.delete(app)
  }

  async reconcileAll(): Promise<void> {
    for (const listed of this.env.store.list(APP.apiVersion, APP.kind)) {
      // each reconcile reads the Application when it starts (the informer's copy), not at the list
      const app = this.env.store.get({ ...APP, namespace: listed.metadata.namespace, name: listed.metadata.name })
      if (!app) continue
      try {
        await this.reconcile(app)
      } catch (err) {
        this.env.log(`argocd: reconcile ${app.metadata.name} failed: ${(err as Error).message}`)
      }
    }
  }

  private sources(app: KObject): AppSource[] {
    return Array.isArray(app.spec?.sources) && app.spec.sources.length ? app.spec.sources : app.spec?.source ? [app.spec.source] : []
  }

  /** Renders the app's sources (cached per resolved revision) or returns the comparison error. */
  private async compare(app: KObject): Promise<Comparison> {
    const name = app.metadata.name
    const destNs = app.spec?.destination?.namespace ?? ''
    const fail = (type: string, message: string): Comparison => ({ store: this.env.store, desired: [], revision: '', revisions: [], sourceType: 'Directory', error: { type, message } })
    const projectName = app.spec?.project ?? 'default'
    const project = this.env.store.get({ ...PROJECT, namespace: app.metadata.namespace, name: projectName })
    if (!project) return fail('InvalidSpecError', `Application referencing project ${projectName} which does not exist`)
    const sources = this.sources(app)
    if (!sources.length) return fail('InvalidSpecError', 'spec.source or spec.sources must be specified')
    const dest = this.env.destination?.(app) ?? { store: this.env.store, cluster: 'in-cluster' }
    if ('error' in dest) return fail('InvalidSpecError', dest.error)
    const store = dest.store
    if (this.env.opaque?.(app)) return { store, desired: [], revision: String(sources[0]?.targetRevision ?? ''), revisions: [], sourceType: 'Helm' }
    const allowed: string[] = project.spec?.sourceRepos ?? []
    for (const s of sources) {
      const ok = allowed.some((r) => r === '*' || normaliseRepoUrl(r) === normaliseRepoUrl(s.repoURL) || (r.includes('*') && globMatch(r, s.repoURL)))
      if (!ok) return fail('InvalidSpecError', `application repo ${s.repoURL} is not permitted in project '${projectName}'`)
    }
    // Resolve revisions first: the render is cached for the same commits.
    const resolved: string[] = []
    const refs = new Map<string, { remote: GitRemote; sha: string }>()
    for (const s of sources) {
      if (s.chart) { resolved.push(`chart:${s.targetRevision}`); continue }
      const remote = this.env.remoteFor(s.repoURL)
      const sha = remote ? await remote.resolve(s.targetRevision) : undefined
      if (!remote || !sha) return fail('ComparisonError', remote ? `rpc error: code = Unknown desc = unable to resolve '${s.targetRevision ?? 'HEAD'}' to a commit SHA` : `rpc error: code = Unknown desc = repository not found: ${s.repoURL}`)
      resolved.push(sha)
      if (s.ref) refs.set(s.ref, { remote, sha })
    }
    // keyed by what the sources read (see GitRemote.renderKey), not by the commit: a commit that
    // leaves an app's files alone gives the same objects, at the new revision
    const keys: string[] = []
    for (const [i, s] of sources.entries()) {
      const remote = s.chart ? undefined : this.env.remoteFor(s.repoURL)
      // a `ref:` source without a path gives values files to another source: the commit itself
      keys.push(remote && s.path !== undefined ? await remote.renderKey(resolved[i]!, s.path) : resolved[i]!)
    }
    const cacheKey = JSON.stringify([sources, keys, destNs, dest.cluster])
    const cached = this.renderCache.get(name)
    if (cached?.key === cacheKey) {
      const revisions = cached.comparison.revisions.map((r, i) => (sources[i]?.chart ? r : resolved[i] ?? r))
      const revision = revisions.find((r, i) => !sources[i]?.ref || sources[i]?.path) ?? revisions[0] ?? cached.comparison.revision
      return cached.comparison.error ? cached.comparison : { ...cached.comparison, revision, revisions }
    }
    const desired: KObject[] = []
    const revisions: string[] = []
    let sourceType: SourceType = 'Directory'
    try {
      for (const s of sources) {
        if (s.ref && !s.path && !s.chart) { revisions.push(refs.get(s.ref)!.sha); continue }
        const r = await renderSource(s, { appName: name, namespace: destNs, remoteFor: this.env.remoteFor }, refs)
        desired.push(...r.objects)
        revisions.push(r.revision)
        sourceType = r.sourceType
      }
    } catch (err) {
      // cached like a render: the same commits fail the same way (a missing path used to cost a
      // git process per cycle)
      const failed = fail('ComparisonError', `Failed to load target state: failed to generate manifest for source: ${(err as Error).message}`)
      this.renderCache.set(name, { key: cacheKey, comparison: failed })
      return failed
    }
    for (const o of desired) {
      const type = store.typeOf(o.apiVersion, o.kind)
      const definedHere = desired.find((c) => c.kind === 'CustomResourceDefinition' && c.spec?.names?.kind === o.kind && c.spec?.group === o.apiVersion.split('/')[0])
      const namespaced = type ? type.namespaced : definedHere ? definedHere.spec.scope !== 'Cluster' : true
      if (namespaced) o.metadata.namespace ??= destNs
      else delete o.metadata.namespace
      o.metadata.labels = { ...(o.metadata.labels ?? {}), [TRACKING_LABEL]: name }
      // as gitops-engine's NormalizeSecret: stringData compares (and applies) as the data it becomes
      if (o.kind === 'Secret' && o.apiVersion === 'v1' && o.stringData && typeof o.stringData === 'object') {
        o.data = { ...(o.data ?? {}), ...Object.fromEntries(Object.entries(o.stringData as Record<string, unknown>).map(([k, v]) => [k, Buffer.from(String(v)).toString('base64')])) }
        delete o.stringData
      }
    }
    const main = revisions.find((r, i) => !sources[i]?.ref || sources[i]?.path) ?? revisions[0] ?? ''
    const comparison = { store, desired, revision: main, revisions, sourceType }
    this.renderCache.set(name, { key: cacheKey, comparison })
    return comparison
  }

  /** What the app renders now (its comparison error instead, when it cannot be rendered). */
  async desired(app: KObject): Promise<{ objects: KObject[]; error?: string }> {
    const cmp = await this.compare(app)
    return { objects: cmp.desired, ...(cmp.error ? { error: cmp.error.message } : {}) }
  }

  /** Live objects carrying this app's tracking label (what it would prune). */
  private tracked(appName: string, store: Store): KObject[] {
    const out: KObject[] = []
    const seen = new Set<string>()
    for (const t of store.types()) {
      if (UNTRACKED_KINDS.has(t.kind)) continue
      const av = t.group ? `${t.group}/${t.version}` : t.version
      const id = `${t.group}/${t.kind}`
      if (seen.has(id)) continue
      seen.add(id)
      // filtered before the store copies anything: this runs for every app on every cycle
      out.push(...store.list(av, t.kind, undefined, (o) => o.metadata.labels?.[TRACKING_LABEL] === appName && !(o.metadata as any).ownerReferences?.length))
    }
    return out
  }

  /** The live object, to compare with (read only: not a copy). */
  private live(o: KObject, store: Store): Readonly<KObject> | undefined {
    return store.peek({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })
  }

  /**
   * An Application being deleted: with Argo CD's resources finalizer its resources go first (a
   * cascading delete) and the finalizer is removed once none is left, so a resource held by its own
   * finalizer holds the Application too; without it the resources stay (orphaned), as upstream.
   */
  private cascade(app: KObject): void {
    const finalizers: string[] = Array.isArray(app.metadata.finalizers) ? (app.metadata.finalizers as string[]) : []
    if (!finalizers.includes(APP_RESOURCES_FINALIZER)) return
    // its resources are on its destination cluster (none to delete when that cannot be resolved)
    const dest = this.env.destination?.(app) ?? { store: this.env.store, cluster: 'in-cluster' }
    const target = 'error' in dest ? undefined : dest.store
    const left = target ? this.tracked(app.metadata.name, target) : []
    for (const o of left) if (!o.metadata.deletionTimestamp) target!.delete({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })
    if (target && this.tracked(app.metadata.name, target).length) return
    const live = this.env.store.get({ ...APP, namespace: app.metadata.namespace, name: app.metadata.name })
    if (!live) return
    live.metadata.finalizers = finalizers.filter((f) => f !== APP_RESOURCES_FINALIZER)
    this.env.store.update(live, FIELD_MANAGER)
    this.env.log(`argocd: ${app.metadata.name} deleted with its resources`)
  }

  async reconcile(app: KObject): Promise<void> {
    const name = app.metadata.name
    const ref = { ...APP, namespace: app.metadata.namespace, name }
    if (app.metadata.deletionTimestamp) return this.cascade(app)
    const cmp = await this.compare(app)
    const operation = app.operation
    const auto = app.spec?.syncPolicy?.automated
    let opState = app.status?.operationState
    let status = this.status(app, cmp)
    let doSync = false
    let initiatedBy: Record<string, unknown> = { automated: true }
    /** a sync operation ran to its end in this reconcile */
    let finished = false
    /** a held automated sync started: recorded in `operation`, as SetAppOperation does */
    let started: Record<string, unknown> | undefined
    const running = this.inFlight.get(name)
    if (running) {
      // One operation at a time ("Skipping auto-sync: another operation is in progress"); the one
      // under way completes with the app, revision and prune setting it started with.
      if (running.released) {
        this.inFlight.delete(name)
        opState = await this.sync(running.app, running.cmp, running.initiatedBy, running.prune)
        status = this.status(app, cmp)
        finished = true
      }
    } else if (operation?.sync) {
      doSync = true
      initiatedBy = operation.initiatedBy ?? { username: 'admin' }
    } else if (auto && !cmp.error && status.sync.status === 'OutOfSync') {
      // Like Argo CD, a sync to this revision already done (by hand or automated) counts as attempted.
      const attempted = this.attempted.get(name) ?? opState?.syncResult?.revision
      const pending = (this.skipped.get(name)?.size ?? 0) > 0
      if (attempted !== cmp.revision) doSync = true
      else if (opState?.phase === 'Failed') doSync = false // "Skipping auto-sync: failed previous sync attempt"
      else doSync = Boolean(auto.selfHeal) || pending
    }
    if (doSync) {
      if (!operation) this.attempted.set(name, cmp.revision)
      opState = this.markRunning(app, cmp, initiatedBy)
      if (this.faults.holdSync.delete(name)) {
        this.inFlight.set(name, { app, cmp, initiatedBy, prune: operation?.sync?.prune, released: false })
        if (!operation) started = { sync: { revision: cmp.revision, prune: Boolean(auto?.prune) }, initiatedBy, retry: {} }
        this.env.log(`argocd: sync of ${name} to ${cmp.revision.slice(0, 7)} under way (held)`)
      } else {
        opState = await this.sync(app, cmp, initiatedBy, operation?.sync?.prune)
        status = this.status(app, cmp)
        finished = true
      }
    }
    if (opState) status.operationState = opState
    const live = this.env.store.get(ref)
    if (!live) return
    const strip = (s: any) => JSON.stringify({ ...(s ?? {}), reconciledAt: undefined })
    if (strip(live.status) !== strip(status)) this.env.store.updateStatus(ref, { ...status, reconciledAt: now() })
    // A refresh request this reconcile read is removed (one made since stays for the next); a
    // finished operation is cleared; a held automated one is recorded.
    const after = this.env.store.get(ref)
    if (!after) return
    const refreshHandled = app.metadata.annotations?.[REFRESH_ANNOTATION] !== undefined && after.metadata.annotations?.[REFRESH_ANNOTATION] !== undefined
    const clearOperation = finished && after.operation !== undefined
    if (refreshHandled || clearOperation || (started && !after.operation)) {
      const annotations = { ...(after.metadata.annotations ?? {}) }
      if (refreshHandled) delete annotations[REFRESH_ANNOTATION]
      after.metadata.annotations = annotations
      if (clearOperation) delete after.operation
      if (started && !after.operation) after.operation = started
      delete after.metadata.resourceVersion
      this.env.store.update(after, FIELD_MANAGER)
    }
  }

  /** The operation as Argo CD shows it while it runs: phase Running at the revision being synced. */
  private markRunning(app: KObject, cmp: Comparison, initiatedBy: Record<string, unknown>): any {
    const ref = { ...APP, namespace: app.metadata.namespace, name: app.metadata.name }
    const live = this.env.store.get(ref)
    const operation = { sync: { revision: cmp.revision, ...(cmp.revisions.length > 1 ? { revisions: cmp.revisions } : {}) }, initiatedBy, retry: {} }
    const state = { operation, phase: 'Running', message: 'one or more tasks are running', startedAt: now() }
    if (live) this.env.store.updateStatus(ref, { ...(live.status ?? {}), operationState: state })
    return state
  }

  /** The app's status from its comparison against live objects. */
  private status(app: KObject, cmp: Comparison): any {
    const source = app.spec?.source ?? app.spec?.sources
    const comparedTo = { ...(app.spec?.source ? { source } : { sources: source }), destination: app.spec?.destination }
    if (cmp.error) {
      return { sync: { status: 'Unknown', comparedTo }, health: { status: app.status?.health?.status ?? 'Unknown' }, conditions: [{ type: cmp.error.type, message: cmp.error.message, lastTransitionTime: app.status?.conditions?.[0]?.lastTransitionTime ?? now() }], resources: app.status?.resources ?? [], sourceType: app.status?.sourceType }
    }
    const wanted = new Set(cmp.desired.map(keyOf))
    const resources: any[] = []
    let synced = true
    const healths = []
    const images = new Set<string>()
    for (const o of cmp.desired) {
      const live = this.live(o, cmp.store)
      const inSync = !!live && isSubset({ ...o, metadata: { labels: o.metadata.labels, annotations: o.metadata.annotations } }, live)
      if (!inSync) synced = false
      const h = resourceHealth(live)
      healths.push(h)
      for (const c of o.spec?.template?.spec?.containers ?? []) images.add(c.image)
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
      resources.push({ group, version, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, status: inSync ? 'Synced' : 'OutOfSync', ...(h ? { health: h } : {}) })
    }
    for (const o of this.tracked(app.metadata.name, cmp.store)) {
      if (wanted.has(keyOf(o))) continue
      synced = false
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
      resources.push({ group, version, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, status: 'OutOfSync', requiresPruning: true })
    }
    return {
      sync: { status: synced ? 'Synced' : 'OutOfSync', revision: cmp.revision, ...(cmp.revisions.length > 1 ? { revisions: cmp.revisions } : {}), comparedTo },
      health: { status: worstHealth(healths).status },
      resources,
      sourceType: cmp.sourceType,
      summary: images.size ? { images: [...images].sort() } : {},
      conditions: [],
    }
  }

  private async sync(app: KObject, cmp: Comparison, initiatedBy: Record<string, unknown>, promptPrune?: boolean): Promise<any> {
    const name = app.metadata.name
    const startedAt = now()
    const revision = cmp.revision
    const state = (phase: string, message: string, resources: any[] = []) => ({
      operation: { sync: { revision, ...(cmp.revisions.length > 1 ? { revisions: cmp.revisions } : {}) }, initiatedBy, retry: {} },
      phase,
      message,
      syncResult: { revision, ...(cmp.revisions.length > 1 ? { revisions: cmp.revisions } : {}), resources, source: app.spec?.source },
      startedAt,
      finishedAt: now(),
    })
    if (cmp.error) return state('Failed', `ComparisonError: ${cmp.error.message}`)
    const injected = this.faults.failSync.get(name)
    if (injected) {
      this.env.log(`argocd: sync of ${name} failed (injected): ${injected}`)
      return state('Failed', injected)
    }
    const store = cmp.store
    const options: string[] = app.spec?.syncPolicy?.syncOptions ?? []
    const destNs = app.spec?.destination?.namespace
    // Dry run: every kind must be served (or defined by a CRD in the same sync).
    const skipped = new Set<string>()
    const invalid: string[] = []
    for (const o of cmp.desired) {
      if (store.typeOf(o.apiVersion, o.kind)) continue
      const group = o.apiVersion.split('/')[0]
      if (cmp.desired.some((c) => c.kind === 'CustomResourceDefinition' && c.spec?.group === group && c.spec?.names?.kind === o.kind)) continue
      if (syncOptions(o).includes('SkipDryRunOnMissingResource=true')) skipped.add(keyOf(o))
      else invalid.push(`The Kubernetes API could not find ${group}/${o.kind} for requested resource ${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}: the server could not find the requested resource. Make sure the "${o.kind}" CRD is installed on the destination cluster.`)
    }
    if (invalid.length) {
      this.env.log(`argocd: sync of ${name} failed: ${invalid[0]}`)
      return state('Failed', `one or more synchronization tasks are not valid: ${invalid.join('; ')}`)
    }
    if (options.includes('CreateNamespace=true') && destNs && !store.get({ apiVersion: 'v1', kind: 'Namespace', name: destNs }))
      store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: destNs }, spec: {}, status: { phase: 'Active' } }, FIELD_MANAGER)
    const results: any[] = []
    const errors: string[] = []
    for (const o of [...cmp.desired].sort((a, b) => kindWeight(a) - kindWeight(b))) {
      const k = keyOf(o)
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
      const base = { group, version, kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name }
      if (skipped.has(k) && !store.typeOf(o.apiVersion, o.kind)) {
        results.push({ ...base, status: 'SyncFailed', message: 'the server could not find the requested resource (skipped dry run; will retry)', hookPhase: 'Running', syncPhase: 'Sync' })
        continue
      }
      try {
        const live = this.live(o, store)
        const changed = !live || !isSubset({ ...o, metadata: { labels: o.metadata.labels, annotations: o.metadata.annotations } }, live)
        if (changed) store.apply(o, FIELD_MANAGER, { force: true })
        results.push({ ...base, status: 'Synced', message: !live ? `${o.kind.toLowerCase()}/${o.metadata.name} created` : changed ? `${o.kind.toLowerCase()}/${o.metadata.name} configured` : `${o.kind.toLowerCase()}/${o.metadata.name} unchanged`, hookPhase: 'Succeeded', syncPhase: 'Sync' })
      } catch (err) {
        const msg = err instanceof ApiError ? err.message : (err as Error).message
        errors.push(msg)
        results.push({ ...base, status: 'SyncFailed', message: msg, hookPhase: 'Failed', syncPhase: 'Sync' })
      }
    }
    const stillSkipped = new Set([...skipped].filter((k) => {
      const o = cmp.desired.find((d) => keyOf(d) === k)!
      return !store.typeOf(o.apiVersion, o.kind)
    }))
    this.skipped.set(name, stillSkipped)
    if (app.spec?.syncPolicy?.automated?.prune || promptPrune) {
      const wanted = new Set(cmp.desired.map(keyOf))
      for (const o of this.tracked(name, store)) {
        if (wanted.has(keyOf(o))) continue
        store.delete({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })
        const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion]
        results.push({ group, version, kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name, status: 'Pruned', message: 'pruned', hookPhase: 'Succeeded', syncPhase: 'Sync' })
        this.env.log(`argocd: ${name} pruned ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)
      }
    }
    if (errors.length) return state('Failed', `one or more objects failed to apply, reason: ${errors.join(', ')}`, results)
    this.env.log(`argocd: synced ${name} to ${revision.slice(0, 7)}`)
    return state('Succeeded', 'successfully synced (all tasks run)', results)
  }
}
