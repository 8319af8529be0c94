// ApplicationSets whose generators read this repo: the git directory and git file generators (and
// the list generator, which needs nothing but itself). Each produces parameter sets; the template is
// filled with them as Argo CD does (fasttemplate `{{path.basename}}`, or with `goTemplate: true`
// `{{ .path.basename }}` and `index`), and every generated Application joins the model.
import type { Ctx } from '../context.ts'
import { readRepoFile } from '../files.ts'
import { parseFile } from './scan.ts'

type Params = Record<string, unknown>

/** A path glob as Go's path.Match (`*` stays within a segment) with doublestar's `**` across segments. */
export function pathGlob(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more folders
      if (glob[i + 2] === '/') (out += '(?:.*/)?', (i += 2))
      else (out += '.*', i++)
    } else if (ch === '*') out += '[^/]*'
    else if (ch === '?') out += '[^/]'
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        const body = glob.slice(i + 1, end)
        out += `[${body.startsWith('^') || body.startsWith('!') ? `^${body.slice(1)}` : body}]`
        i = end
      }
    } else if (ch === '{') out += '(?:'
    else if (ch === '}') out += ')'
    else if (ch === ',') out += glob.slice(0, i).lastIndexOf('{') > glob.slice(0, i).lastIndexOf('}') ? '|' : ','
    else out += /[\\^$.+()|[\]]/.test(ch) ? `\\${ch}` : ch
  }
  return new RegExp(`^${out}$`)
}

function normalized(name: string): string {
  return name.replace(/[^a-zA-Z0-9-.]/g, '-').toLowerCase()
}

/** The parameters Argo CD gives a path: as flat keys for fasttemplate, as a nested object for Go templates. */
function pathParams(path: string, goTemplate: boolean, prefix: string | undefined, file?: string): Params {
  const segments = path.split('/').filter(Boolean)
  const basename = segments[segments.length - 1] ?? ''
  const filename = file?.split('/').pop()
  const key = prefix ? `${prefix}.path` : 'path'
  if (goTemplate) {
    const value: Params = { path, basename, basenameNormalized: normalized(basename), segments }
    if (filename !== undefined) Object.assign(value, { filename, filenameNormalized: normalized(filename) })
    return prefix ? { [prefix]: { path: value } } : { path: value }
  }
  const out: Params = { [key]: path, [`${key}.basename`]: basename, [`${key}.basenameNormalized`]: normalized(basename) }
  segments.forEach((s, i) => (out[`${key}[${i}]`] = s))
  if (filename !== undefined) Object.assign(out, { [`${key}.filename`]: filename, [`${key}.filenameNormalized`]: normalized(filename) })
  return out
}

/** A JSON/YAML file's content flattened to `a.b.c` keys, as the git file generator does without goTemplate. */
function flatten(value: unknown, prefix = '', out: Params = {}): Params {
  if (value && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  else if (prefix) out[prefix] = typeof value === 'string' ? value : JSON.stringify(value)
  return out
}

function lookup(params: Params, path: string): unknown {
  let cur: unknown = params
  for (const part of path.split('.').filter(Boolean)) {
    if (!cur || typeof cur !== 'object') return undefined
    cur = (cur as Params)[part]
  }
  return cur
}

/** Fills one string; undefined when it holds an expression this reader does not evaluate. */
function fill(text: string, params: Params, goTemplate: boolean): string | undefined {
  let unknown = false
  const out = text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, expr: string) => {
    if (!goTemplate) {
      const v = params[expr]
      if (v === undefined) {
        unknown = true
        return ''
      }
      return String(v)
    }
    let m = /^\.([\w.]+)$/.exec(expr)
    if (m) {
      const v = lookup(params, m[1]!)
      if (v === undefined || (typeof v === 'object' && v !== null)) unknown = true
      return v === undefined ? '' : String(v)
    }
    m = /^index\s+\.([\w.]+)\s+(-?\d+)$/.exec(expr)
    if (m) {
      const list = lookup(params, m[1]!)
      const v = Array.isArray(list) ? list[Number(m[2])] : undefined
      if (v === undefined) unknown = true
      return v === undefined ? '' : String(v)
    }
    unknown = true
    return ''
  })
  return unknown ? undefined : out
}

