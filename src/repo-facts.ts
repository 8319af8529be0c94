// Facts about the user's GitOps repo that the new files must agree with: the repo URL Argo CD
// already uses, the AppProject name, the destination server. Read once per run.
import { stat } from 'node:fs/promises'
import { join, posix } from 'node:path'
import type { Ctx } from './context.ts'
import { SETTING_SPECS, type Settings } from './settings.ts'
import { SetupError } from './errors.ts'
import { readRepoFile } from './files.ts'
import { remoteUrl } from './git.ts'
import { readApps, updatedApplication, type AppSpec } from './apps.ts'
import { chartShape, type ChartShape } from './render/chart.ts'
import { type ImageRef } from './render/image.ts'
import { PULL_SECRET } from './pull-secret.ts'
import { registryEntries } from './render/registries.ts'
import type { TemplateVars } from './render/template.ts'
import { updaterHome, type UpdaterHome } from './updater-home.ts'
import { secretStore } from './secret-store.ts'
import { getAt, singleDocument } from './yaml-edit.ts'

export interface RepoFacts {
  repoUrl: string
  project: string
  /** the AppProject's file: APPPROJECT_FILE, or (its default absent) the file found holding the apps' project */
  projectFile: string
  /** the app's destination (the Directory app's): its server URL ... */
  destinationServer: string
  /** ... or, where the owner writes it by cluster name (`name: homelab`), that name */
  destinationName?: string
  shape: ChartShape
  valuesFile: string
  chartApplicationFile: string
  /** every app of this run, read from what runs (see src/apps.ts) */
  apps: AppSpec[]
  /** where the ImageUpdaters of apps that stay where they are go (only when there are such apps) */
  updaterHome?: UpdaterHome
  /** the moved apps deploy to another cluster than Argo CD's: their ImageUpdaters go to updaterHome too */
  remoteApps?: boolean
  /** the Directory Application the moved apps come out of (PERSONAL_SERVICES_APP_FILE); absent when every app stays where it is */
  servicesFile?: string
  /**
   * The Application that syncs the ExternalSecrets of task 2: the vault-eso Application (its own
   * step, before the chart), or the updater home's, which holds the ImageUpdaters too and so syncs
   * after the chart has served their CRD (`withImageUpdaters`).
   */
  secretsApplication: { file: string; withImageUpdaters: boolean }
  /** the ClusterSecretStore the ExternalSecrets read Vault through (src/secret-store.ts) */
  secretStore: string
  /** the first app's image, Kustomize folder and Application file (for single-app callers) */
  image: ImageRef
  appPath: string
  appApplicationFile: string
}

/** Argo CD's own cluster, as its Applications reach it: Image Updater runs there, whatever cluster the apps run on. */
export const ARGOCD_SERVER = 'https://kubernetes.default.svc'

/** The registry the GitHub token pulls from: the pull secret's dockerconfigjson names it. */
export const PULL_SECRET_REGISTRY = 'ghcr.io'

// Keyed by the settings object, which the runner's check-mode copy of the context shares, so the
// facts are read once per run. No task changes what they are read from (the project's name, the
// repoURL and destination of personal-services).
const cache = new WeakMap<Ctx['settings'], Promise<RepoFacts>>()

/** The file of the GitHub token's ExternalSecrets (task 2). */
export const SECRET_FILE = 'github-external-secret.yaml'

// the file's path per run (keyed by the settings object, as the repo facts): task 7 commits it
const seen = new WeakMap<object, string>()
export const secretFileSeen = (ctx: Ctx) => (seen.has(ctx.settings) ? [seen.get(ctx.settings)!] : [])

/**
 * Where the ExternalSecrets go: the folder the vault-eso Application syncs (its source path), so
 * they are synced where the settings say ESO's files are; MANIFESTS_DIR when it names no path.
 */
export async function secretFile(ctx: Ctx): Promise<string> {
  const text = await readRepoFile(ctx, ctx.settings.vaultEsoFile)
  const home = text === null && isDefault(ctx.settings, 'vaultEsoFile') ? (await repoFacts(ctx)).updaterHome : undefined
  if (home) {
    const rel = `${home.dir === '.' ? '' : `${home.dir}/`}${SECRET_FILE}`
    seen.set(ctx.settings, rel)
    return rel
  }
  const path = text === null ? undefined : getAt(text, ctx.settings.vaultEsoFile, ['spec', 'source', 'path']).value
  const rel = `${typeof path === 'string' && path.replace(/^\.?\/+|\/+$/g, '') ? path.replace(/^\.?\/+|\/+$/g, '') : ctx.settings.manifestsDir}/${SECRET_FILE}`
  seen.set(ctx.settings, rel)
  return rel
}

