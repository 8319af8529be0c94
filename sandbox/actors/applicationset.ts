// The ApplicationSet controller the sandbox plays: the git generator (directories and files), the
// list generator and the clusters generator, each parameter set rendered into the template as
// upstream does (fasttemplate `{{path.basename}}` by default, Go's text/template with
// `goTemplate: true`), and the Applications made, updated and deleted (policy `sync`; `create-only`
// and `create-update` as upstream) with an ownerReference to the set.
// Not modelled: the matrix, merge, SCM, pull-request and plugin generators, `templatePatch`,
// progressive syncs; a set using them gets ErrorOccurred with the generator named.
import type { KObject, Store } from '../store.ts'
import type { GitRemote } from './git-source.ts'
import { renderGoTemplate } from './go-template.ts'
import { parseAllDocuments } from 'yaml'
import { CLUSTER_SECRET_LABEL } from './clusters.ts'

const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }
export const APPSET = { apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet' }
const MANAGER = 'argocd-applicationset-controller'
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

type Params = Record<string, unknown>

/** Git's globs as the generator matches them: `*` stays within a path segment, `**` crosses them. */
function pathGlob(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*' && glob[i + 1] === '*') {
      out += '.*'
      i++
      if (glob[i + 1] === '/') i++, (out += '(?:/)?')
    } else if (ch === '*') out += '[^/]*'
    else if (ch === '?') out += '[^/]'
    else out += /[\\^$.+()|{}[\]]/.test(ch) ? `\\${ch}` : ch
  }
  return new RegExp(`^${out}$`)
}

/** upstream's basenameNormalized: anything but letters, digits, `-` and `.` becomes `-` (a DNS-1123 name). */
const normalized = (s: string) => s.replace(/[^a-zA-Z0-9-.]/g, '-').toLowerCase()

/** The `path` parameters of a directory or file, in both template flavours. */
function pathParams(path: string, isFile: boolean, goTemplate: boolean): Params {
  const segments = path.split('/')
  const dir = isFile ? segments.slice(0, -1) : segments
  const base = dir.at(-1) ?? ''
  const file = isFile ? segments.at(-1)! : undefined
  if (goTemplate)
    return { path: { path: isFile ? dir.join('/') : path, basename: base, basenameNormalized: normalized(base), segments: dir, ...(file ? { filename: file, filenameNormalized: normalized(file) } : {}) } }
  const flat: Params = { path: isFile ? dir.join('/') : path, 'path.basename': base, 'path.basenameNormalized': normalized(base) }
  dir.forEach((s, i) => (flat[`path[${i}]`] = s))
  if (file) Object.assign(flat, { 'path.filename': file, 'path.filenameNormalized': normalized(file) })
  return flat
}

/** A file's keys for fasttemplate: nested objects flattened with dots (`cluster.address`). */
function flatten(obj: unknown, prefix = '', out: Params = {}): Params {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : obj
  return out
}

class GeneratorError extends Error {}

export interface AppSetEnv {
  store: Store
  remoteFor(repoURL: string): GitRemote | undefined
  log: (line: string) => void
}

