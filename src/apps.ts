// The apps this run onboards, read from what runs: which file of the Directory Application holds
// each one (or the folder the setup moved it to earlier), its workload, every object it consists
// of (all adopted by the new Application), the image to follow and how to update it. Settings
// the user gives win (APP_<NAME>_IMAGE/_STRATEGY/_TAG_REGEX, then IMAGE/UPDATE_STRATEGY/TAG_REGEX);
// the rest is derived and explained (`policy.why`). An app that is neither in the Directory
// Application nor already moved by the setup is never invented: the run stops with the names found.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { readRepoFile } from './files.ts'
import { readSelection, selects } from './include.ts'
import { canonicalName, parseImage, readImageRef, sameImage, type ImageRef } from './render/image.ts'
import { choosePolicy, updaterImageName, type UpdatePolicy } from './render/strategy.ts'
import { SETTING_SPECS, type Settings } from './settings.ts'
import { existsSync } from 'node:fs'
import { closeWorkloads, directoryRefusal, findCandidates, inPlace, sourceOf, type InPlace } from './app-resolve.ts'
import { getAt, splitDocuments } from './yaml-edit.ts'

export interface ObjectRef {
  apiVersion: string
  kind: string
  name: string
  namespace?: string
}

export interface AppSpec {
  name: string
  /** the Directory Application's file that holds the app today; undefined once the setup moved it */
  sourceFile?: string
  /** repo-relative folder of the app's Kustomize source */
  appPath: string
  applicationFile: string
  /** namespace of the workload (the Application's destination) */
  namespace: string
  workload: ObjectRef & { file: string; line: number }
  /** every object of the app, the Namespace included: the new Application adopts them all */
  objects: ObjectRef[]
  /** the image as the workload runs it (tag and digest included) */
  image: ImageRef
  policy: UpdatePolicy
  /** ImageUpdater images[].imageName: the name as the workload writes it, plus the constraint */
  imageName: string
  /**
   * Set when the app already renders through a Kustomize or Helm Application (found by the repo
   * model): no move, no new Application; the ImageUpdater selects that Application.
   */
  inPlace?: InPlace
}

/** The Application Image Updater updates for the app: its own, or the one it renders through. */
export function updatedApplication(app: AppSpec): string {
  return app.inPlace?.application.name ?? app.name
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const
/** Kinds that run containers but that Image Updater's Kustomize write-back is not set up for here. */
const OTHER_POD_KINDS = ['CronJob', 'Job', 'ReplicaSet', 'Pod', 'ReplicationController']
/** Kinds without a namespace (the ones a homelab app file holds). */
export const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'IngressClass', 'PriorityClass', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'APIService'])

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** The names of the apps this run onboards: APPS (or --app), else APP_NAME. */
export function appNames(settings: Pick<Settings, 'apps' | 'appName'>): string[] {
  const names = settings.apps
    ? settings.apps.split(',').map((n) => n.trim()).filter(Boolean)
    : [settings.appName]
  const setting = settings.apps ? 'APPS' : 'APP_NAME'
  for (const n of names)
    if (!DNS_LABEL.test(n) || n.length > 63)
      throw new SetupError(`${setting}: "${n}" is not a valid app name (lower case letters, digits and -, at most 63)`, `set ${setting} to the name of the app's file in the Directory Application without .yaml, e.g. ${setting}=it-tools`)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) throw new SetupError(`${setting} names ${dup} twice`, `list each app once in ${setting}`)
  return [...new Set(names)]
}

/** APP_<NAME>_<FIELD>: the per-app form of a setting. */
export function perAppSetting(app: string, field: 'IMAGE' | 'STRATEGY' | 'TAG_REGEX'): string {
  return `APP_${app.toUpperCase().replace(/[-.]/g, '_')}_${field}`
}

export function appPath(settings: Settings, app: string): string {
  return `${settings.manifestsDir}/${app}`
}

export function applicationFile(settings: Settings, app: string): string {
  return `${settings.applicationsDir}/${app}.yaml`
}

