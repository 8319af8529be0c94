// What an Application renders from this repo, as Argo CD would: a Directory source's selected files,
// a Kustomize source through `kubectl kustomize` (its `resources:` tree walked to say which file and
// document each object comes from). Helm folders and plugins are named, not rendered (no helm here).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { statSync } from 'node:fs'
import { delimiter } from 'node:path'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Ctx } from '../context.ts'
import { readRepoFile } from '../files.ts'
import { selects } from '../include.ts'
import { filesUnder, joinRel, parseFile, readParsed, type FileDoc } from './scan.ts'
import type { AppRender, DuplicateIdentity, KustomizationInfo, KustomizeImage, ModelSource, RenderedObject } from './types.ts'

type FileCtx = Pick<Ctx, 'repoDir' | 'overlay'>

/** Kinds without a namespace that homelab repos hold (a rendered object does not say; the API server knows). */
export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'IngressClass', 'RuntimeClass', 'PriorityClass',
  'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ClusterSecretStore', 'ClusterExternalSecret', 'ClusterIssuer', 'GatewayClass',
  'ClusterPolicy', 'ClusterServiceVersion',
])

/** The file names Kustomize reads as a folder's kustomization, in its order. */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

export function kustomizationFile(files: Set<string>, dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const rel = dir ? `${dir}/${name}` : name
    if (files.has(rel)) return rel
  }
  return undefined
}

/** kind/namespace/name: what Kubernetes and Argo CD treat as one object. */
export function identityOf(o: { kind: string; namespace?: string; name: string; apiVersion?: string }): string {
  const group = (o.apiVersion ?? '').includes('/') ? o.apiVersion!.split('/')[0] : ''
  return `${group ? `${group}/` : ''}${o.kind}/${o.namespace ?? ''}/${o.name}`
}

/** Objects of a document: itself, or the items of a `List`. */
function objectsOfDoc(d: FileDoc): Record<string, any>[] {
  if (typeof d.json.kind === 'string' && /List$/.test(d.json.kind) && Array.isArray(d.json.items)) return d.json.items.filter((i: unknown) => i && typeof i === 'object')
  return [d.json]
}

function toObject(json: Record<string, any>, defaultNamespace: string | undefined, at: { file: string; line: number; doc: number; source: number }): RenderedObject | undefined {
  if (typeof json.kind !== 'string' || !json.kind) return undefined
  const kind = json.kind
  const name = String(json.metadata?.name ?? json.metadata?.generateName ?? '')
  const namespaced = !CLUSTER_SCOPED_KINDS.has(kind)
  const namespace = namespaced ? (typeof json.metadata?.namespace === 'string' && json.metadata.namespace) || defaultNamespace : undefined
  return { apiVersion: String(json.apiVersion ?? ''), kind, name, ...(namespace ? { namespace } : {}), ...at, json }
}

export function duplicatesOf(objects: RenderedObject[]): DuplicateIdentity[] {
  const byId = new Map<string, RenderedObject[]>()
  for (const o of objects) {
    const id = identityOf(o)
    byId.set(id, [...(byId.get(id) ?? []), o])
  }
  return [...byId].filter(([, list]) => list.length > 1).map(([identity, objects]) => ({ identity, objects }))
}

