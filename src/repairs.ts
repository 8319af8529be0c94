// Repairs of an Image Updater setup made by hand from the plan, or by an older run: each known
// mistake (see ../shared/FIELD-NOTES.md) found in a file the setup needs becomes a one-line reason
// and a surgical edit (src/yaml-edit.ts keeps every other byte), so the user's own tuning stays as
// it is. What cannot be repaired safely stops with cause and fix. Files are created once; after that
// only what the setup needs is checked and repaired.
import { updatedApplication, type AppSpec } from './apps.ts'
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { planFile } from './files.ts'
import type { ChartShape } from './render/chart.ts'
import { goRegexpCause, goRegexpProblem } from './render/go-regexp.ts'
import { sameImage, STRATEGIES } from './render/image.ts'
import { formatEntry, registryEntry, registryHosts } from './render/registries.ts'
import { OLD_PULL_SECRET, PULL_SECRET } from './pull-secret.ts'
import { oldChartKeyRepairs } from './chart-values-keys.ts'
import type { Change } from './task.ts'
import { globMatches } from './image-updaters.ts'
import { appendBlockItem, deleteKey, getAt, insertKey, renameKey, setScalar, type YamlPath } from './yaml-edit.ts'

export interface Repair {
  /** one line: what was wrong and why it matters */
  reason: string
  edit(text: string): string
  /** a normal step of the setup (not a repair of a mistake): no "repair" in the summary */
  routine?: boolean
}

/** The change that applies every repair to `rel` in order, or undefined when none is needed. */
export async function planRepairs(ctx: Ctx, rel: string, text: string, repairs: Repair[]): Promise<Change | undefined> {
  let after = text
  const reasons: string[] = []
  for (const r of repairs) {
    const next = r.edit(after)
    if (next !== after && !r.routine) reasons.push(r.reason)
    after = next
  }
  const change = await planFile(ctx, rel, after, text)
  return change && (reasons.length ? { ...change, summary: `repair ${rel}: ${reasons.join('; ')}` } : change)
}

const ANN = 'argocd-image-updater.argoproj.io/'
const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options'
const SKIP_DRY_RUN = 'SkipDryRunOnMissingResource=true'
/** Deprecated strategy names and what they mean now. */
const RENAMED: Record<string, string> = { latest: 'newest-build', name: 'alphabetical' }

/** A strategy value: deprecated aliases renamed, unknown ones refused (they silently fall back to semver). */
function strategyRepair(rel: string, path: YamlPath, value: unknown, line: number): Repair | undefined {
  if (typeof value !== 'string' || (STRATEGIES as readonly string[]).includes(value)) return undefined
  const to = RENAMED[value]
  if (!to)
    throw new SetupError(`${rel}:${line}: update strategy "${value}" is not one Image Updater knows (it silently falls back to semver)`, `set it to one of ${STRATEGIES.join(', ')} in ${rel}, then rerun`)
  return { reason: `strategy "${value}" is a deprecated alias that logs a warning every cycle: ${to}`, edit: (t) => setScalar(t, rel, path, to) }
}

/** A tag filter: a bare regular expression matches no tag at all (it needs `regexp:`). */
function allowTagsRepair(rel: string, path: YamlPath, value: unknown): Repair | undefined {
  if (typeof value !== 'string' || value === 'any' || value.startsWith('regexp:')) return undefined
  return { reason: `allowTags "${value}" lacks the regexp: prefix, so it matches no tag: regexp:${value}`, edit: (t) => setScalar(t, rel, path, `regexp:${value}`) }
}

/**
 * A tag filter Go's regexp refuses (lookaround, backreferences, possessive quantifiers...): Image
 * Updater would match no tag with it. Refused before anything is written, with the construct and a
 * rewrite Go accepts (`where`: file and line or annotation; `field`: what to change, and where).
 */
