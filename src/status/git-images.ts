// The image tag the GitOps repo sets for an app, read as Argo CD renders its source: Image
// Updater's `.argocd-source-<app>.yaml` (its write-back) over the kustomization's `images:` over
// the workload manifests in the source path. Read at the commit Argo CD last synced when the
// checkout has it (else the branch as last fetched), with one `git ls-tree` per commit and one
// `git cat-file --batch` for every file: nothing is fetched, no checkout file is read or changed.
import { spawn } from 'node:child_process'
import { parseAllDocuments } from 'yaml'
import { gitEnv, gitRun } from '../git.ts'
import type { KObj } from '../cluster/kube.ts'
import { readImageRef, sameImage } from '../render/image.ts'
import { isPaused } from '../lifecycle/paused-mark.ts'

export interface GitImageQuery {
  app: KObj
  images: string[]
}

/** The tag (or digest) set for each `app image`, with the file that sets it. */
export type GitImages = Map<string, { tag?: string; file: string }>

const KUSTOMIZATIONS = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
const MAX_FILES_PER_APP = 60

/** `git cat-file --batch`: the blobs of `specs` (`<ref>:<path>`), undefined where one is missing. */
async function catFiles(repoDir: string, specs: string[]): Promise<(string | undefined)[]> {
  if (!specs.length) return []
  const out: Buffer[] = []
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: repoDir, env: gitEnv(), stdio: ['pipe', 'pipe', 'ignore'] })
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.on('error', reject)
    child.on('close', () => resolve())
    child.stdin.end(specs.map((s) => `${s}\n`).join(''))
  })
  const buf = Buffer.concat(out)
  const results: (string | undefined)[] = []
  let pos = 0
  for (let i = 0; i < specs.length; i++) {
    const nl = buf.indexOf(10, pos)
    if (nl < 0) break
    const header = buf.subarray(pos, nl).toString()
    pos = nl + 1
    const m = /^\S+ blob (\d+)$/.exec(header)
    if (!m) {
      results.push(undefined)
      continue
    }
    const size = Number(m[1])
    results.push(buf.subarray(pos, pos + size).toString('utf8'))
    pos += size + 1
  }
  return results
}

const docsOf = (text: string | undefined): any[] => {
  if (!text) return []
  try {
    return parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d && typeof d === 'object')
  } catch {
    return []
  }
}

const tagOf = (ref: string) => {
  const r = readImageRef(ref)
  return r?.digest ?? r?.tag
}

/** The image entries of `.argocd-source-<app>.yaml` (`kustomize.images`: `name:tag`, `alias=name:tag`, `name=new:tag`). */
function fromSourceOverride(text: string | undefined, image: string): string | undefined {
  for (const doc of docsOf(text))
    for (const entry of (doc.kustomize?.images ?? []) as string[]) {
      const parts = String(entry).split('=')
      const ref = parts.at(-1)!
      const named = readImageRef(ref)
      if (named && (sameImage(named.name, image) || (parts.length > 1 && sameImage(parts[0], image)))) return tagOf(ref)
    }
  return undefined
}

function fromKustomization(text: string | undefined, image: string): string | undefined {
  for (const doc of docsOf(text))
    for (const e of (doc.images ?? []) as { name?: string; newName?: string; newTag?: string; digest?: string }[]) {
      if (!e?.name) continue
      if (sameImage(e.name, image) || (e.newName && sameImage(e.newName, image))) return e.digest ?? (e.newTag === undefined ? undefined : String(e.newTag))
    }
  return undefined
}

function fromWorkloads(text: string | undefined, image: string): string | undefined {
  for (const doc of docsOf(text)) {
    const spec = doc.spec?.template?.spec ?? doc.spec?.jobTemplate?.spec?.template?.spec
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) if (typeof c?.image === 'string' && sameImage(c.image, image)) return tagOf(c.image) ?? 'latest'
  }
  return undefined
}

/**
 * The commit to read an Application's source at: the one Argo CD last synced (status.sync.revision),
 * when the checkout has it; else what the checkout last fetched of the branch it tracks.
 */