/** A Directory source: the files Argo CD selects (include/exclude, recurse), every document of them. */
async function renderDirectory(ctx: FileCtx, files: string[], src: ModelSource, index: number, namespace: string | undefined, out: AppRender): Promise<void> {
  const path = (src.path ?? '').replace(/^\.?\/*/, '').replace(/\/+$/, '')
  out.folders.push(path)
  const sel = { include: src.directory?.include, exclude: src.directory?.exclude, recurse: src.directory?.recurse ?? false, line: 0 }
  for (const rel of filesUnder(files, path, sel.recurse)) {
    if (!/\.(ya?ml|json)$/i.test(rel) || !selects(sel, rel)) continue
    const file = path ? `${path}/${rel}` : rel
    out.inputs.push(file)
    const parsed = await readParsed(ctx, file)
    if (!parsed) continue
    if (parsed.error) {
      out.status = 'failed'
      out.error ??= { file, message: parsed.error }
    }
    for (const d of parsed.docs)
      for (const json of objectsOfDoc(d)) {
        const o = toObject(json, namespace, { file, line: d.line, doc: d.index, source: index })
        if (o) out.objects.push(o)
      }
  }
}

/** One file's documents as the kustomize walk found them, with the namespace and name changes on the way. */
interface WalkedDoc {
  kind: string
  name: string
  namespace?: string
  file: string
  line: number
  doc: number
}

interface Walk {
  kustomizations: KustomizationInfo[]
  docs: WalkedDoc[]
  /** folders and files the build reads */
  dirs: Set<string>
  files: Set<string>
  notes: string[]
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/**
 * Walks a kustomization's `resources:` (and the old `bases:`, and `components:`) down through nested
 * folders, so each object the build makes can be traced to its file. The outermost `namespace:` wins
 * and name prefixes/suffixes add up, as in kustomize's transformers.
 */
async function walkKustomization(ctx: FileCtx, files: Set<string>, dir: string, outer: { namespace?: string; prefix: string; suffix: string }, walk: Walk, depth = 0): Promise<void> {
  if (walk.dirs.has(dir) || depth > 20) return
  walk.dirs.add(dir)
  const file = kustomizationFile(files, dir)
  if (!file) return
  walk.files.add(file)
  const parsed = await readParsed(ctx, file)
  const json = parsed?.docs[0]?.json ?? {}
  const images: KustomizeImage[] = Array.isArray(json.images)
    ? json.images
        .map((img: any, i: number): KustomizeImage | undefined =>
          img && typeof img.name === 'string'
            ? {
                file,
                line: parsed?.lineAt(0, ['images', i]) ?? 1,
                name: img.name,
                ...(typeof img.newName === 'string' ? { newName: img.newName } : {}),
                ...(img.newTag !== undefined ? { newTag: String(img.newTag) } : {}),
                ...(typeof img.digest === 'string' ? { digest: img.digest } : {}),
              }
            : undefined,
        )
        .filter((i: KustomizeImage | undefined): i is KustomizeImage => i !== undefined)
    : []
  const resources = [...stringList(json.resources), ...stringList(json.bases), ...stringList(json.components)]
  const namespace = outer.namespace ?? (typeof json.namespace === 'string' && json.namespace ? json.namespace : undefined)
  const prefix = outer.prefix + (typeof json.namePrefix === 'string' ? json.namePrefix : '')
  const suffix = (typeof json.nameSuffix === 'string' ? json.nameSuffix : '') + outer.suffix
  walk.kustomizations.push({ file, dir, ...(typeof json.namespace === 'string' ? { namespace: json.namespace } : {}), resources: stringList(json.resources), images })
  for (const r of resources) {
    if (/^[a-z]+:\/\/|^git@|^github\.com\//.test(r)) {
      walk.notes.push(`${file}: remote resource ${r} is not read`)
      continue
    }
    const target = joinRel(dir, r)
    if (target === undefined) continue
    if (files.has(target)) {
      walk.files.add(target)
      const p = await readParsed(ctx, target)
      for (const d of p?.docs ?? [])
        for (const obj of objectsOfDoc(d))
          if (typeof obj.kind === 'string')
            walk.docs.push({ kind: obj.kind, name: `${prefix}${String(obj.metadata?.name ?? '')}${suffix}`, namespace: namespace ?? obj.metadata?.namespace, file: target, line: d.line, doc: d.index })
    } else await walkKustomization(ctx, files, target, { namespace, prefix, suffix }, walk, depth + 1)
  }
}

/** Runs at most two builds at once: the machine's cores are shared. */
let running = 0
const queue: (() => void)[] = []
async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((r) => queue.push(r))
  running++
  try {
    return await work()
  } finally {
    running--
    queue.shift()?.()
  }
}

/** How many `kubectl kustomize` processes ran (the model's cost), and builds kept by their inputs. */
export const kustomizeStats = { builds: 0 }
const builds = new Map<string, Promise<Built>>()
const KEEP_BUILDS = 128

/** Forgets the builds kept in memory (what a new process starts with; for tests of the ones on disk). */
export function forgetKeptBuilds(): void {
  builds.clear()
  onDisk.clear()
}

function kubectlKustomize(dir: string): Promise<{ ok: true; yaml: string } | { ok: false; message: string }> {
  kustomizeStats.builds++
  return limited(
    () =>
      new Promise((resolve) => {
        execFile('kubectl', ['kustomize', dir], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) {
            const code = (err as NodeJS.ErrnoException).code
            const message = code === 'ENOENT' ? 'kubectl is not installed (it builds Kustomize folders: install kubectl)' : (stderr || err.message).trim().replace(/^Error: /, '')
            resolve({ ok: false, message })
          } else resolve({ ok: true, yaml: stdout })
        })
      }),
  )
}