function refuseGoRefusedFilter(value: unknown, where: string, field: string): void {
  if (typeof value !== 'string' || value.toLowerCase() === 'any') return
  const re = value.startsWith('regexp:') ? value.slice('regexp:'.length) : value
  const problem = goRegexpProblem(re)
  if (!problem) return
  throw new SetupError(
    `${where}: the tag filter ${goRegexpCause(re, problem)}`,
    problem.rewrite !== undefined
      ? `set ${field} to regexp:${problem.rewrite} (the same tags, in syntax Go accepts), then rerun`
      : problem.construct
        ? `take ${problem.remove} out of ${field}, then rerun`
        : `fix ${field} (Go's syntax: https://pkg.go.dev/regexp/syntax), then rerun`,
  )
}

/** A pull-secret reference to the chart's own Secret (the name an older run used): the pull secret's own name. */
function oldPullSecretRepair(rel: string, path: YamlPath, value: unknown, namespace: string): Repair | undefined {
  if (typeof value !== 'string' || !value.endsWith(`/${OLD_PULL_SECRET}`)) return undefined
  return { reason: `${OLD_PULL_SECRET} is the chart's own Secret, not the pull secret ESO makes: pullsecret:${namespace}/${PULL_SECRET}`, edit: (t) => setScalar(t, rel, path, `pullsecret:${namespace}/${PULL_SECRET}`) }
}

/** The values file: the log level where the chart reads it, a registries entry per registry in use. */
export function valuesRepairs(text: string, rel: string, opts: { logLevel: string; hosts: string[]; pullSecret: string; chartVersion: string }): Repair[] {
  const top = getAt(text, rel, ['logLevel'])
  const config = getAt(text, rel, ['config'])
  const level = getAt(text, rel, ['config', 'log.level'])
  if (config.value !== undefined && (config.value === null || typeof config.value !== 'object' || Array.isArray(config.value)))
    throw new SetupError(`${rel}:${config.line}: expected config to be a map of chart settings`, `make config a map (config:\\n  log.level: debug) in ${rel}, then rerun`)
  // a 0.x chart's keys first: its config.logLevel becomes the log.level below
  const repairs: Repair[] = oldChartKeyRepairs(text, rel, opts.chartVersion)
  const wanted = typeof top.value === 'string' && top.value ? top.value : opts.logLevel
  if (level.value === undefined && getAt(text, rel, ['config', 'logLevel']).value === undefined) {
    repairs.push({
      reason: `the chart reads the log level from config."log.level"${top.value === undefined ? '' : ', not a top-level logLevel'}: log.level: ${wanted}`,
      edit: (t) => (getAt(t, rel, ['config']).value === undefined ? insertKey(t, rel, [], 'config', [`  log.level: ${wanted}`]) : insertKey(t, rel, ['config'], 'log.level', wanted)),
    })
  }
  if (top.value !== undefined) repairs.push({ reason: 'a top-level logLevel is read by no chart version: removed', edit: (t) => deleteKey(t, rel, ['logLevel']) })
  const registries = getAt(text, rel, ['config', 'registries']).value
  const list = Array.isArray(registries) ? (registries as { prefix?: unknown; credentials?: unknown }[]) : undefined
  if (registries !== undefined && !list) throw new SetupError(`${rel}: expected config.registries to be a list`, `make config.registries a list of registries in ${rel}, then rerun`)
  const missing = registryHosts(opts.hosts).filter((h) => !list?.some((r) => r?.prefix === h))
  if (missing.length) {
    const entries = missing.map((h) => formatEntry(registryEntry(h, opts.pullSecret), '').split('\n'))
    repairs.push({
      reason: `config.registries has no entry for ${missing.join(', ')}, which the apps pull from: added`,
      edit: (t) => {
        if (getAt(t, rel, ['config', 'registries']).value === undefined) return insertKey(t, rel, ['config'], 'registries', entries.flat().map((l) => `  ${l}`))
        return entries.reduce((acc, lines) => appendBlockItem(acc, rel, ['config', 'registries'], lines), t)
      },
    })
  }
  for (const [i, r] of (list ?? []).entries()) {
    const namespace = /^pullsecret:([^/]+)\//.exec(String(r?.credentials ?? ''))?.[1]
    const old = namespace && oldPullSecretRepair(rel, ['config', 'registries', i, 'credentials'], r?.credentials, namespace)
    if (old) repairs.push(old)
  }
  const ghcr = list?.findIndex((r) => r?.prefix === 'ghcr.io') ?? -1
  if (ghcr >= 0 && opts.hosts.includes('ghcr.io') && list![ghcr]!.credentials === undefined)
    repairs.push({ reason: `the ghcr.io registry has no credentials, so private packages are unauthorized: credentials: ${opts.pullSecret}`, edit: (t) => insertKey(t, rel, ['config', 'registries', ghcr], 'credentials', opts.pullSecret) })
  return repairs
}