export interface Doc {
  kind?: string
  apiVersion?: string
  name?: string
  namespace?: string
  line: number
  file: string
  json: Record<string, any>
}

/** Every document of a file, each with the kind and name it declares; a document without kind stops the run. */
export function readDocs(text: string, rel: string): Doc[] {
  return splitDocuments(text, rel).map((d) => {
    const json = (d.doc.toJS() ?? {}) as Record<string, any>
    if (typeof json !== 'object' || Array.isArray(json) || !d.kind)
      throw new SetupError(
        `${rel}:${d.line}: a document without kind (${d.source.split('\n').find((l) => l.trim() && !l.trim().startsWith('#'))?.trim() ?? 'empty'}): Kubernetes cannot apply it, and moving the file could not carry it over as an object`,
        `give the document its apiVersion and kind, or delete it from ${rel}, then rerun`,
      )
    return { kind: d.kind, apiVersion: json.apiVersion, name: d.name, namespace: json.metadata?.namespace, line: d.line, file: rel, json }
  })
}

/** The objects of a Kustomize folder the setup made (its ImageUpdater aside). */
export async function folderDocs(ctx: Ctx, folder: string): Promise<Doc[] | undefined> {
  const rel = `${folder}/kustomization.yaml`
  const text = await readRepoFile(ctx, rel)
  if (text === null) return undefined
  const resources = getAt(text, rel, ['resources']).value
  const files = Array.isArray(resources) ? resources.filter((r): r is string => typeof r === 'string' && /\.ya?ml$/.test(r) && r !== 'image-updater.yaml') : []
  const docs: Doc[] = []
  for (const f of files) {
    const t = await readRepoFile(ctx, `${folder}/${f}`)
    // the ImageUpdater (whatever its file is called) lives in Argo CD's namespace: not an object of the app
    if (t !== null) docs.push(...readDocs(t, `${folder}/${f}`).filter((d) => d.kind !== 'ImageUpdater'))
  }
  return docs
}

/** File names (without .yaml) the Directory Application syncs, and folders the setup made: for "did you mean". */
/** A selection that selects no file (the plan's Directory Application is not in the repo). */
const NOTHING: ReturnType<typeof readSelection> = { include: '{}', items: [], recurse: false, line: 0 }

async function namesFound(ctx: Ctx, selection: ReturnType<typeof readSelection>): Promise<string[]> {
  const dir = ctx.settings.manifestsDir
  let entries: { name: string; isDirectory(): boolean }[] = []
  try {
    entries = await readdir(join(ctx.repoDir, dir), { withFileTypes: true })
  } catch {
    entries = []
  }
  const files = entries.filter((e) => !e.isDirectory() && /\.ya?ml$/.test(e.name) && selects(selection, e.name)).map((e) => e.name.replace(/\.ya?ml$/, ''))
  const folders: string[] = []
  // "moved" only for what this setup onboarded: the owner's own folders are the owner's
  const onboarded = new Set(ctx.state.onboarded)
  for (const e of entries) if (e.isDirectory() && (await readRepoFile(ctx, `${dir}/${e.name}/kustomization.yaml`)) !== null) folders.push(`${e.name} (${onboarded.has(e.name) ? 'moved by the setup' : 'its own Kustomize folder'})`)
  return [...files, ...folders].sort()
}

function refOf(d: Doc, defaultNamespace: string): ObjectRef {
  const namespaced = !CLUSTER_SCOPED.has(d.kind!)
  return { apiVersion: String(d.apiVersion ?? ''), kind: d.kind!, name: d.name ?? '', ...(namespaced ? { namespace: d.namespace ?? defaultNamespace } : {}) }
}