/**
 * `kubectl kustomize` of `dir` as the repo would be: in place when the run's overlay changes none of
 * its inputs, else on a temp copy of them with the overlay applied. Builds are kept by the content of
 * their inputs, so a model loaded again after an unrelated change builds nothing again.
 */
type Built = { ok: true; yaml: string } | { ok: false; message: string }

/** The kubectl on PATH, by path, size and mtime: a build kept on disk is only as good as the kubectl that made it. */
let kubectlStampValue: string | undefined
function kubectlStamp(): string {
  if (kubectlStampValue === undefined) {
    kubectlStampValue = 'none'
    for (const d of (process.env.PATH ?? '').split(delimiter)) {
      try {
        const st = statSync(join(d, 'kubectl'))
        kubectlStampValue = `${join(d, 'kubectl')}:${st.size}:${st.mtimeMs}`
        break
      } catch {}
    }
  }
  return kubectlStampValue
}

const KEEP_ON_DISK = 256

/** Where successful builds are kept between runs, and whether this run may add to it (not in --dry-run). */
export interface BuildCache {
  dir: string
  write: boolean
}

/**
 * Builds that succeeded, kept on disk by their inputs' content (STATE_DIR/kustomize-builds), so a
 * later run over the same files starts no kubectl at all. Failures are never kept: the run says why.
 */
async function fromDisk(cache: BuildCache | undefined, key: string, make: () => Promise<Built>): Promise<Built> {
  if (!cache) return make()
  const kept = await readFile(join(cache.dir, `${key}.yaml`), 'utf8').catch(() => undefined)
  if (kept !== undefined) {
    onDisk.add(`${cache.dir}\0${key}`)
    return { ok: true, yaml: kept }
  }
  return make()
}

/** Builds this process knows are on disk (read from there, or written). */
const onDisk = new Set<string>()

/** Keeps a successful build for later runs (a dry run changes nothing, its STATE_DIR included). */
async function keepOnDisk(cache: BuildCache | undefined, key: string, built: Built): Promise<void> {
  if (!cache?.write || !built.ok || onDisk.has(`${cache.dir}\0${key}`)) return
  onDisk.add(`${cache.dir}\0${key}`)
  try {
    const file = join(cache.dir, `${key}.yaml`)
    await mkdir(cache.dir, { recursive: true, mode: 0o700 })
    const tmp = `${file}.tmp-${process.pid}`
    await writeFile(tmp, built.yaml, { mode: 0o600 })
    await rename(tmp, file)
    const names = (await readdir(cache.dir)).filter((n) => n.endsWith('.yaml'))
    if (names.length > KEEP_ON_DISK) {
      const aged = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(cache.dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })))
      for (const { n } of aged.sort((a, b) => a.t - b.t).slice(0, names.length - KEEP_ON_DISK)) await rm(join(cache.dir, n), { force: true })
    }
  } catch {
    // a cache that cannot be written only costs the next run a build
  }
}

async function build(ctx: FileCtx, allFiles: string[], dir: string, walk: Walk, cacheDir?: BuildCache): Promise<Built> {
  const inputs = new Set<string>(walk.files)
  for (const d of walk.dirs) for (const rel of filesUnder(allFiles, d, true)) inputs.add(d ? `${d}/${rel}` : rel)
  const sorted = [...inputs].sort()
  const contents = new Map<string, string>()
  const hash = createHash('sha1').update(dir)
  for (const rel of sorted) {
    const text = (await readRepoFile(ctx, rel)) ?? ''
    contents.set(rel, text)
    hash.update(`\0${rel}\0${text}`)
  }
  hash.update(`\0kubectl ${kubectlStamp()}`)
  const key = hash.digest('hex')
  let kept = builds.get(key)
  if (!kept) {
    const overlaid = sorted.some((rel) => ctx.overlay?.has(rel)) || [...(ctx.overlay?.keys() ?? [])].some((rel) => [...walk.dirs].some((d) => rel.startsWith(`${d}/`)))
    kept = fromDisk(cacheDir, key, () => (overlaid ? buildCopy(contents, dir) : kubectlKustomize(join(ctx.repoDir, dir))))
    builds.set(key, kept)
    if (builds.size > KEEP_BUILDS) builds.delete(builds.keys().next().value!)
  }
  const built = await kept
  await keepOnDisk(cacheDir, key, built)
  return built
}