/** The parameter sets one generator yields. */
async function generate(gen: any, set: KObject, env: AppSetEnv): Promise<Params[]> {
  const goTemplate = set.spec?.goTemplate === true
  const withValues = (params: Params[], values: Record<string, string> | undefined) =>
    values ? params.map((p) => (goTemplate ? { ...p, values } : { ...p, ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`values.${k}`, v])) })) : params
  if (gen.list) return withValues((gen.list.elements ?? []).map((e: Params) => (goTemplate ? e : flatten(e))), undefined)
  if (gen.clusters) {
    const selector: Record<string, string> = gen.clusters.selector?.matchLabels ?? {}
    const secrets = env.store.list('v1', 'Secret', set.metadata.namespace, (s) => s.metadata.labels?.[CLUSTER_SECRET_LABEL] === 'cluster')
    const out: Params[] = []
    for (const s of secrets) {
      if (!Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v)) continue
      const field = (k: string) => Buffer.from(String(s.data?.[k] ?? ''), 'base64').toString('utf8')
      const name = field('name')
      const meta = { labels: s.metadata.labels ?? {}, annotations: s.metadata.annotations ?? {} }
      out.push(goTemplate ? { name, nameNormalized: normalized(name), server: field('server'), metadata: meta } : { name, nameNormalized: normalized(name), server: field('server'), ...flatten(meta, 'metadata') })
    }
    return withValues(out, gen.clusters.values)
  }
  if (gen.git) {
    const remote = env.remoteFor(String(gen.git.repoURL ?? ''))
    if (!remote) throw new GeneratorError(`error generating params from git: repository not found: ${gen.git.repoURL}`)
    const sha = await remote.resolve(gen.git.revision ?? 'HEAD')
    if (!sha) throw new GeneratorError(`error generating params from git: unable to resolve '${gen.git.revision ?? 'HEAD'}' to a commit SHA`)
    const files = await remote.listFiles(sha, '.')
    const prefix = gen.git.pathParamPrefix ? `${gen.git.pathParamPrefix}` : ''
    const withPrefix = (p: Params) => (prefix ? (goTemplate ? { [prefix]: p } : Object.fromEntries(Object.entries(p).map(([k, v]) => [`${prefix}.${k}`, v]))) : p)
    if (gen.git.directories) {
      const dirs = new Set<string>()
      for (const f of files) {
        const parts = f.split('/')
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
      }
      const include = (gen.git.directories as any[]).filter((d) => !d.exclude).map((d) => pathGlob(String(d.path)))
      const exclude = (gen.git.directories as any[]).filter((d) => d.exclude).map((d) => pathGlob(String(d.path)))
      const matched = [...dirs].filter((d) => include.some((r) => r.test(d)) && !exclude.some((r) => r.test(d))).sort()
      return withValues(matched.map((d) => withPrefix(pathParams(d, false, goTemplate))), gen.git.values)
    }
    if (gen.git.files) {
      const out: Params[] = []
      for (const pattern of gen.git.files as any[]) {
        const re = pathGlob(String(pattern.path))
        for (const f of files.filter((x) => re.test(x)).sort()) {
          const text = await remote.show(sha, f)
          let docs: unknown[]
          try {
            docs = /\.json$/.test(f)
              ? [JSON.parse(text)]
              : parseAllDocuments(text).map((d) => {
                  if (d.errors.length) throw new Error(d.errors[0]!.message)
                  return d.toJS()
                }).filter((d) => d !== null && d !== undefined)
          } catch (e) {
            throw new GeneratorError(`error generating params from git: unable to process file '${f}': ${(e as Error).message}`)
          }
          // a file holding a list yields one parameter set per element
          for (const doc of docs.flatMap((d) => (Array.isArray(d) ? d : [d]))) {
            const path = withPrefix(pathParams(f, true, goTemplate))
            out.push(goTemplate ? { ...(doc as Params), ...path } : { ...flatten(doc), ...path })
          }
        }
      }
      return withValues(out, gen.git.values)
    }
    throw new GeneratorError('the git generator needs directories or files')
  }
  const kind = Object.keys(gen).find((k) => k !== 'selector') ?? 'unknown'
  throw new GeneratorError(`the ${kind} generator is not modelled by the sandbox`)
}

/** fasttemplate as upstream uses it: `{{ name }}` replaced where the parameter exists, left as it is otherwise. */
function fastTemplate(text: string, params: Params): string {
  return text.replace(/\{\{([^{}]*)\}\}/g, (whole, tag: string) => {
    const key = tag.trim()
    return key in params ? String(params[key]) : whole
  })
}

/** Renders every string of the template (keys included, as upstream renders the whole document). */
function renderTemplate(value: unknown, params: Params, goTemplate: boolean): unknown {
  if (typeof value === 'string') return goTemplate ? renderGoTemplate(value, params) : fastTemplate(value, params)
  if (Array.isArray(value)) return value.map((v) => renderTemplate(v, params, goTemplate))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [renderTemplate(k, params, goTemplate) as string, renderTemplate(v, params, goTemplate)]))
  return value
}