function pickWorkload(name: string, docs: Doc[], where: string): Doc {
  const workloads = docs.filter((d) => (WORKLOAD_KINDS as readonly string[]).includes(d.kind!))
  const named = workloads.filter((d) => d.name === name)
  if (named.length === 1) return named[0]!
  if (named.length === 0 && workloads.length === 1) return workloads[0]!
  if (workloads.length === 0) {
    const other = docs.find((d) => OTHER_POD_KINDS.includes(d.kind!))
    throw new SetupError(
      other
        ? `${other.file}:${other.line}: ${name} runs as a ${other.kind}; the setup onboards apps that run as a Deployment, StatefulSet or DaemonSet`
        : `${where}: expected a Deployment, StatefulSet or DaemonSet for ${name}, found ${docs.map((d) => d.kind).join(', ') || 'no objects'}`,
      other ? `leave ${name} out of APPS (Image Updater can still follow it with an ImageUpdater you write yourself)` : `check that ${where} is the app's manifest, or leave ${name} out of APPS`,
    )
  }
  throw new SetupError(
    `${where}: expected one workload for ${name}, found ${workloads.map((d) => `${d.kind} ${d.name}`).join(', ')}`,
    `name the app's main workload ${name} (metadata.name), or onboard the workloads as apps of their own files`,
  )
}

function pickImage(ctx: Ctx, name: string, workload: Doc): ImageRef {
  const s = ctx.settings
  const podSpec = workload.json.spec?.template?.spec ?? {}
  const containers: { name?: string; image?: string }[] = Array.isArray(podSpec.containers) ? podSpec.containers : []
  const inits: { name?: string; image?: string }[] = Array.isArray(podSpec.initContainers) ? podSpec.initContainers : []
  const where = `${workload.file}:${workload.line}`
  const imageSetting = s.perApp[perAppSetting(name, 'IMAGE')] !== undefined ? perAppSetting(name, 'IMAGE') : 'IMAGE'
  const wanted = s.perApp[perAppSetting(name, 'IMAGE')] ?? (s.image || undefined)
  let chosen: string | undefined
  if (wanted !== undefined) {
    const ref = parseImage(wanted, imageSetting)
    chosen = [...containers, ...inits].map((c) => String(c.image ?? '')).find((i) => sameImage(i, ref))
    if (!chosen)
      throw new SetupError(
        `${where}: the ${name} ${workload.kind} runs ${[...containers, ...inits].map((c) => c.image).join(', ') || 'no image'}, not ${wanted}`,
        `set ${imageSetting} to the image the ${workload.kind} runs (without the tag), or leave it empty to use it`,
      )
  } else {
    const distinct = [...new Map(containers.map((c) => [canonicalName(readImageRef(String(c.image ?? '')) ?? { registry: '?', repository: String(c.image) }), String(c.image ?? '')])).values()]
    if (distinct.length === 0) throw new SetupError(`${where}: the ${name} ${workload.kind} has no containers with an image`, `check ${workload.file}`)
    if (distinct.length > 1)
      throw new SetupError(
        `${where}: the ${name} ${workload.kind} runs several images (${distinct.join(', ')}); the setup cannot tell which one Image Updater should follow`,
        `set ${perAppSetting(name, 'IMAGE')} to one of them (without the tag), e.g. ${perAppSetting(name, 'IMAGE')}=${readImageRef(distinct[0]!)?.name ?? distinct[0]}`,
      )
    chosen = distinct[0]!
  }
  const ref = readImageRef(chosen)
  if (!ref) throw new SetupError(`${where}: the ${name} ${workload.kind} runs "${chosen}", which is not an image reference Docker accepts`, `fix the image: field in ${workload.file}`)
  return ref
}

