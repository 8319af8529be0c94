// An Application's sources as Argo CD reads them: which repo, which folder, and which source type
// (an explicit helm/kustomize/directory/plugin field, else what the folder holds: Chart.yaml → Helm,
// a kustomization → Kustomize, anything else → Directory).
import { kustomizationFile } from './render.ts'
import type { ModelSource } from './types.ts'

/** A repo URL reduced to host/owner/name, so https, ssh and `.git` spellings of one repo compare equal. */
export function normalizeRepoUrl(url: string): string {
  let u = url.trim().toLowerCase()
  const scp = /^[\w.-]+@([^:/]+):(.*)$/.exec(u)
  if (scp) u = `${scp[1]}/${scp[2]}`
  else u = u.replace(/^[a-z+]+:\/\//, '').replace(/^[^@/]+@/, '')
  return u.replace(/:\d+\//, '/').replace(/\.git$/, '').replace(/\/+$/, '')
}

const EXPLICIT = ['helm', 'kustomize', 'directory', 'plugin'] as const
const TYPE_OF: Record<(typeof EXPLICIT)[number], ModelSource['type']> = { helm: 'Helm', kustomize: 'Kustomize', directory: 'Directory', plugin: 'Plugin' }

function nonEmpty(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0)
}

function cleanPath(path: string): string {
  return path.replace(/^\.?\/+/, '').replace(/^\.$/, '').replace(/\/+$/, '')
}

/** The app's sources (spec.source, or spec.sources of a multi-source app). */
export function readSources(spec: Record<string, any> | undefined, fileSet: Set<string>, isThisRepo: (url: unknown) => boolean): ModelSource[] {
  const list: Record<string, any>[] = Array.isArray(spec?.sources) ? spec!.sources : spec?.source ? [spec.source] : []
  return list.filter((s) => s && typeof s === 'object').map((s) => readSource(s, fileSet, isThisRepo))
}

function readSource(s: Record<string, any>, fileSet: Set<string>, isThisRepo: (url: unknown) => boolean): ModelSource {
  const repoURL = String(s.repoURL ?? '')
  const chart = typeof s.chart === 'string' && s.chart ? s.chart : undefined
  const path = typeof s.path === 'string' ? cleanPath(s.path) : undefined
  const thisRepo = !chart && isThisRepo(repoURL)
  const explicit = EXPLICIT.filter((k) => nonEmpty(s[k]))
  let type: ModelSource['type']
  let typeWhy: string
  if (chart) {
    type = 'Helm'
    typeWhy = `chart ${chart} from the Helm repository ${repoURL}`
  } else if (typeof s.ref === 'string' && path === undefined) {
    type = 'Directory'
    typeWhy = `ref ${s.ref}: files the other sources read as $${s.ref}, not rendered itself`
  } else if (explicit.length === 1) {
    type = TYPE_OF[explicit[0]!]
    typeWhy = `spec.source.${explicit[0]} is set`
  } else if (thisRepo && path !== undefined) {
    const prefix = path ? `${path}/` : ''
    const kust = kustomizationFile(fileSet, path)
    if (fileSet.has(`${prefix}Chart.yaml`)) (type = 'Helm'), (typeWhy = `${prefix}Chart.yaml is there`)
    else if (kust) (type = 'Kustomize'), (typeWhy = `${kust} is there`)
    else (type = 'Directory'), (typeWhy = `${path || '.'} holds no Chart.yaml nor kustomization`)
    if (explicit.length > 1) typeWhy += ` (Argo CD refuses several of ${explicit.join(', ')} in one source)`
  } else {
    type = 'Directory'
    typeWhy = 'another repo: not read here'
  }
  return {
    repoURL,
    ...(path !== undefined && !chart ? { path } : {}),
    ...(chart ? { chart } : {}),
    ...(typeof s.targetRevision === 'string' ? { targetRevision: s.targetRevision } : {}),
    ...(typeof s.ref === 'string' ? { ref: s.ref } : {}),
    type,
    typeWhy,
    thisRepo,
    ...(s.directory && typeof s.directory === 'object'
      ? { directory: { include: strOrUndef(s.directory.include), exclude: strOrUndef(s.directory.exclude), recurse: s.directory.recurse === true } }
      : {}),
    ...(s.kustomize && typeof s.kustomize === 'object' ? { kustomize: s.kustomize } : {}),
    ...(s.helm && typeof s.helm === 'object' ? { helm: s.helm } : {}),
    ...(s.plugin && typeof s.plugin === 'object' ? { plugin: s.plugin } : {}),
  }
}

function strOrUndef(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}
