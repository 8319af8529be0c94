// Renders an Application source to manifests like Argo CD's repo server: Directory (include/exclude
// globs, recurse), Kustomize (`kubectl kustomize` on the tree at the revision, with the
// `.argocd-source-<app>.yaml` image overrides Argo CD applies), and the built-in Image Updater chart.
import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { promisify } from 'node:util'
import { parse, parseAllDocuments, stringify } from 'yaml'
import type { KObject } from '../store.ts'
import { directoryIncludes } from './glob.ts'
import type { GitRemote } from './git-source.ts'
import { ARGO_HELM_REPO, IMAGE_UPDATER_CHART, mergeValues, renderImageUpdaterChart, resolveChartVersion } from './helm-image-updater.ts'
import { normaliseRepoUrl } from './git-source.ts'
import { splitImage } from './update-options.ts'

const run = promisify(execFile)

export type SourceType = 'Directory' | 'Kustomize' | 'Helm'

export interface AppSource {
  repoURL: string
  targetRevision?: string
  path?: string
  chart?: string
  ref?: string
  directory?: { include?: string; exclude?: string; recurse?: boolean }
  kustomize?: { images?: string[]; namePrefix?: string }
  helm?: { releaseName?: string; valueFiles?: string[]; values?: string; valuesObject?: Record<string, unknown> }
}

export interface RenderContext {
  appName: string
  /** the Application's destination namespace (the Helm release namespace) */
  namespace: string
  /** the remote a repoURL names, or undefined when it is not this repository */
  remoteFor(repoURL: string): GitRemote | undefined
}

export interface Rendered { objects: KObject[]; revision: string; sourceType: SourceType }

export class RenderError extends Error {}

