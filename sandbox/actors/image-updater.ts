// The Argo CD Image Updater (app v1.x) the sandbox plays. Once its controller Pod runs, every cycle it
// reads the ImageUpdater resources in its namespace, matches Applications, reads registry tags, and
// writes back newer tags (git: `.argocd-source-<app>.yaml` on the branch; argocd: the app spec). It
// logs what the real one logs, so a setup that is idle or broken is visible in its log.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { KObject, Store } from '../store.ts'
import type { PodRuntime } from '../apiserver/pods.ts'
import { versionAtLeast } from './crds.ts'
import { git, type GitRemote } from './git-source.ts'
import { globMatch } from './glob.ts'
import { PodLog, parseLevel, type Level } from './pod-logs.ts'
import type { InMemoryRegistry } from './registry.ts'
import { parseAllowTags, parseIgnoreTags, parseImageList, parseStrategy, selectTag, splitImage } from './update-options.ts'

const IU = { apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater' }
const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }
const ANN = 'argocd-image-updater.argoproj.io/'
const STATUS_REFRESH_MS = 10_000
export const IU_FINALIZER = 'resources-finalizer.argocd-image-updater.argoproj.io'

export interface ImageUpdaterDeps {
  store: Store
  pods: PodRuntime
  registry: InMemoryRegistry
  remoteFor(repoURL: string): GitRemote | undefined
  log: (line: string) => void
  /** what the Git host allows (tests switch it): tokens that may not push, protected branches */
  gitPolicy?: GitPushPolicy
}