/** An ImageUpdater the user (or an older run) wrote: what the app needs, repaired in place. */
export function imageUpdaterRepairs(text: string, rel: string, o: { app: AppSpec; argocdNamespace: string; shape: ChartShape; branch: string; applicationAnnotations?: Record<string, unknown>; pullSecret?: string }): Repair[] {
  const repairs: Repair[] = []
  const kind = getAt(text, rel, ['kind'])
  if (kind.value !== 'ImageUpdater') throw new SetupError(`${rel}:${kind.line}: expected an ImageUpdater, found ${kind.value === undefined ? 'no kind' : `kind ${String(kind.value)}`}`, `move that file away (the setup writes the ImageUpdater there), then rerun`)
  const ns = getAt(text, rel, ['metadata', 'namespace'])
  if (ns.value !== o.argocdNamespace)
    repairs.push({
      reason: `the ImageUpdater must live in ${o.argocdNamespace}, beside the Applications it selects (it is ${ns.value === undefined ? 'in no namespace' : `in ${String(ns.value)}`}): namespace: ${o.argocdNamespace}`,
      edit: (t) => (getAt(t, rel, ['metadata', 'namespace']).value === undefined ? insertKey(t, rel, ['metadata'], 'namespace', o.argocdNamespace) : setScalar(t, rel, ['metadata', 'namespace'], o.argocdNamespace)),
    })
  const syncPath = ['metadata', 'annotations', SYNC_OPTIONS]
  const sync = getAt(text, rel, syncPath).value
  if (typeof sync !== 'string' || !sync.split(',').map((x) => x.trim()).includes(SKIP_DRY_RUN)) {
    repairs.push({
      reason: `its CRD comes with another Application (the chart), so the dry run fails without ${SYNC_OPTIONS}: ${SKIP_DRY_RUN}`,
      edit: (t) => {
        const now = getAt(t, rel, syncPath).value
        if (typeof now === 'string' && now.trim()) return setScalar(t, rel, syncPath, `${now},${SKIP_DRY_RUN}`)
        if (getAt(t, rel, ['metadata', 'annotations']).value === undefined) return insertKey(t, rel, ['metadata'], 'annotations', [`  ${SYNC_OPTIONS}: ${SKIP_DRY_RUN}`])
        return insertKey(t, rel, ['metadata', 'annotations'], SYNC_OPTIONS, SKIP_DRY_RUN)
      },
    })
  }
  const specNs = getAt(text, rel, ['spec', 'namespace'])
  if (!o.shape.specNamespace && specNs.value !== undefined)
    repairs.push({ reason: `spec.namespace was removed in Image Updater ${o.shape.appMinor} (chart ${o.shape.chartVersion}), whose CRD rejects it: removed`, edit: (t) => deleteKey(t, rel, ['spec', 'namespace']) })
  if (o.shape.specNamespace && specNs.value === undefined)
    repairs.push({ reason: `Image Updater ${o.shape.appMinor} requires spec.namespace: ${o.argocdNamespace}`, edit: (t) => insertKey(t, rel, ['spec'], 'namespace', o.argocdNamespace) })
  const refs = getAt(text, rel, ['spec', 'applicationRefs'])
  const refList = Array.isArray(refs.value) ? (refs.value as Record<string, any>[]) : []
  const selected = updatedApplication(o.app)
  const refIndex = refList.findIndex((r) => typeof r?.namePattern === 'string' && globMatches(r.namePattern, selected))
  if (refIndex < 0)
    throw new SetupError(`${rel}:${refs.line}: the ImageUpdater selects no Application named ${selected} (spec.applicationRefs[].namePattern)`, `add an applicationRefs entry with namePattern: ${selected} to ${rel} (or move the file away to have it written again), then rerun`)
  const ref = refList[refIndex]!
  const images: Record<string, any>[] = Array.isArray(ref.images) ? ref.images : []
  const imageIndex = images.findIndex((i) => typeof i?.imageName === 'string' && sameImage(i.imageName, o.app.image))
  if (ref.useAnnotations === true) {
    const lines = annotationImages(o.applicationAnnotations ?? {}, o.app, o.pullSecret)
    const writeBack = ref.writeBackConfig === undefined ? annotationWriteBack(o.applicationAnnotations ?? {}) : undefined
    repairs.push({
      reason: `useAnnotations makes the ${o.app.name} Application's annotations the configuration (the chart ${o.shape.chartVersion} CRD ${o.shape.appMinor === '1.0' ? 'has no useAnnotations at all' : 'then ignores images[]'}, and the annotations carry the plan's mistakes): turned into images[] entries${writeBack ? ' and writeBackConfig' : ''}`,
      edit: (t) => {
        const base = ['spec', 'applicationRefs', refIndex]
        let out = deleteKey(t, rel, [...base, 'useAnnotations'])
        if (getAt(out, rel, [...base, 'images']).value !== undefined) out = deleteKey(out, rel, [...base, 'images'])
        out = insertKey(out, rel, base, 'images', lines)
        return writeBack ? insertKey(out, rel, base, 'writeBackConfig', writeBack) : out
      },
    })
  } else if (imageIndex < 0)
    throw new SetupError(
      `${rel}:${refs.line}: the ImageUpdater has no images[] entry for ${o.app.image.name}, which the ${o.app.name} ${o.app.workload.kind} runs`,
      `add  - alias: ${o.app.name}\\n  imageName: ${o.app.imageName}  to applicationRefs[${refIndex}].images in ${rel}, then rerun`,
    )
  const writeBack = ref.writeBackConfig ?? getAt(text, rel, ['spec', 'writeBackConfig']).value
  const method = (writeBack as { method?: unknown } | undefined)?.method
  const fromAnnotations = ref.useAnnotations === true && ref.writeBackConfig === undefined && annotationWriteBack(o.applicationAnnotations ?? {}) !== undefined
  if (fromAnnotations) {
    // written by the useAnnotations repair above
  } else if (method === undefined)
    repairs.push({
      reason: `without writeBackConfig Image Updater changes only the live Application (method argocd) and git keeps the old tag: git write-back to ${o.branch}`,
      edit: (t) => insertKey(t, rel, ['spec', 'applicationRefs', refIndex], 'writeBackConfig', [`  method: git:secret:${o.argocdNamespace}/git-creds`, '  gitConfig:', `    branch: ${o.branch}`]),
    })
  else if (typeof method !== 'string' || !method.startsWith('git'))
    throw new SetupError(
      `${rel}:${refs.line}: writeBackConfig.method is ${JSON.stringify(method)}: the new tag would not reach git, and the next sync of ${o.app.name} would roll it back`,
      `set writeBackConfig.method: git:secret:${o.argocdNamespace}/git-creds in ${rel}, then rerun`,
    )
  const settingsPaths: YamlPath[] = [['spec', 'commonUpdateSettings'], ['spec', 'applicationRefs', refIndex, 'commonUpdateSettings']]
  if (imageIndex >= 0) settingsPaths.push(['spec', 'applicationRefs', refIndex, 'images', imageIndex, 'commonUpdateSettings'])
  for (const base of settingsPaths) {
    const strategy = getAt(text, rel, [...base, 'updateStrategy'])
    const s = strategyRepair(rel, [...base, 'updateStrategy'], strategy.value, strategy.line)
    if (s) repairs.push(s)
    const allowTags = getAt(text, rel, [...base, 'allowTags'])
    refuseGoRefusedFilter(allowTags.value, `${rel}:${allowTags.line}`, `${[...base, 'allowTags'].join('.')} in ${rel}`)
    const allow = allowTagsRepair(rel, [...base, 'allowTags'], allowTags.value)
    if (allow) repairs.push(allow)
    const pull = oldPullSecretRepair(rel, [...base, 'pullSecret'], getAt(text, rel, [...base, 'pullSecret']).value, o.argocdNamespace)
    if (pull) repairs.push(pull)
  }
  return repairs
}