export function parseManifests(text: string, file: string): KObject[] {
  const out: KObject[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new RenderError(`failed to unmarshal ${file}: ${doc.errors[0].message}`)
    const value = doc.toJS()
    if (value === null || value === undefined) continue
    if (Array.isArray(value)) out.push(...value)
    else if (value.kind === 'List' && Array.isArray(value.items)) out.push(...value.items)
    else out.push(value)
  }
  for (const o of out) if (!o?.apiVersion || !o?.kind || !o?.metadata?.name) throw new RenderError(`${file}: Object 'Kind' is missing or invalid manifest`)
  return out
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

/** `ghcr.io/a/b:tag`, `name=new/name:tag` → a kustomization `images:` entry. */
export function kustomizeImageEntry(spec: string): { name: string; newName?: string; newTag?: string; digest?: string } {
  const eq = spec.indexOf('=')
  const name = eq >= 0 ? spec.slice(0, eq) : splitImage(spec).name
  const target = eq >= 0 ? spec.slice(eq + 1) : spec
  const at = target.indexOf('@')
  const digest = at >= 0 ? target.slice(at + 1) : undefined
  const { name: newName, tag } = splitImage(target)
  return { name, ...(newName !== name ? { newName } : {}), ...(tag ? { newTag: tag } : {}), ...(digest ? { digest } : {}) }
}

async function renderKustomize(remote: GitRemote, sha: string, source: AppSource, appName: string): Promise<KObject[]> {
  const appPath = (source.path ?? '.').replace(/^\.?\/+|\/+$/g, '') || '.'
  const dir = await remote.exportTree(sha)
  try {
    const abs = join(dir, appPath)
    // Argo CD merges `.argocd-source.yaml` and `.argocd-source-<app>.yaml` into the source before building.
    const images = [...(source.kustomize?.images ?? [])]
    for (const f of ['.argocd-source.yaml', `.argocd-source-${appName}.yaml`]) {
      const text = await readFile(join(abs, f), 'utf8').catch(() => undefined)
      if (text === undefined) continue
      const override = parse(text) ?? {}
      for (const img of override?.kustomize?.images ?? []) images.push(String(img))
    }
    if (images.length) {
      const kfile = KUSTOMIZATION_FILES.map((f) => join(abs, f))
      for (const f of kfile) {
        const text = await readFile(f, 'utf8').catch(() => undefined)
        if (text === undefined) continue
        const k = parse(text) ?? {}
        const entries: any[] = Array.isArray(k.images) ? k.images : []
        for (const spec of images) {
          const entry = kustomizeImageEntry(spec)
          const i = entries.findIndex((e) => e?.name === entry.name)
          if (i >= 0) entries[i] = entry
          else entries.push(entry)
        }
        k.images = entries
        await writeFile(f, stringify(k))
        break
      }
    }
    try {
      const { stdout } = await run('kubectl', ['kustomize', abs], { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })
      return parseManifests(stdout, appPath)
    } catch (e) {
      const err = e as { stderr?: string; message: string }
      throw new RenderError(`\`kustomize build ${appPath}\` failed exit status 1: ${(err.stderr ?? err.message).trim()}`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function renderDirectory(remote: GitRemote, sha: string, source: AppSource): Promise<KObject[]> {
  const appPath = (source.path ?? '.').replace(/^\.?\/+|\/+$/g, '')
  const files = await remote.listFiles(sha, appPath)
  const out: KObject[] = []
  for (const file of files) {
    const rel = appPath ? posix.relative(appPath, file) : file
    if (!directoryIncludes(rel, source.directory ?? {})) continue
    out.push(...parseManifests(await remote.show(sha, file), file))
  }
  return out
}

/** Which kind of source this is, the way Argo CD detects it. */
export async function detectSourceType(remote: GitRemote, sha: string, source: AppSource): Promise<SourceType> {
  if (source.kustomize) return 'Kustomize'
  if (source.helm && !source.directory) return 'Helm'
  const appPath = (source.path ?? '.').replace(/^\.?\/+|\/+$/g, '')
  for (const f of KUSTOMIZATION_FILES) if (await remote.pathExists(sha, appPath ? `${appPath}/${f}` : f)) return 'Kustomize'
  if (await remote.pathExists(sha, appPath ? `${appPath}/Chart.yaml` : 'Chart.yaml')) return 'Helm'
  return 'Directory'
}

/** Renders one source. `refs` are the `ref:` sources of the app (for `$values/...`), already resolved. */
export async function renderSource(source: AppSource, ctx: RenderContext, refs: Map<string, { remote: GitRemote; sha: string }>): Promise<Rendered> {
  if (source.chart) {
    if (normaliseRepoUrl(source.repoURL) !== normaliseRepoUrl(ARGO_HELM_REPO) || source.chart !== IMAGE_UPDATER_CHART)
      throw new RenderError(`failed to fetch chart ${source.chart} from ${source.repoURL}: the sandbox only serves ${ARGO_HELM_REPO} chart ${IMAGE_UPDATER_CHART}`)
    const chartVersion = resolveChartVersion(source.targetRevision)
    if (!chartVersion) throw new RenderError(`chart ${source.chart} version ${source.targetRevision} not found in ${source.repoURL} (the sandbox renders chart 1.x)`)
    let values: Record<string, any> = {}
    for (const vf of source.helm?.valueFiles ?? []) {
      const m = /^\$([^/]+)\/(.*)$/.exec(vf)
      if (!m) throw new RenderError(`values file ${vf} is not resolvable without a git source (use $<ref>/path)`)
      const ref = refs.get(m[1])
      if (!ref) throw new RenderError(`source referenced "$${m[1]}", but no source has a 'ref' field of "${m[1]}"`)
      const text = await ref.remote.showIfExists(ref.sha, m[2])
      if (text === undefined) throw new RenderError(`open <path to cached source>/${m[2]}: no such file or directory`)
      values = mergeValues(values, parse(text) ?? {})
    }
    if (source.helm?.values) values = mergeValues(values, parse(source.helm.values) ?? {})
    if (source.helm?.valuesObject) values = mergeValues(values, source.helm.valuesObject)
    const objects = renderImageUpdaterChart({ chartVersion, release: source.helm?.releaseName ?? ctx.appName, namespace: ctx.namespace, values })
    return { objects, revision: chartVersion, sourceType: 'Helm' }
  }
  const remote = ctx.remoteFor(source.repoURL)
  if (!remote) throw new RenderError(`rpc error: code = Unknown desc = failed to list refs: repository not found: ${source.repoURL} is not reachable from the sandbox`)
  const sha = await remote.resolve(source.targetRevision)
  if (!sha) throw new RenderError(`rpc error: code = Unknown desc = unable to resolve '${source.targetRevision ?? 'HEAD'}' to a commit SHA`)
  if (source.path !== undefined && !(await remote.pathExists(sha, source.path))) throw new RenderError(`${source.path}: app path does not exist`)
  const sourceType = await detectSourceType(remote, sha, source)
  if (sourceType === 'Helm') throw new RenderError('the sandbox does not render Helm charts from git')
  const objects = sourceType === 'Kustomize' ? await renderKustomize(remote, sha, source, ctx.appName) : await renderDirectory(remote, sha, source)
  return { objects, revision: sha, sourceType }
}