/** One app, from its file in the Directory Application or from the folder the setup moved it to. */
async function readApp(ctx: Ctx, name: string, selection: ReturnType<typeof readSelection>): Promise<AppSpec> {
  const s = ctx.settings
  const folder = appPath(s, name)
  // the file in the Directory Application first: while it exists (a move cut short), it is the source
  let sourceFile: string | undefined
  let docs: Doc[] | undefined
  for (const ext of ['yaml', 'yml']) {
    const rel = `${s.manifestsDir}/${name}.${ext}`
    if (!selects(selection, `${name}.${ext}`)) continue
    const text = await readRepoFile(ctx, rel)
    if (text === null) continue
    sourceFile = rel
    docs = readDocs(text, rel)
    break
  }
  if (!docs) docs = await folderDocs(ctx, folder)
  // not where the plan's layout puts it: wherever an Application of the repo renders it
  if (!docs || docs.length === 0) {
    const elsewhere = await readFromModel(ctx, name)
    if (elsewhere) return elsewhere.app
    if (selection === NOTHING)
      throw new SetupError(
        `${s.personalServicesFile} does not exist in the GitOps repo ${ctx.repoDir}, and no Application of the repo renders a workload named ${name}${closeText(await closeTo(ctx, name))}`,
        `check PERSONAL_SERVICES_APP_FILE in .env (paths are relative to GITOPS_REPO_DIR), or set ${s.apps ? 'APPS' : 'APP_NAME'} to the name of a workload an Application renders`,
      )
    const found = await namesFound(ctx, selection)
    throw new SetupError(
      `no app named ${name}: ${s.personalServicesFile} syncs no ${s.manifestsDir}/${name}.yaml, there is no ${folder}/, and no Application of the repo renders a workload named ${name} (apps found: ${found.join(', ') || 'none'})${closeText(await closeTo(ctx, name))}`,
      `set ${s.apps ? 'APPS' : 'APP_NAME'} to one of the names found (the app's file name without .yaml, or the workload's metadata.name)`,
    )
  }
  const where = sourceFile ?? `${folder}/`
  const workload = pickWorkload(name, docs, where)
  const namespace = workload.namespace ?? s.appNamespace
  const image = pickImage(ctx, name, workload)
  const policy = appPolicy(ctx, name, image)
  return {
    name,
    sourceFile,
    appPath: folder,
    applicationFile: await movedApplicationFile(ctx, name),
    namespace,
    workload: { ...refOf(workload, namespace), file: workload.file, line: workload.line },
    objects: docs.map((d) => refOf(d, namespace)),
    image,
    policy,
    imageName: updaterImageName(image, policy),
  }
}

const closeText = (close: string[]) => (close.length ? `; elsewhere in the repo: ${close.join('; ')}` : '')

async function closeTo(ctx: Ctx, name: string): Promise<string[]> {
  const { loadRepoModel } = await import('./repo-model/index.ts')
  return closeWorkloads(await loadRepoModel(ctx), name)
}

/**
 * The app as the repo model finds it (src/app-resolve.ts): undefined when no Application renders a
 * workload of that name; a refusal for a Directory Application other than the one the settings name
 * (the setup moves apps out of that one) and for several Applications.
 */
async function readFromModel(ctx: Ctx, name: string): Promise<{ app: AppSpec } | undefined> {
  const s = ctx.settings
  const { loadRepoModel } = await import('./repo-model/index.ts')
  const model = await loadRepoModel(ctx)
  const imageSetting = s.perApp[perAppSetting(name, 'IMAGE')] !== undefined ? perAppSetting(name, 'IMAGE') : s.image ? 'IMAGE' : perAppSetting(name, 'IMAGE')
  const found = findCandidates(model, name, { image: s.perApp[perAppSetting(name, 'IMAGE')] ?? (s.image || undefined), imageSetting })
  if (found.length === 0) return undefined
  const first = found.find((c) => c.object.name === name) ?? found[0]!
  const source = sourceOf(first)
  if (source.type === 'Directory') throw directoryRefusal(first, name, ctx)
  if (source.type === 'Plugin')
    throw new SetupError(`${name} renders through the config management plugin Application ${first.app.name} (${first.object.file}); the setup writes back for Kustomize and Helm Applications only`, `onboard ${name} with an ImageUpdater you write for ${first.app.name} (manifestTargets), or leave it out of ${s.apps ? 'APPS' : 'APP_NAME'}`)
  const o = first.object
  const doc: Doc = { kind: o.kind, apiVersion: o.apiVersion, name: o.name, namespace: o.namespace, line: o.line, file: o.file, json: o.json }
  const image = pickImage(ctx, name, doc)
  const placed = inPlace(found, image, name)
  // a digest pin without a tag: following `latest` by digest would replace the owner's pin
  if (image.digest && !image.tag && s.perApp[perAppSetting(name, 'STRATEGY')] === undefined && !s.updateStrategy)
    throw new SetupError(
      `${placed.kustomizeImage ? `${placed.kustomizeImage.file}:${placed.kustomizeImage.line}` : `${o.file}:${o.line}`}: ${name} is pinned by digest without a tag (${image.name}@${image.digest.slice(0, 19)}...); following latest by digest would replace the pin`,
      `set ${perAppSetting(name, 'STRATEGY')} (and ${perAppSetting(name, 'TAG_REGEX')}) to the versions ${name} may move to, or leave ${name} out of ${s.apps ? 'APPS' : 'APP_NAME'} to keep the pin`,
    )
  const policy = appPolicy(ctx, name, image)
  const namespace = o.namespace ?? first.app.destination.namespace ?? s.appNamespace
  return {
    app: {
      name,
      appPath: placed.source.path ?? '',
      applicationFile: placed.applicationFile ?? '',
      namespace,
      workload: { ...refOf(doc, namespace), file: o.file, line: o.line },
      // nothing changes hands: the Application that renders the app today keeps it
      objects: [],
      image,
      policy,
      imageName: updaterImageName(image, policy),
      inPlace: placed,
    },
  }
}