/** Reads a repo file that must exist, with a message naming the setting that points at it. */
export async function requireRepoFile(ctx: Ctx, rel: string, setting: string): Promise<string> {
  const text = await readRepoFile(ctx, rel)
  if (text === null) throw new SetupError(`${rel} does not exist in the GitOps repo ${ctx.repoDir}`, `check ${setting} in .env (paths are relative to GITOPS_REPO_DIR)`)
  return text
}

/** metadata.name, kind and a value of a one-document Argo CD file, checked for the expected kind. */
export function readArgoFile(text: string, rel: string, kind: 'Application' | 'AppProject') {
  const doc = singleDocument(text, rel)
  const actual = doc.get('kind')
  if (actual !== kind) {
    const { line } = getAt(text, rel, ['kind'])
    throw new SetupError(`${rel}:${line}: expected an Argo CD ${kind}, found ${actual === undefined ? 'no kind' : `kind ${String(actual)}`}`, `point the setting for this file at your ${kind} file`)
  }
  return doc
}

/** True when the setting still has its default: a hint the repo model may override when it names nothing. */
export function isDefault(s: Settings, key: 'projectFile' | 'personalServicesFile' | 'vaultEsoFile' | 'applicationsDir'): boolean {
  return s[key] === SETTING_SPECS[key].default
}

