// Facts about the user's GitOps repo that the new files must agree with: the repo URL Argo CD
// already uses, the AppProject name, the destination server. Read once per run.
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { readRepoFile } from './files.ts'
import { remoteUrl } from './git.ts'
import { chartShape, type ChartShape } from './render/chart.ts'
import { parseImage, verifyStrategy, verifyTagRegex, type ImageRef } from './render/image.ts'
import type { TemplateVars } from './render/template.ts'
import { getAt, singleDocument } from './yaml-edit.ts'

export interface RepoFacts {
  repoUrl: string
  project: string
  destinationServer: string
  image: ImageRef
  shape: ChartShape
  /** repo-relative folder of the app's Kustomize source */
  appPath: string
  valuesFile: string
  appApplicationFile: string
  chartApplicationFile: string
}

// Keyed by the settings object, which the runner's check-mode copy of the context shares, so the
// facts are read once per run. No task changes what they are read from (the project's name, the
// repoURL and destination of personal-services).
const cache = new WeakMap<Ctx['settings'], Promise<RepoFacts>>()

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

async function collect(ctx: Ctx): Promise<RepoFacts> {
  const s = ctx.settings
  const image = parseImage(s.image)
  verifyTagRegex(s.tagRegex)
  verifyStrategy(s.updateStrategy)
  const shape = chartShape(s.chartVersion)
  const project = readArgoFile(await requireRepoFile(ctx, s.projectFile, 'APPPROJECT_FILE'), s.projectFile, 'AppProject')
  const services = readArgoFile(await requireRepoFile(ctx, s.personalServicesFile, 'PERSONAL_SERVICES_APP_FILE'), s.personalServicesFile, 'Application')
  const projectName = project.getIn(['metadata', 'name'])
  if (typeof projectName !== 'string' || !projectName) throw new SetupError(`${s.projectFile}: the AppProject has no metadata.name`, 'give the AppProject a name')
  const existingUrl = services.getIn(['spec', 'source', 'repoURL'])
  const repoUrl = s.repoUrl || (typeof existingUrl === 'string' && existingUrl) || (await remoteUrl(ctx.repoDir))
  if (!repoUrl) throw new SetupError('cannot tell which repo URL Argo CD uses for the GitOps repo', 'set GITOPS_REPO_URL in .env (the repoURL of your Applications)')
  const server = services.getIn(['spec', 'destination', 'server'])
  return {
    repoUrl,
    project: projectName,
    destinationServer: typeof server === 'string' && server ? server : 'https://kubernetes.default.svc',
    image,
    shape,
    appPath: `${s.manifestsDir}/${s.appName}`,
    valuesFile: `${s.valuesDir}/argocd-image-updater.yaml`,
    appApplicationFile: `${s.applicationsDir}/${s.appName}.yaml`,
    chartApplicationFile: `${s.applicationsDir}/argocd-image-updater.yaml`,
  }
}

export function repoFacts(ctx: Ctx): Promise<RepoFacts> {
  let facts = cache.get(ctx.settings)
  if (!facts) {
    facts = collect(ctx)
    cache.set(ctx.settings, facts)
  }
  return facts
}

/** Everything the templates in manifests/ may refer to. */
export function templateVars(ctx: Ctx, f: RepoFacts): TemplateVars {
  const s = ctx.settings
  return {
    appName: s.appName,
    appNamespace: s.appNamespace,
    argocdNamespace: s.argocdNamespace,
    vaultPath: s.vaultPath,
    secretStore: s.secretStore,
    image: s.image,
    registry: f.image.registry,
    registryName: f.image.registry === 'ghcr.io' ? 'GitHub Container Registry' : f.image.registry,
    updateStrategy: s.updateStrategy,
    allowTags: `regexp:${s.tagRegex}`,
    branch: s.branch,
    chartVersion: s.chartVersion,
    logLevel: s.logLevel,
    project: f.project,
    repoUrl: f.repoUrl,
    destinationServer: f.destinationServer,
    appPath: f.appPath,
    valuesFile: f.valuesFile,
  }
}