async function buildCopy(contents: Map<string, string>, dir: string): Promise<{ ok: true; yaml: string } | { ok: false; message: string }> {
  const root = await mkdtemp(join(tmpdir(), 'repo-model-'))
  try {
    for (const [rel, text] of contents) {
      await mkdir(dirname(join(root, rel)), { recursive: true })
      await writeFile(join(root, rel), text)
    }
    const result = await kubectlKustomize(join(root, dir))
    // the temp folder's name means nothing to the person reading the message
    return result.ok ? result : { ok: false, message: result.message.split(`${root}/`).join('').split(root).join('.') }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

async function renderKustomize(ctx: FileCtx, files: string[], fileSet: Set<string>, src: ModelSource, index: number, namespace: string | undefined, out: AppRender, cacheDir?: BuildCache): Promise<void> {
  const dir = (src.path ?? '').replace(/^\.?\/*/, '').replace(/\/+$/, '')
  const walk: Walk = { kustomizations: [], docs: [], dirs: new Set(), files: new Set(), notes: [] }
  await walkKustomization(ctx, fileSet, dir, { prefix: '', suffix: '' }, walk)
  out.kustomizations.push(...walk.kustomizations)
  out.notes.push(...walk.notes)
  out.folders.push(...walk.dirs)
  for (const d of walk.dirs) for (const rel of filesUnder(files, d, true)) out.inputs.push(d ? `${d}/${rel}` : rel)
  out.inputs.push(...walk.files)
  const root = kustomizationFile(fileSet, dir) ?? `${dir}/kustomization.yaml`
  const result = await build(ctx, files, dir, walk, cacheDir)
  if (!result.ok) {
    out.status = 'failed'
    out.error ??= { file: root, message: result.message }
    return
  }
  // kustomize's output: one document per object, in its order
  const byName = new Map<string, WalkedDoc[]>()
  for (const d of walk.docs) byName.set(`${d.kind}/${d.name}`, [...(byName.get(`${d.kind}/${d.name}`) ?? []), d])
  for (const { json } of parseFile(result.yaml, `kubectl kustomize ${dir}`).docs) {
    const candidates = byName.get(`${json.kind}/${json.metadata?.name}`) ?? []
    const from = candidates.find((c) => c.namespace === json.metadata?.namespace) ?? candidates[0]
    const o = toObject(json, namespace, from ? { file: from.file, line: from.line, doc: from.doc, source: index } : { file: root, line: 1, doc: 0, source: index })
    if (o) out.objects.push(o)
  }
}

/** What the app's sources render from this repo. */
/** `cacheDir`: where successful Kustomize builds are kept between runs (none: only in memory). */
export async function renderApp(ctx: FileCtx, files: string[], fileSet: Set<string>, sources: ModelSource[], namespace: string | undefined, cacheDir?: BuildCache): Promise<AppRender> {
  const out: AppRender = { status: 'rendered', notes: [], objects: [], kustomizations: [], duplicates: [], inputs: [], folders: [] }
  const own = sources.filter((s) => s.thisRepo && s.path !== undefined && !s.chart)
  if (own.length === 0) {
    out.status = 'elsewhere'
    for (const s of sources) if (s.chart) out.notes.push(`chart ${s.chart} ${s.targetRevision ?? ''} from the Helm repository ${s.repoURL}: rendered by Argo CD from there, not read here`.replace('  ', ' '))
    if (out.notes.length) out.status = 'opaque'
    return out
  }
  let opaque = false
  for (const [index, src] of sources.entries()) {
    if (!src.thisRepo || src.path === undefined || src.chart) {
      if (src.chart) {
        opaque = true
        out.notes.push(`chart ${src.chart} from the Helm repository ${src.repoURL}: rendered by Argo CD from there, not read here`)
      }
      continue
    }
    if (src.ref && !src.path) continue
    if (src.type === 'Directory') await renderDirectory(ctx, files, src, index, namespace, out)
    else if (src.type === 'Kustomize') await renderKustomize(ctx, files, fileSet, src, index, namespace, out, cacheDir)
    else if (src.type === 'Helm') {
      opaque = true
      out.notes.push(`${src.path}: a Helm chart folder of this repo; named, not rendered (helm is not installed here)`)
      out.folders.push(src.path)
      for (const rel of filesUnder(files, src.path, true)) out.inputs.push(`${src.path}/${rel}`)
    } else {
      opaque = true
      out.notes.push(`${src.path}: rendered by a config management plugin; not rendered here`)
    }
  }
  out.inputs = [...new Set(out.inputs)].sort()
  out.folders = [...new Set(out.folders)].sort()
  out.duplicates = duplicatesOf(out.objects)
  if (out.status !== 'failed' && opaque) out.status = 'opaque'
  return out
}

export { parseFile }