/** The app's own Application: annotations from the plan that no release reads, renamed to what works. */
export function applicationRepairs(text: string, rel: string, o: { app: AppSpec; appPath: string }): Repair[] {
  const repairs: Repair[] = []
  const path = getAt(text, rel, ['spec', 'source', 'path'])
  if (path.value !== undefined && path.value !== o.appPath)
    throw new SetupError(`${rel}:${path.line}: the ${o.app.name} Application syncs ${String(path.value)}, not ${o.appPath}, where its Kustomize folder and ImageUpdater are`, `set spec.source.path: ${o.appPath} in ${rel} (or move the file away to have it written again), then rerun`)
  const directory = getAt(text, rel, ['spec', 'source', 'directory'])
  if (directory.value !== undefined)
    throw new SetupError(`${rel}:${directory.line}: the ${o.app.name} Application is a Directory app; Image Updater skips those ("not of supported source type")`, `remove spec.source.directory from ${rel} (the folder has a kustomization.yaml), then rerun`)
  const annotations = getAt(text, rel, ['metadata', 'annotations']).value
  if (annotations && typeof annotations === 'object') {
    for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
      if (!key.startsWith(ANN)) continue
      const option = key.slice(ANN.length)
      if (/(^|\.)(tag-match-expr|allow-tags)$/.test(option)) refuseGoRefusedFilter(value, `${rel}:${getAt(text, rel, ['metadata', 'annotations', key]).line}`, `the annotation ${key} in ${rel}`)
      if (/(^|\.)tag-match-expr$/.test(option)) {
        const allowKey = key.replace(/tag-match-expr$/, 'allow-tags')
        const re = String(value ?? '')
        const allow = re.startsWith('regexp:') ? re : `regexp:${re}`
        repairs.push({
          reason: `${option} exists in no Image Updater release; the tag filter is ${allowKey.slice(ANN.length)}: ${allow}`,
          edit: (t) => {
            // renamed in place where the filter is not there yet; else the dead key just goes
            if (getAt(t, rel, ['metadata', 'annotations', allowKey]).value !== undefined) return deleteKey(t, rel, ['metadata', 'annotations', key])
            const renamed = renameKey(t, rel, ['metadata', 'annotations', key], allowKey)
            return setScalar(renamed, rel, ['metadata', 'annotations', allowKey], allow)
          },
        })
      } else if (/(^|\.)update-strategy$/.test(option)) {
        const r = strategyRepair(rel, ['metadata', 'annotations', key], value, getAt(text, rel, ['metadata', 'annotations', key]).line)
        if (r) repairs.push(r)
      } else if (/(^|\.)allow-tags$/.test(option)) {
        const r = allowTagsRepair(rel, ['metadata', 'annotations', key], value)
        if (r) repairs.push(r)
      }
    }
  }
  return repairs
}