/** The update policy: the user's settings where given, else derived from the running image. */
function appPolicy(ctx: Ctx, name: string, image: ImageRef): UpdatePolicy {
  const s = ctx.settings
  const perStrategy = s.perApp[perAppSetting(name, 'STRATEGY')]
  const perRegex = s.perApp[perAppSetting(name, 'TAG_REGEX')]
  return choosePolicy(image, name, {
    strategy: perStrategy ?? (s.updateStrategy || undefined),
    tagRegex: perRegex ?? (s.tagRegex || undefined),
    strategySetting: perStrategy !== undefined || !s.updateStrategy ? perAppSetting(name, 'STRATEGY') : 'UPDATE_STRATEGY',
    tagRegexSetting: perRegex !== undefined || !s.tagRegex ? perAppSetting(name, 'TAG_REGEX') : 'TAG_REGEX',
  })
}

/**
 * The moved app's new Application: in APPLICATIONS_DIR, or where its default names no folder, beside
 * the Directory Application it leaves (where the owner keeps Applications of that kind).
 */
async function movedApplicationFile(ctx: Ctx, name: string): Promise<string> {
  const s = ctx.settings
  if (s.applicationsDir !== SETTING_SPECS.applicationsDir.default || existsSync(join(ctx.repoDir, s.applicationsDir)) || (await readRepoFile(ctx, applicationFile(s, name))) !== null) return applicationFile(s, name)
  const dir = s.personalServicesFile.includes('/') ? s.personalServicesFile.slice(0, s.personalServicesFile.lastIndexOf('/')) : '.'
  return `${dir === '.' ? '' : `${dir}/`}${name}.yaml`
}

/** Every app of this run, in the order given. Per-app settings for apps not in the run are refused (typos). */
export async function readApps(ctx: Ctx, servicesAppText: string | null): Promise<AppSpec[]> {
  const names = appNames(ctx.settings)
  const known = new Set(names.flatMap((n) => (['IMAGE', 'STRATEGY', 'TAG_REGEX'] as const).map((f) => perAppSetting(n, f))))
  const stray = Object.keys(ctx.settings.perApp).find((k) => !known.has(k))
  if (stray)
    throw new SetupError(`${stray} is set, but no app of this run is called that (apps: ${names.join(', ')})`, `rename ${stray} to APP_<NAME>_${/_(IMAGE|STRATEGY|TAG_REGEX)$/.exec(stray)?.[1]} for one of ${names.join(', ')}, or remove it`)
  // no Directory Application where the settings' default points: every app is looked up in the model
  const selection = servicesAppText === null ? NOTHING : readSelection(servicesAppText, ctx.settings.personalServicesFile)
  const apps: AppSpec[] = []
  for (const name of names) apps.push(await readApp(ctx, name, selection))
  return apps
}