function fillDeep(value: unknown, params: Params, goTemplate: boolean, missing: string[]): unknown {
  if (typeof value === 'string') {
    const filled = fill(value, params, goTemplate)
    if (filled === undefined) {
      missing.push(value)
      return value
    }
    return filled
  }
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, params, goTemplate, missing))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, params, goTemplate, missing)]))
  return value
}

export interface Generated {
  /** the Applications as the ApplicationSet would make them */
  apps: Record<string, any>[]
  /** generators and templates not read, one line each */
  notRead: string[]
}

/** Folders of the repo (every parent folder of a file). */
function foldersOf(files: string[]): string[] {
  const dirs = new Set<string>()
  for (const f of files) {
    const parts = f.split('/')
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  return [...dirs].sort()
}

/** The Applications an ApplicationSet generates from this repo. */
export async function generateApps(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, files: string[], appSet: Record<string, any>, isThisRepo: (url: unknown) => boolean): Promise<Generated> {
  const spec = appSet.spec ?? {}
  const goTemplate = spec.goTemplate === true
  const name = String(appSet.metadata?.name ?? '')
  const notRead: string[] = []
  const paramSets: Params[] = []
  if (spec.templatePatch) notRead.push(`${name}: templatePatch is not applied`)
  for (const gen of Array.isArray(spec.generators) ? spec.generators : []) {
    const kind = Object.keys(gen ?? {})[0] ?? 'empty'
    if (kind === 'list') {
      for (const el of Array.isArray(gen.list?.elements) ? gen.list.elements : []) paramSets.push(goTemplate ? el : flatten(el))
      continue
    }
    if (kind !== 'git') {
      notRead.push(`${name}: the ${kind} generator is not read (only git directory, git file and list generators are)`)
      continue
    }
    const git = gen.git ?? {}
    if (!isThisRepo(git.repoURL)) {
      notRead.push(`${name}: its git generator reads ${git.repoURL}, another repo`)
      continue
    }
    const prefix = typeof git.pathParamPrefix === 'string' && git.pathParamPrefix ? git.pathParamPrefix : undefined
    if (Array.isArray(git.directories)) {
      const include = git.directories.filter((d: any) => !d?.exclude).map((d: any) => pathGlob(String(d?.path ?? '')))
      const exclude = git.directories.filter((d: any) => d?.exclude).map((d: any) => pathGlob(String(d?.path ?? '')))
      for (const dir of foldersOf(files))
        if (include.some((r: RegExp) => r.test(dir)) && !exclude.some((r: RegExp) => r.test(dir))) paramSets.push(pathParams(dir, goTemplate, prefix))
    }
    if (Array.isArray(git.files))
      for (const f of git.files) {
        const re = pathGlob(String(f?.path ?? ''))
        for (const file of files.filter((x) => re.test(x))) {
          const text = await readRepoFile(ctx, file)
          if (text === null) continue
          const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : ''
          for (const doc of parseFile(text, file).docs) {
            const content = goTemplate ? doc.json : flatten(doc.json)
            paramSets.push({ ...content, ...pathParams(dir, goTemplate, prefix, file) })
          }
        }
      }
  }
  const template = spec.template ?? {}
  const apps: Record<string, any>[] = []
  for (const params of paramSets) {
    const missing: string[] = []
    const app = fillDeep(template, params, goTemplate, missing) as Record<string, any>
    if (missing.length) {
      notRead.push(`${name}: template expression ${missing[0]} is not evaluated here; an Application is left out`)
      continue
    }
    apps.push({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', ...app, metadata: { ...(app.metadata ?? {}), namespace: app.metadata?.namespace ?? appSet.metadata?.namespace } })
  }
  return { apps, notRead }
}