/**
 * A top-level `namespace:` in the app's kustomization moves the ImageUpdater out of Argo CD's
 * namespace. Removing it is safe when every object stays where it runs: each declares that
 * namespace itself, or declares none and the Application's destination is that namespace.
 */
export function kustomizationRepairs(text: string, rel: string, o: { argocdNamespace: string; destination: string; docs: { kind?: string; name?: string; namespace?: string; clusterScoped: boolean }[] }): Repair[] {
  const { value, line } = getAt(text, rel, ['namespace'])
  if (value === undefined || value === o.argocdNamespace) return []
  const moved = o.docs.filter((d) => !d.clusterScoped && (d.namespace ?? o.destination) !== value)
  if (moved.length)
    throw new SetupError(
      `${rel}:${line}: the top-level namespace (${String(value)}) moves the ImageUpdater out of ${o.argocdNamespace}, and removing it would move ${moved.map((d) => `${d.kind} ${d.name}`).join(', ')} to ${moved[0]!.namespace ?? o.destination} (deleted and re-created)`,
      `add namespace: ${String(value)} to the metadata of those objects in the app's folder, then rerun (the setup then removes the kustomization's namespace line)`,
    )
  return [{ reason: `a top-level namespace (${String(value)}) would move the ImageUpdater out of ${o.argocdNamespace}; every object already runs in ${String(value)}: removed`, edit: (t) => deleteKey(t, rel, ['namespace']) }]
}