/** The file of the AppProject named `name`, found by what it is (kind AppProject) in any file. */
async function findProjectFile(ctx: Ctx, name: string): Promise<string | undefined> {
  const { listRepoFiles } = await import('./repo-model/scan.ts')
  for (const rel of (await listRepoFiles(ctx)).files.filter((f) => /\.ya?ml$/.test(f))) {
    const text = await readRepoFile(ctx, rel)
    if (text === null || !/^\s*kind:\s*["']?AppProject/m.test(text)) continue
    try {
      const doc = singleDocument(text, rel)
      if (doc.get('kind') === 'AppProject' && doc.getIn(['metadata', 'name']) === name) return rel
    } catch {
      continue
    }
  }
  return undefined
}

async function collect(ctx: Ctx): Promise<RepoFacts> {
  const s = ctx.settings
  const shape = chartShape(s.chartVersion)
  // The plan's files are hints: where a default names a file the repo does not have, the apps are
  // looked up in the repo model and the other files found from them (an explicit setting must exist).
  const servicesText = isDefault(s, 'personalServicesFile') ? await readRepoFile(ctx, s.personalServicesFile) : await requireRepoFile(ctx, s.personalServicesFile, 'PERSONAL_SERVICES_APP_FILE')
  const services = servicesText === null ? undefined : readArgoFile(servicesText, s.personalServicesFile, 'Application')
  const apps = await readApps(ctx, servicesText)
  const moved = apps.filter((a) => !a.inPlace)
  if (moved.length && servicesText === null) await requireRepoFile(ctx, s.personalServicesFile, 'PERSONAL_SERVICES_APP_FILE')
  const firstInPlace = apps.find((a) => a.inPlace)?.inPlace
  let projectFile = s.projectFile
  let projectText = await readRepoFile(ctx, projectFile)
  if (projectText === null && isDefault(s, 'projectFile') && firstInPlace) {
    const found = await findProjectFile(ctx, firstInPlace.application.project)
    if (found) (projectFile = found), (projectText = await readRepoFile(ctx, found))
  }
  if (projectText === null) projectText = await requireRepoFile(ctx, projectFile, 'APPPROJECT_FILE')
  const project = readArgoFile(projectText, projectFile, 'AppProject')
  const projectName = project.getIn(['metadata', 'name'])
  if (typeof projectName !== 'string' || !projectName) throw new SetupError(`${projectFile}: the AppProject has no metadata.name`, 'give the AppProject a name')
  const existingUrl = services?.getIn(['spec', 'source', 'repoURL']) ?? firstInPlace?.source.repoURL
  const repoUrl = s.repoUrl || (typeof existingUrl === 'string' && existingUrl) || (await remoteUrl(ctx.repoDir))
  if (!repoUrl) throw new SetupError('cannot tell which repo URL Argo CD uses for the GitOps repo', 'set GITOPS_REPO_URL in .env (the repoURL of your Applications)')
  const server = services?.getIn(['spec', 'destination', 'server'])
  const destinationName = services?.getIn(['spec', 'destination', 'name'])
  // an app moved out of a Directory Application deploying to another cluster: its ImageUpdater must not go with it
  const remote = moved.length > 0 && (typeof destinationName === 'string' ? destinationName !== 'in-cluster' : typeof server === 'string' && server !== ARGOCD_SERVER)
  const updaterHomeFound = firstInPlace || remote ? await updaterHome(ctx, await (await import('./repo-model/index.ts')).loadRepoModel(ctx), 'argocd-image-updater') : undefined
  // Applications go beside the owner's: the settings' folder, else (the default, absent) the folder of the Application the first app renders through
  const applicationsDir =
    isDefault(s, 'applicationsDir') && firstInPlace?.applicationFile && !(await folderExists(ctx, s.applicationsDir)) ? posix.dirname(firstInPlace.applicationFile) : s.applicationsDir
  const chartApplicationFile = `${applicationsDir}/argocd-image-updater.yaml`
  // where task 2 put the ExternalSecrets (secretFile): the vault-eso Application's folder, else the updater home
  const esoText = await readRepoFile(ctx, s.vaultEsoFile)
  const homeHoldsSecrets = esoText === null && isDefault(s, 'vaultEsoFile') && updaterHomeFound !== undefined
  const secretsApplication = homeHoldsSecrets ? { file: updaterHomeFound.viaChart ? chartApplicationFile : updaterHomeFound.syncedByFile ?? chartApplicationFile, withImageUpdaters: true } : { file: s.vaultEsoFile, withImageUpdaters: false }
  const facts: RepoFacts = {
    ...(updaterHomeFound ? { updaterHome: updaterHomeFound } : {}),
    remoteApps: remote,
    ...(moved.length ? { servicesFile: s.personalServicesFile } : {}),
    secretsApplication,
    secretStore: (await secretStore(ctx)).name,
    repoUrl,
    project: projectName,
    projectFile,
    destinationServer: typeof server === 'string' && server ? server : ARGOCD_SERVER,
    ...(typeof destinationName === 'string' && destinationName && !(typeof server === 'string' && server) ? { destinationName } : {}),
    shape,
    valuesFile: `${s.valuesDir}/argocd-image-updater.yaml`,
    chartApplicationFile,
    apps,
    image: apps[0]!.image,
    appPath: apps[0]!.appPath,
    appApplicationFile: apps[0]!.applicationFile,
  }
  resolved.set(s, facts)
  return facts
}

async function folderExists(ctx: Ctx, rel: string): Promise<boolean> {
  try {
    return (await stat(join(ctx.repoDir, rel))).isDirectory()
  } catch {
    return false
  }
}

// The facts once read, for the tasks' managedPaths (synchronous): the files found from the repo
// model (the AppProject, the chart Application's folder) are committed like the settings' own.
const resolved = new WeakMap<Settings, RepoFacts>()

/** The run's facts when they have been read (undefined before). */
export function knownFacts(ctx: Pick<Ctx, 'settings'>): RepoFacts | undefined {
  return resolved.get(ctx.settings)
}

export function repoFacts(ctx: Ctx): Promise<RepoFacts> {
  let facts = cache.get(ctx.settings)
  if (!facts) {
    facts = collect(ctx)
    cache.set(ctx.settings, facts)
  }
  return facts
}

/** The pull secret Image Updater reads registry credentials from (GHCR only: it holds the GitHub token). */
export function pullSecretRef(ctx: Ctx): string {
  return `pullsecret:${ctx.settings.argocdNamespace}/${PULL_SECRET}`
}

/** Everything the templates in manifests/ may refer to; `app` for the per-app templates (default: the first). */
export function templateVars(ctx: Ctx, f: RepoFacts, app: AppSpec = f.apps[0]!): TemplateVars {
  const s = ctx.settings
  return {
    appName: app.name,
    // the Application Image Updater updates: the app's own, or the Kustomize/Helm one it renders through
    applicationName: updatedApplication(app),
    writeBackTarget: app.inPlace?.writeBackTarget ?? '',
    imageUpdatersDir: f.updaterHome?.dir ?? '',
    appNamespace: app.namespace,
    argocdNamespace: s.argocdNamespace,
    vaultPath: s.vaultPath,
    secretStore: f.secretStore,
    imageName: app.imageName,
    registry: PULL_SECRET_REGISTRY,
    registries: registryEntries(f.apps.map((a) => a.image.registry), pullSecretRef(ctx)),
    updateStrategy: app.policy.strategy,
    allowTags: app.policy.tagRegex === undefined ? '' : `regexp:${app.policy.tagRegex}`,
    pullSecret: pullSecretRef(ctx),
    branch: s.branch,
    chartVersion: s.chartVersion,
    logLevel: s.logLevel,
    project: f.project,
    repoUrl: f.repoUrl,
    destinationServer: f.destinationServer,
    argocdServer: ARGOCD_SERVER,
    appPath: app.appPath,
    valuesFile: f.valuesFile,
  }
}

/** The per-app template flags: optional lines of image-updater.yaml. */
export function templateFlags(f: RepoFacts, app: AppSpec): Record<string, boolean> {
  return { specNamespace: f.shape.specNamespace, allowTags: app.policy.tagRegex !== undefined, pullSecret: app.image.registry === PULL_SECRET_REGISTRY, writeBackTarget: app.inPlace?.writeBackTarget !== undefined }
}