async function refFor(repoDir: string, revision: string | undefined, synced: string | undefined): Promise<{ ref: string; notFetched?: string }> {
  const rev = revision && revision !== 'HEAD' ? revision : undefined
  for (const candidate of [...(synced && /^[0-9a-f]{40}$/.test(synced) ? [synced] : []), ...(rev ? [`origin/${rev}`, rev] : ['origin/HEAD'])])
    try {
      await gitRun(repoDir, ['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`])
      return { ref: candidate, ...(synced && candidate !== synced ? { notFetched: synced } : {}) }
    } catch {
      // next candidate
    }
  return { ref: 'HEAD', ...(synced ? { notFetched: synced } : {}) }
}

/** One Application's source in git: the branch read, and the files of its path with their text. */
export interface SourceFiles {
  ref: string
  path: string
  files: { file: string; text: string | undefined }[]
  /** the commit Argo CD synced, when the checkout does not have it (then `ref` is older) */
  notFetched?: string
}

/** The files of each Application's source path (those in this repo), keyed by Application name. */
export async function readSources(repoDir: string, apps: KObj[]): Promise<Map<string, SourceFiles>> {
  const out = new Map<string, SourceFiles>()
  const sources = apps
    .map((app) => {
      const all = app.spec?.source ? [app.spec.source] : (app.spec?.sources ?? [])
      const i = all.findIndex((s: any) => s?.path && !s.chart)
      // the commit Argo CD rendered this source at (multi-source apps list one per source)
      const synced = app.spec?.source ? app.status?.sync?.revision : app.status?.sync?.revisions?.[i]
      return { app, source: all[i], synced: typeof synced === 'string' ? synced : undefined }
    })
    .filter((x) => x.source)
  if (!sources.length) return out
  const refs = new Map<string, ReturnType<typeof refFor>>()
  const withRefs = await Promise.all(
    sources.map(async (x) => {
      const rev = String(x.source.targetRevision ?? '')
      const key = `${rev} ${x.synced ?? ''}`
      if (!refs.has(key)) refs.set(key, refFor(repoDir, rev, x.synced))
      return { ...x, ...(await refs.get(key)!), path: String(x.source.path).replace(/^\.?\/+|\/+$/g, '') }
    }),
  )
  // the files of each source path, one ls-tree per ref
  const byRef = new Map<string, string[]>()
  for (const x of withRefs) byRef.set(x.ref, [...(byRef.get(x.ref) ?? []), x.path || '.'])
  const trees = new Map<string, string[]>()
  await Promise.all(
    [...byRef].map(async ([ref, paths]) => {
      const { stdout } = await gitRun(repoDir, ['ls-tree', '-r', '--name-only', ref, '--', ...new Set(paths)]).catch(() => ({ stdout: '' }))
      trees.set(ref, stdout.split('\n').filter(Boolean))
    }),
  )
  const plan = withRefs.map((x) => ({ ...x, files: (trees.get(x.ref) ?? []).filter((f) => (x.path === '' || x.path === '.' || f.startsWith(`${x.path}/`)) && /(\.ya?ml|\/Kustomization)$/.test(f)).slice(0, MAX_FILES_PER_APP) }))
  const specs = [...new Set(plan.flatMap((p) => p.files.map((f) => `${p.ref}:${f}`)))]
  const blobs = await catFiles(repoDir, specs).catch(() => [] as (string | undefined)[])
  for (const p of plan) out.set(p.app.metadata.name, { ref: p.ref, path: p.path, ...(p.notFetched ? { notFetched: p.notFetched } : {}), files: p.files.map((file) => ({ file, text: blobs[specs.indexOf(`${p.ref}:${file}`)] })) })
  return out
}

/** The tag git sets for each queried app image, with the file that sets it. */
export function gitImages(sources: Map<string, SourceFiles>, queries: GitImageQuery[]): GitImages {
  const result: GitImages = new Map()
  for (const q of queries) {
    const src = sources.get(q.app.metadata.name)
    if (!src) continue
    const direct = (f: string) => f.slice(src.path && src.path !== '.' ? src.path.length + 1 : 0)
    const override = src.files.find((f) => direct(f.file) === `.argocd-source-${q.app.metadata.name}.yaml`)
    const kustomization = src.files.find((f) => KUSTOMIZATIONS.includes(direct(f.file)))
    const manifests = src.files.filter((f) => f !== override && f !== kustomization && !direct(f.file).startsWith('.argocd-source'))
    for (const image of q.images) {
      const key = `${q.app.metadata.name} ${image}`
      const fromOverride = fromSourceOverride(override?.text, image)
      if (fromOverride) {
        result.set(key, { tag: fromOverride, file: override!.file })
        continue
      }
      const fromKust = fromKustomization(kustomization?.text, image)
      if (fromKust) {
        result.set(key, { tag: fromKust, file: kustomization!.file })
        continue
      }
      for (const f of manifests) {
        const tag = fromWorkloads(f.text, image)
        if (tag) {
          result.set(key, { tag, file: f.file })
          break
        }
      }
    }
  }
  return result
}

/**
 * The ImageUpdaters as git holds them (by `namespace/name`; a document without a namespace takes
 * `defaultNs`), with their file; `paused`: the file carries `--pause`'s mark (out of what Argo CD syncs).
 */
export function gitImageUpdaters(sources: Map<string, SourceFiles>, defaultNs: string): Map<string, { obj: KObj; file: string; paused: boolean }> {
  const out = new Map<string, { obj: KObj; file: string; paused: boolean }>()
  for (const src of sources.values())
    for (const f of src.files)
      for (const doc of docsOf(f.text))
        if (doc.kind === 'ImageUpdater' && doc.metadata?.name) out.set(`${doc.metadata.namespace ?? defaultNs}/${doc.metadata.name}`, { obj: doc, file: f.file, paused: isPaused(f.text ?? null) })
  return out
}