/** A YAML scalar as written into the block lines below: plain where that reads back the same. */
function scalar(v: string): string {
  return /^[\w./@-][\w./:@-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~|[-+.\d][\d.e+-]*)$/i.test(v) ? v : JSON.stringify(v)
}

/**
 * The images[] entries (block lines under `images:`) the Application's Image Updater annotations
 * mean: one per `image-list` alias, with its strategy (deprecated names renamed), tag filter
 * (`tag-match-expr` read as the allow-tags it was meant to be), ignored tags, pull secret and
 * platforms. The app's own image takes the setup's policy for what the annotations leave unsaid, so
 * the result updates what the setup verifies; an image-list without it gets its entry added.
 */
export function annotationImages(annotations: Record<string, unknown>, app: AppSpec, pullSecret?: string): string[] {
  const ann = (key: string) => {
    const v = annotations[`${ANN}${key}`]
    return typeof v === 'string' && v.trim() ? v.trim() : undefined
  }
  const entries = (ann('image-list') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const eq = e.indexOf('=')
      return eq > 0 ? { alias: e.slice(0, eq), image: e.slice(eq + 1) } : { alias: '', image: e }
    })
  const lines: string[] = []
  let hasApp = false
  const push = (alias: string, imageName: string, mine: boolean) => {
    const strategy = ann(`${alias}.update-strategy`)
    const allow = ann(`${alias}.allow-tags`) ?? ann(`${alias}.tag-match-expr`)
    refuseGoRefusedFilter(allow, `the ${app.name} Application's annotations`, `the annotation ${ANN}${alias}.${ann(`${alias}.allow-tags`) !== undefined ? 'allow-tags' : 'tag-match-expr'}`)
    const settings: [string, string][] = []
    const renamed = strategy === undefined ? (mine ? app.policy.strategy : undefined) : (RENAMED[strategy] ?? strategy)
    if (renamed) settings.push(['updateStrategy', renamed])
    const allowTags = allow === undefined ? (mine && app.policy.tagRegex !== undefined ? `regexp:${app.policy.tagRegex}` : undefined) : allow === 'any' || allow.startsWith('regexp:') ? allow : `regexp:${allow}`
    if (allowTags) settings.push(['allowTags', allowTags])
    const secret = ann(`${alias}.pull-secret`) ?? (mine && app.image.registry === 'ghcr.io' ? pullSecret : undefined)
    if (secret) settings.push(['pullSecret', secret])
    lines.push(`  - alias: ${scalar(alias)}`, `    imageName: ${scalar(imageName)}`)
    const ignore = ann(`${alias}.ignore-tags`)
    const platforms = ann(`${alias}.platforms`)
    if (settings.length || ignore || platforms) {
      lines.push('    commonUpdateSettings:', ...settings.map(([k, v]) => `      ${k}: ${scalar(v)}`))
      if (ignore) lines.push(`      ignoreTags: [${ignore.split(',').map((t) => scalar(t.trim())).join(', ')}]`)
      if (platforms) lines.push(`      platforms: [${platforms.split(',').map((t) => scalar(t.trim())).join(', ')}]`)
    }
  }
  for (const [i, e] of entries.entries()) {
    const mine = sameImage(e.image, app.image)
    hasApp ||= mine
    push(e.alias || (mine ? app.name : `image-${i + 1}`), e.image, mine)
  }
  if (!hasApp) push(app.name, app.imageName, true)
  return lines
}

/** writeBackConfig block lines from the write-back-method and git-branch annotations (undefined: none there). */
export function annotationWriteBack(annotations: Record<string, unknown>): string[] | undefined {
  const method = annotations[`${ANN}write-back-method`]
  if (typeof method !== 'string' || !method.trim()) return undefined
  const branch = annotations[`${ANN}git-branch`]
  return [`  method: ${scalar(method.trim())}`, ...(typeof branch === 'string' && branch.trim() ? ['  gitConfig:', `    branch: ${scalar(branch.trim())}`] : [])]
}