/** The Git host's rules the write-back meets only when it pushes: a read-only token, a protected branch. */
export class GitPushPolicy {
  readonly readOnlyTokens = new Set<string>()
  readonly protectedBranches = new Set<string>()
  /** Why the host refuses `token` pushing to `branch` of `repoURL`, or undefined when it accepts. */
  refusal(repoURL: string, username: string, token: string, branch: string): string | undefined {
    const repo = repoURL.replace(/^https?:\/\/[^/]+\//, '').replace(/^git@[^:]+:/, '').replace(/\.git$/, '')
    if (this.readOnlyTokens.has(token)) return `remote: Permission to ${repo}.git denied to ${username}. fatal: unable to access '${repoURL}/': The requested URL returned error: 403`
    if (this.protectedBranches.has(branch)) return `remote: error: GH006: Protected branch update failed for refs/heads/${branch}. ! [remote rejected] ${branch} -> ${branch} (protected branch hook declined)`
    return undefined
  }
}

interface ImageConfig { alias: string; image: string; constraint?: string; strategy?: string; allowTags?: string; ignoreTags?: string; pullSecret?: string }
interface WriteBack { method: string; branch?: string }
type Log = Pick<PodLog, 'write'>
interface Totals { applications: number; considered: number; skipped: number; updated: number; errors: number }
interface Update { alias: string; image: string; from: string; to: string }

class UpdateError extends Error {}

/** Credentials from `pullsecret:<ns>/<name>` (dockerconfigjson) or `secret:<ns>/<name>#<field>` (`user:token`). */
export function readPullSecret(store: Store, spec: string, registryHost: string): { username: string; token: string } {
  const m = /^(pullsecret|secret):([^/]+)\/([^#]+)(?:#(.+))?$/.exec(spec)
  if (!m) throw new UpdateError(`unknown credential source: ${spec}`)
  const [, kind, ns, name, field] = m
  const secret = store.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name })
  if (!secret) throw new UpdateError(`could not fetch secret '${name}' from namespace '${ns}': secrets "${name}" not found`)
  const value = (k: string) => (secret.data?.[k] === undefined ? undefined : Buffer.from(secret.data[k], 'base64').toString('utf8'))
  if (kind === 'secret') {
    const raw = value(field ?? '')
    if (raw === undefined) throw new UpdateError(`secret ${ns}/${name} does not have a field '${field}'`)
    const colon = raw.indexOf(':')
    if (colon < 0) throw new UpdateError('invalid credentials in secret: expected user:token')
    return { username: raw.slice(0, colon), token: raw.slice(colon + 1).trim() }
  }
  const raw = value('.dockerconfigjson')
  if (raw === undefined) throw new UpdateError(`secret ${ns}/${name} is not of type kubernetes.io/dockerconfigjson (no .dockerconfigjson field)`)
  let config: any
  try {
    config = JSON.parse(raw)
  } catch {
    const first = raw.trim()[0] ?? ''
    throw new UpdateError(`could not parse image pull secret: invalid character '${first}' looking for beginning of value`)
  }
  const auths = config?.auths ?? {}
  const entry = auths[registryHost] ?? auths[`https://${registryHost}`]
  if (!entry) throw new UpdateError(`no credentials for registry ${registryHost} in secret ${ns}/${name}`)
  if (entry.auth) {
    const decoded = Buffer.from(String(entry.auth), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new UpdateError('invalid auth token in pull secret')
    return { username: decoded.slice(0, colon), token: decoded.slice(colon + 1) }
  }
  return { username: String(entry.username ?? ''), token: String(entry.password ?? '') }
}

function matchesLabels(app: KObject, selectors: any): boolean {
  if (!selectors) return true
  const labels = app.metadata.labels ?? {}
  for (const [k, v] of Object.entries<string>(selectors.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of selectors.matchExpressions ?? []) {
    const has = e.key in labels
    const inValues = (e.values ?? []).includes(labels[e.key])
    if ((e.operator === 'In' && !inValues) || (e.operator === 'NotIn' && inValues) || (e.operator === 'Exists' && !has) || (e.operator === 'DoesNotExist' && has)) return false
  }
  return true
}

export class ImageUpdaterController {
  private readonly logs = new Map<string, PodLog>()
  private readonly statusWrittenAt = new Map<string, number>()
  private readonly warmedUp = new Set<string>()
  private webhookPending = false
  private level: Level = 'info'

  constructor(private readonly deps: ImageUpdaterDeps) {}

  /** The log of the controller pod (created and registered on first sight). */
  private podLog(pod: KObject, appVersion: string, registriesCount: number): PodLog {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`
    let log = this.logs.get(key)
    if (!log) {
      log = new PodLog(() => this.level)
      this.logs.set(key, log)
      this.deps.pods.registerLogs(pod.metadata.namespace!, pod.metadata.name, () => this.logs.get(key)!.read())
      log.write('info', `argocd-image-updater v${appVersion} starting [loglevel:${this.level.toUpperCase()}, interval:2m0s, healthport:8081]`)
      log.write('info', `Loaded ${registriesCount} registry configurations from /app/config/registries.conf`)
    }
    return log
  }

  /** A webhook event from the registry: upstream then processes every ImageUpdater at once (logging the no-CR line when there is none). */
  webhookEvent(): void {
    this.webhookPending = true
  }

  /**
   * One tick of the controller. Like upstream v1.x: the first tick after the pod starts is the cache
   * warm-up (a dry run per ImageUpdater ending in a result line, but no start line and no status);
   * `No ImageUpdater CRs to process` is logged there and on webhook events only; every later tick is
   * one reconcile per ImageUpdater: start line, per-image lines, result line, status.
   */
  async cycle(): Promise<void> {
    const { store } = this.deps
    const pod = store.list('v1', 'Pod').find((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'argocd-image-updater' && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)
    if (!pod) return
    // a pod whose Deployment is deleted is being shut down (SIGTERM): it reconciles nothing more
    const owner = ((pod.metadata as any).ownerReferences ?? []).find((r: any) => r.kind === 'ReplicaSet')?.deployment
    if (owner && !store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: pod.metadata.namespace, name: owner })) return
    const ns = pod.metadata.namespace!
    const image: string = pod.spec?.containers?.[0]?.image ?? ''
    const appVersion = (/:v?(\d+\.\d+\.\d+)/.exec(image)?.[1] ?? pod.metadata.labels?.['app.kubernetes.io/version'] ?? '1.2.2').replace(/^v/, '')
    const cm = store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'argocd-image-updater-config' })
    this.level = parseLevel(cm?.data?.['log.level'])
    const registries: any[] = (cm?.data?.['registries.conf'] ? parse(cm.data['registries.conf'])?.registries : undefined) ?? []
    const log = this.podLog(pod, appVersion, registries.length)
    const crs = (store.typeOf(IU.apiVersion, IU.kind) ? store.list(IU.apiVersion, IU.kind, ns) : []).filter((cr) => this.holdFinalizer(cr))
    const podKey = `${ns}/${pod.metadata.name}`
    const warmUp = !this.warmedUp.has(podKey)
    const webhook = this.webhookPending
    this.warmedUp.add(podKey)
    this.webhookPending = false
    if (warmUp || webhook) {
      if (!crs.length) return log.write('info', 'No ImageUpdater CRs to process')
      log.write('info', `Processing ${crs.length} ImageUpdater CRs (warmUp: ${warmUp}, webhook: ${webhook})`)
    }
    for (const cr of crs) {
      const crLog: Log = { write: (level, msg, fields) => log.write(level, msg, { ...fields, imageUpdater_name: cr.metadata.name, imageUpdater_namespace: ns }) }
      const r = await this.processCr(cr, ns, appVersion, cm, registries, crLog, log, warmUp)
      crLog.write('info', `Processing results: applications=${r.totals.applications} images_considered=${r.totals.considered} images_skipped=${r.totals.skipped} images_updated=${r.totals.updated} errors=${r.totals.errors}`)
      if (!warmUp && versionAtLeast(appVersion, 1, 2)) this.writeStatus(cr, r.totals, r.imagesManaged, r.updates)
    }
  }

  /**
   * Like upstream's reconciler: every ImageUpdater it sees gets its finalizer, and one being deleted
   * loses it (and is not processed). With the controller gone nobody removes it, so deleting an
   * ImageUpdater after the controller hangs, and so does its CRD. Returns whether to process `cr`.
   */
  private holdFinalizer(cr: KObject): boolean {
    const finalizers: string[] = Array.isArray(cr.metadata.finalizers) ? (cr.metadata.finalizers as string[]) : []
    const ref = { ...IU, namespace: cr.metadata.namespace, name: cr.metadata.name }
    const write = (next: string[]) => {
      const live = this.deps.store.get(ref)
      if (!live) return
      live.metadata.finalizers = next
      this.deps.store.update(live, 'argocd-image-updater')
    }
    if (cr.metadata.deletionTimestamp) {
      if (finalizers.includes(IU_FINALIZER)) write(finalizers.filter((f) => f !== IU_FINALIZER))
      return false
    }
    if (!finalizers.includes(IU_FINALIZER)) write([...finalizers, IU_FINALIZER])
    return true
  }

  /** Status as upstream v1.2 writes it after each reconcile: Ready, Error and Reconciling conditions with its reasons. */
  private writeStatus(cr: KObject, totals: Totals, imagesManaged: number, updates: Update[]): void {
    const key = `${cr.metadata.namespace}/${cr.metadata.name}`
    const prev = cr.status ?? {}
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const gen = cr.metadata.generation ?? 1
    const failed = totals.errors > 0
    const wanted = [
      { type: 'Ready', status: 'True', reason: failed ? 'ReconcileCompletedWithErrors' : 'ReconcileSucceeded', message: failed ? `Reconciled ${totals.applications} applications with ${totals.errors} errors, ${totals.updated} images updated.` : `Reconciled ${totals.applications} applications, ${totals.updated} images updated.` },
      { type: 'Reconciling', status: 'False', reason: 'Idle', message: 'Last check completed. Awaiting next cycle.' },
      { type: 'Error', status: failed ? 'True' : 'False', reason: failed ? 'PartialErrors' : 'NoErrors', message: failed ? `${totals.errors} error(s) occurred during image update checks.` : 'No errors during last reconciliation.' },
    ]
    const conditions = wanted.map((c) => {
      const before = (prev.conditions ?? []).find((p: any) => p.type === c.type)
      return { ...c, lastTransitionTime: before?.status === c.status ? before.lastTransitionTime : t, observedGeneration: gen }
    })
    const status: any = { ...prev, applicationsMatched: totals.applications, imagesManaged, observedGeneration: gen, conditions, lastCheckedAt: prev.lastCheckedAt ?? t }
    if (updates.length) {
      status.lastUpdatedAt = t
      status.recentUpdates = [...updates.map((u) => ({ alias: u.alias, image: u.image, newVersion: u.to, applicationsUpdated: 1, updatedAt: t, message: `Updated from ${u.from} to ${u.to}.` })), ...(prev.recentUpdates ?? [])].slice(0, 10)
    }
    // Upstream writes lastCheckedAt every cycle; the sandbox skips identical writes for 10 s so the
    // store is not churned by a controller that runs every few milliseconds.
    const stale = Date.now() - (this.statusWrittenAt.get(key) ?? 0) > STATUS_REFRESH_MS
    // written at once after a change to the resource itself (an apply), so lastCheckedAt follows it
    const writtenAt = Date.parse(prev.lastCheckedAt ?? '') || 0
    const touched = ((cr.metadata.managedFields ?? []) as { time?: string; subresource?: string }[]).some((f) => !f.subresource && Math.floor(Date.parse(f.time ?? '') / 1000) * 1000 > writtenAt)
    if (JSON.stringify(status) === JSON.stringify(prev) && !stale && !touched) return
    status.lastCheckedAt = t
    this.deps.store.updateStatus({ ...IU, namespace: cr.metadata.namespace, name: cr.metadata.name }, status)
    this.statusWrittenAt.set(key, Date.now())
  }

  private imagesOf(ref: any, cr: KObject, app: KObject, useAnnotations: boolean): { images: ImageConfig[]; writeBack: WriteBack } {
    if (useAnnotations) {
      const ann = app.metadata.annotations ?? {}
      const list = ann[`${ANN}image-list`]
      const images = list
        ? parseImageList(list).map((s) => ({ ...s, strategy: ann[`${ANN}${s.alias}.update-strategy`], allowTags: ann[`${ANN}${s.alias}.allow-tags`], ignoreTags: ann[`${ANN}${s.alias}.ignore-tags`], pullSecret: ann[`${ANN}${s.alias}.pull-secret`] }))
        : []
      return { images, writeBack: { method: ann[`${ANN}write-back-method`] ?? 'argocd', branch: ann[`${ANN}git-branch`] } }
    }
    const common = { ...(cr.spec?.commonUpdateSettings ?? {}), ...(ref.commonUpdateSettings ?? {}) }
    const images = (ref.images ?? []).map((img: any) => {
      const s = { ...common, ...(img.commonUpdateSettings ?? {}) }
      const { name, tag } = splitImage(String(img.imageName ?? ''))
      return { alias: img.alias, image: name, constraint: tag, strategy: s.updateStrategy, allowTags: s.allowTags, ignoreTags: Array.isArray(s.ignoreTags) ? s.ignoreTags.join(',') : s.ignoreTags, pullSecret: s.pullSecret }
    })
    const wb = ref.writeBackConfig ?? cr.spec?.writeBackConfig ?? { method: 'argocd' }
    return { images, writeBack: { method: wb.method ?? 'argocd', branch: wb.gitConfig?.branch } }
  }

  private currentImage(app: KObject, image: string): string | undefined {
    const fromSummary: string[] = app.status?.summary?.images ?? []
    const named = (ref: string) => splitImage(ref).name === image
    const hit = fromSummary.find(named)
    if (hit) return hit
    const ns = app.spec?.destination?.namespace
    for (const d of this.deps.store.list('apps/v1', 'Deployment', ns)) {
      if (d.metadata.labels?.['app.kubernetes.io/instance'] !== app.metadata.name) continue
      for (const c of d.spec?.template?.spec?.containers ?? []) if (named(c.image)) return c.image
    }
    return undefined
  }

  /**
   * One ImageUpdater, as upstream's RunImageUpdater: the applications are filtered first (unsupported
   * source types and bad write-back methods are logged and left out, not counted), then the start
   * line, then each image: not live = skipped without being considered; a warning about allowTags or
   * the strategy does not count as an error; no suitable tag = skipped; a failed write-back = error.
   */
  private async processCr(cr: KObject, ns: string, appVersion: string, cm: KObject | undefined, registries: any[], log: Log, global: Log, warmUp: boolean): Promise<{ totals: Totals; imagesManaged: number; updates: Update[] }> {
    const totals: Totals = { applications: 0, considered: 0, skipped: 0, updated: 0, errors: 0 }
    const allUpdates: Update[] = []
    let imagesManaged = 0
    const apps = this.deps.store.list(APP.apiVersion, APP.kind, ns)
    const seen = new Set<string>()
    const selected: { app: KObject; images: ImageConfig[]; writeBack: WriteBack }[] = []
    for (const ref of cr.spec?.applicationRefs ?? []) {
      for (const app of apps) {
        const appName = app.metadata.name
        if (seen.has(appName) || !globMatch(String(ref.namePattern ?? ''), appName) || !matchesLabels(app, ref.labelSelectors)) continue
        seen.add(appName)
        const sourceType = app.status?.sourceType ?? (app.spec?.source?.chart ? 'Helm' : '')
        if (sourceType !== 'Kustomize' && sourceType !== 'Helm') {
          global.write('warning', `skipping app '${ns}/${appName}' of type '${sourceType}' because it's not of supported source type`)
          continue
        }
        const useAnnotations = versionAtLeast(appVersion, 1, 1) && ref.useAnnotations === true
        const { images, writeBack } = this.imagesOf(ref, cr, app, useAnnotations)
        if (!/^(argocd|git(:(secret|repocreds)(:[^/]+\/.+)?)?)$/.test(writeBack.method)) {
          global.write('warning', `Could not create write-back config for app ${appName}, skipping: invalid write-back method: ${writeBack.method}`)
          continue
        }
        selected.push({ app, images, writeBack })
      }
    }
    if (!warmUp) log.write('info', `Starting image update cycle, considering ${selected.length} application(s) for update`)
    for (const { app, images, writeBack } of selected) {
      const appName = app.metadata.name
      totals.applications++
      if (!images.length) log.write('debug', `No images to consider for application ${appName}`, { application: appName })
      imagesManaged += images.length
      const updates: Update[] = []
      for (const img of images) {
        const fields = { alias: img.alias, application: appName, image_name: img.image.replace(/^[^/]+\//, ''), registry: img.image.split('/')[0] }
        const current = this.currentImage(app, img.image)
        if (!current) {
          log.write('info', `Image '${img.image}' seems not to be live in this application, skipping`, fields)
          totals.skipped++
          continue
        }
        totals.considered++
        const strategy = parseStrategy(img.strategy)
        if (strategy.warning) log.write('warning', strategy.warning, fields)
        const allow = parseAllowTags(img.allowTags)
        if (allow.warning) log.write('warning', allow.warning, fields)
        const currentTag = splitImage(current).tag ?? 'latest'
        const host = img.image.split('/')[0]
        const endpointCreds = registries.find((r) => r?.prefix && img.image.startsWith(String(r.prefix)))?.credentials
        let creds: { username: string; token: string } | undefined
        try {
          if (endpointCreds) creds = readPullSecret(this.deps.store, String(endpointCreds), host)
        } catch (e) {
          log.write('error', `Could not set registry endpoint credentials: ${(e as Error).message}`, fields)
          totals.errors++
          continue
        }
        try {
          if (img.pullSecret) creds = readPullSecret(this.deps.store, String(img.pullSecret), host)
        } catch (e) {
          log.write('warning', `Could not fetch credentials: ${(e as Error).message}`, fields)
          totals.errors++
          continue
        }
        let tags
        try {
          tags = this.deps.registry.listTags(img.image, creds)
        } catch (e) {
          log.write('error', `Could not get tags from registry: ${(e as Error).message}`, fields)
          totals.errors++
          continue
        }
        log.write('debug', `found ${tags.length} from ${tags.length} tags eligible for consideration`, fields)
        const chosen = selectTag(tags, { strategy: strategy.value, allow: allow.value, ignore: parseIgnoreTags(img.ignoreTags), constraint: img.constraint })
        if (!chosen) {
          log.write('debug', 'No suitable image tag for upgrade found in list of available tags.', fields)
          totals.skipped++
          continue
        }
        if (chosen.tag === currentTag) {
          log.write('debug', `Image '${img.image}:${currentTag}' already on latest allowed version`, fields)
          continue
        }
        if (warmUp) {
          log.write('info', `Would upgrade image to ${img.image}:${chosen.tag}, but this is a dry run. Skipping.`, fields)
          continue
        }
        log.write('info', `Setting new image to ${img.image}:${chosen.tag}`, fields)
        log.write('info', `Successfully updated image '${img.image}:${currentTag}' to '${img.image}:${chosen.tag}', but pending spec update (dry run=false)`, fields)
        updates.push({ alias: img.alias, image: img.image, from: currentTag, to: chosen.tag })
      }
      if (!updates.length) continue
      try {
        log.write('info', `Committing ${updates.length} parameter update(s) for application ${appName}`, { application: appName })
        await this.writeBack(app, updates, writeBack, cm)
        log.write('info', 'Successfully updated the live application spec', { application: appName })
        totals.updated += updates.length
        allUpdates.push(...updates)
      } catch (e) {
        log.write('error', `Could not update application spec: ${(e as Error).message}`, { application: appName })
        totals.errors++
      }
    }
    return { totals, imagesManaged, updates: allUpdates }
  }

  private async writeBack(app: KObject, updates: Update[], wb: WriteBack, cm: KObject | undefined): Promise<void> {
    const source = app.spec?.source ?? (app.spec?.sources ?? []).find((s: any) => s.path)
    if (wb.method === 'argocd') {
      const live = this.deps.store.get({ ...APP, namespace: app.metadata.namespace, name: app.metadata.name })
      if (!live?.spec?.source) throw new UpdateError('argocd write-back needs spec.source')
      const images: string[] = [...(live.spec.source.kustomize?.images ?? [])].filter((i: string) => !updates.some((u) => splitImage(i).name === u.image))
      live.spec.source.kustomize = { ...(live.spec.source.kustomize ?? {}), images: [...images, ...updates.map((u) => `${u.image}:${u.to}`)] }
      delete live.metadata.resourceVersion
      this.deps.store.update(live, 'argocd-image-updater')
      return
    }
    const m = /^git(?::(secret|repocreds)(?::([^/]+)\/(.+))?)?$/.exec(wb.method)
    if (!m) throw new UpdateError(`invalid write-back method: ${wb.method}`)
    // Credentials are read only now, when there is something to commit (as upstream does).
    const repoURL = String(source?.repoURL ?? '')
    const ssh = /^(git@|ssh:\/\/)/.test(repoURL)
    let pushAs: { username: string; token: string } | undefined
    if (m[1] === 'secret') {
      const secret = this.deps.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: m[2], name: m[3] })
      if (!secret) throw new UpdateError(`could not get creds for repo '${repoURL}': secrets "${m[3]}" not found`)
      const value = (k: string) => (secret.data?.[k] === undefined ? undefined : Buffer.from(secret.data[k], 'base64').toString('utf8'))
      if (ssh) {
        if (!value('sshPrivateKey')) throw new UpdateError(`could not get creds for repo '${repoURL}': invalid secret ${m[2]}/${m[3]}: does not contain field sshPrivateKey`)
      } else {
        for (const k of ['username', 'password']) if (!value(k)) throw new UpdateError(`could not get creds for repo '${repoURL}': invalid secret ${m[2]}/${m[3]}: does not contain field ${k}`)
        pushAs = { username: value('username')!, token: value('password')! }
      }
    }
    const remote = source ? this.deps.remoteFor(source.repoURL) : undefined
    if (!remote) throw new UpdateError(`could not clone ${source?.repoURL}: repository not reachable`)
    const rev = wb.branch || source.targetRevision
    const branch = !rev || rev === 'HEAD' ? await remote.defaultBranch() : rev
    const tmp = await mkdtemp(join(tmpdir(), 'sandbox-iu-'))
    try {
      const dir = join(tmp, 'repo')
      await git(['clone', '-q', '--branch', branch, remote.bareDir, dir])
      const rel = join(source.path ?? '.', `.argocd-source-${app.metadata.name}.yaml`)
      const file = join(dir, rel)
      const existing = parse(await readFile(file, 'utf8').catch(() => '')) ?? {}
      const images: string[] = (existing.kustomize?.images ?? []).filter((i: string) => !updates.some((u) => splitImage(i).name === u.image))
      existing.kustomize = { ...(existing.kustomize ?? {}), images: [...images, ...updates.map((u) => `${u.image}:${u.to}`)] }
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, stringify(existing))
      const user = cm?.data?.['git.user'] || 'argocd-image-updater'
      const email = cm?.data?.['git.email'] || 'noreply@argoproj.io'
      const message = `build: automatic update of ${app.metadata.name}\n\n${updates.map((u) => `updates image ${u.image.replace(/^[^/]+\//, '')} tag '${u.from}' to '${u.to}'`).join('\n')}\n`
      await git(['-C', dir, 'add', rel])
      await git(['-C', dir, '-c', `user.name=${user}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', message])
      const refusal = this.deps.gitPolicy?.refusal(repoURL, pushAs?.username ?? 'git', pushAs?.token ?? '', branch)
      if (refusal) throw new UpdateError(`could not push to ${repoURL}: ${refusal}`)
      await git(['-C', dir, 'push', '-q', 'origin', branch])
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }
}