/** The Applications a set generates now (or why it cannot). */
export async function generatedApplications(set: KObject, env: AppSetEnv): Promise<{ apps: KObject[]; error?: string }> {
  const goTemplate = set.spec?.goTemplate === true
  const apps: KObject[] = []
  try {
    for (const gen of set.spec?.generators ?? []) {
      const template = { ...(set.spec?.template ?? {}) }
      // a generator's own template overrides the set's, field by field
      if (gen && typeof gen === 'object') {
        const own = (Object.values(gen)[0] as any)?.template
        if (own) Object.assign(template, { metadata: { ...(template.metadata ?? {}), ...(own.metadata ?? {}) }, spec: { ...(template.spec ?? {}), ...(own.spec ?? {}) } })
      }
      for (const params of await generate(gen, set, env)) {
        const rendered = renderTemplate(template, params, goTemplate) as any
        apps.push({
          ...APP,
          metadata: {
            ...(rendered.metadata ?? {}),
            namespace: set.metadata.namespace,
            ownerReferences: [{ apiVersion: APPSET.apiVersion, kind: APPSET.kind, name: set.metadata.name, uid: set.metadata.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: rendered.spec ?? {},
        } as KObject)
      }
    }
  } catch (e) {
    return { apps: [], error: (e as Error).message }
  }
  const names = apps.map((a) => a.metadata.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) return { apps: [], error: `ApplicationSet ${set.metadata.name} contains applications with duplicate name: ${dup}` }
  return { apps }
}

/** One pass over every ApplicationSet: its Applications made, updated or deleted as its policy says. */
export async function reconcileApplicationSets(env: AppSetEnv): Promise<void> {
  const { store } = env
  if (!store.typeOf(APPSET.apiVersion, APPSET.kind)) return
  for (const set of store.list(APPSET.apiVersion, APPSET.kind)) {
    const { apps, error } = await generatedApplications(set, env)
    const policy = set.spec?.syncPolicy?.applicationsSync ?? 'sync'
    const owned = store.list(APP.apiVersion, APP.kind, set.metadata.namespace, (a) => ((a.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === set.metadata.uid))
    if (!error) {
      for (const app of apps) {
        const live = store.get({ ...APP, namespace: app.metadata.namespace, name: app.metadata.name })
        if (!live) {
          store.create(app, MANAGER)
          env.log(`applicationset: ${set.metadata.name} created Application ${app.metadata.name}`)
        } else if (policy !== 'create-only' && JSON.stringify([live.spec, live.metadata.labels ?? {}]) !== JSON.stringify([app.spec, { ...(live.metadata.labels ?? {}), ...(app.metadata.labels ?? {}) }])) {
          store.update({ ...live, spec: app.spec, metadata: { ...live.metadata, labels: { ...(live.metadata.labels ?? {}), ...(app.metadata.labels ?? {}) } } }, MANAGER)
        }
      }
      if (policy === 'sync' || policy === 'create-delete')
        for (const a of owned) if (!apps.some((g) => g.metadata.name === a.metadata.name)) store.delete({ ...APP, namespace: a.metadata.namespace, name: a.metadata.name })
    }
    const conditions = error
      ? [
          { type: 'ErrorOccurred', status: 'True', reason: 'ApplicationGenerationFromParamsError', message: error },
          { type: 'ParametersGenerated', status: 'False', reason: 'ErrorOccurred', message: error },
          { type: 'ResourcesUpToDate', status: 'False', reason: 'ErrorOccurred', message: error },
        ]
      : [
          { type: 'ErrorOccurred', status: 'False', reason: 'ApplicationSetUpToDate', message: 'All applications have been generated successfully' },
          { type: 'ParametersGenerated', status: 'True', reason: 'ParametersGenerated', message: 'Successfully generated parameters for all Applications' },
          { type: 'ResourcesUpToDate', status: 'True', reason: 'ApplicationSetUpToDate', message: 'All applications have been generated successfully' },
        ]
    const prev = (set.status?.conditions ?? []).map((c: any) => [c.type, c.status, c.message].join('|')).join(',')
    if (prev !== conditions.map((c) => [c.type, c.status, c.message].join('|')).join(',')) {
      const t = now()
      store.updateStatus({ ...APPSET, namespace: set.metadata.namespace, name: set.metadata.name }, { ...(set.status ?? {}), conditions: conditions.map((c) => ({ ...c, lastTransitionTime: t })) })
      if (error) env.log(`applicationset: ${set.metadata.name}: ${error}`)
    }
  }
}
