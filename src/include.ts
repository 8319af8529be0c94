// The Directory Applications' file selection (`spec.source.directory`: include, exclude, recurse),
// read and edited one line at a time. Argo CD matches include and exclude as globs with `{a,b}`
// alternatives against each file's path below the app path; `*` crosses `/` (gobwas/glob without
// separators), which matters once `recurse: true` lists subfolders.
import { isAlias, isMap, isScalar, type Node } from 'yaml'
import { posix } from 'node:path'
import { SetupError } from './errors.ts'
import { formatBraceList, getAt, parseBraceList, setScalar, singleDocument } from './yaml-edit.ts'

const DIRECTORY = ['spec', 'source', 'directory']
const INCLUDE = [...DIRECTORY, 'include']

export interface DirectorySelection {
  /** the include pattern; undefined: every file is synced */
  include?: string
  /** the include as a plain list of file names, when it is one (then it can be edited) */
  items?: string[]
  exclude?: string
  recurse: boolean
  /** line of the include (or of spec.source when there is none) */
  line: number
}

/** Refuses YAML merge keys and aliases on the way to and inside `directory`: they hide what Argo CD reads. */
function refuseMergeKeys(text: string, rel: string): void {
  const doc = singleDocument(text, rel)
  let node: Node | null | undefined = doc.contents
  for (let depth = 0; depth <= DIRECTORY.length && node; depth++) {
    if (isAlias(node) || !isMap(node)) {
      if (isAlias(node)) throw mergeError(text, rel, DIRECTORY.slice(0, depth), 'alias')
      return
    }
    for (const p of node.items) {
      if (isScalar(p.key) && p.key.value === '<<') throw mergeError(text, rel, DIRECTORY.slice(0, depth), 'merge key (<<)')
      if (isAlias(p.value) && depth < DIRECTORY.length && isScalar(p.key) && p.key.value === DIRECTORY[depth]) throw mergeError(text, rel, DIRECTORY.slice(0, depth + 1), 'alias')
    }
    const key = DIRECTORY[depth]
    node = key === undefined ? undefined : (node.items.find((p) => isScalar(p.key) && p.key.value === key)?.value as Node | null | undefined)
  }
}

function mergeError(text: string, rel: string, path: string[], what: string): SetupError {
  const { line } = getAt(text, rel, path)
  return new SetupError(
    `${rel}:${line}: ${path.join('.') || 'the Application'} uses a YAML ${what}, so the setup cannot tell which files the Application includes, nor edit them safely`,
    `write spec.source.directory (include, exclude, recurse) out in full in ${rel}, without << or *aliases, then rerun`,
  )
}

/** What the Directory Application selects. */
export function readSelection(text: string, rel: string): DirectorySelection {
  refuseMergeKeys(text, rel)
  if (getAt(text, rel, ['spec', 'source']).value === undefined)
    throw new SetupError(`${rel}:${getAt(text, rel, ['spec']).line}: expected a single-source Directory Application with spec.source`, `${rel} must be an Application with spec.source.path (multi-source apps are not supported for this file)`)
  const { value, line } = getAt(text, rel, INCLUDE)
  const exclude = getAt(text, rel, [...DIRECTORY, 'exclude']).value
  const recurse = getAt(text, rel, [...DIRECTORY, 'recurse']).value === true
  const text_ = (v: unknown, what: string) => {
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v !== 'string') throw new SetupError(`${rel}:${line}: expected spec.source.directory.${what} to be a glob string, found ${JSON.stringify(v)}`, `write ${what} as a string like "{a.yaml,b.yaml}" or "*.yaml" in ${rel}, then rerun`)
    return v
  }
  const include = text_(value, 'include')
  // a plain list of names can be edited; a pattern (`*.yaml`) is only read
  const items = include === undefined ? undefined : parseBraceList(include)
  const plain = items?.every((i) => !/[*?[\]\\!]/.test(i)) ? items : undefined
  return { include, items: plain, exclude: text_(exclude, 'exclude'), recurse, line }
}

/** A glob of Argo CD's kind as an anchored regular expression (`*` and `?` cross `/`). */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  let depth = 0
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*') out += '.*'
    else if (ch === '?') out += '.'
    else if (ch === '{') (depth++, (out += '(?:'))
    else if (ch === '}' && depth > 0) (depth--, (out += ')'))
    else if (ch === ',' && depth > 0) out += '|'
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        const body = glob.slice(i + 1, end)
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`
        i = end
      }
    } else if (ch === '\\' && i + 1 < glob.length) out += `\\${glob[++i]}`
    else out += /[\\^$.+()|{}[\]]/.test(ch) ? `\\${ch}` : ch
  }
  return new RegExp(`^${out}$`)
}

/** True when the Directory Application syncs the file at `path` (relative to its source path). */
export function selects(sel: DirectorySelection, path: string): boolean {
  if (!sel.recurse && path.includes('/')) return false
  if (sel.include !== undefined && !globToRegExp(sel.include).test(path)) return false
  return sel.exclude === undefined || !globToRegExp(sel.exclude).test(path)
}

/**
 * The file's text with `add` selected and `remove` no longer selected: a plain include list gets the
 * names added or removed (one line); a pattern is left alone where it already agrees (a removed file
 * is deleted by the move, so the pattern stops matching it). Refuses what it cannot do safely.
 */
export function editInclude(text: string, rel: string, edit: { add?: string; remove?: string[] }): string {
  const sel = readSelection(text, rel)
  const remove = edit.remove ?? []
  if (sel.recurse)
    for (const name of remove) {
      const folder = `${name.replace(/\.ya?ml$/, '')}/kustomization.yaml`
      if (selects(sel, folder))
        throw new SetupError(
          `${rel}:${sel.line}: the Application syncs subfolders (recurse: true), so it would also sync the new folder ${folder.replace(/\/kustomization\.yaml$/, '/')} and fight the app's own Application over it`,
          `exclude the app folders in ${rel} (exclude: "{${[...(sel.exclude ? [sel.exclude.replace(/^\{(.*)\}$/, '$1')] : []), ...remove.map((r) => `${r.replace(/\.ya?ml$/, '')}/*`)].join(',')}}"), or set recurse: false, then rerun`,
        )
    }
  if (!sel.items) {
    if (edit.add && !selects(sel, edit.add))
      throw new SetupError(
        `${rel}:${sel.line}: the Application's include/exclude (${sel.include ?? 'every file'}${sel.exclude ? `, exclude ${sel.exclude}` : ''}) does not select ${edit.add}, and the setup only edits plain lists of file names`,
        `add ${edit.add} to spec.source.directory.include in ${rel} (or stop excluding it), then rerun`,
      )
    return text
  }
  let items = sel.items.filter((i) => !remove.includes(i))
  if (edit.add && !items.includes(edit.add)) items = [...items, edit.add]
  if (items.length === sel.items.length && items.every((v, i) => v === sel.items![i])) return text
  return setScalar(text, rel, INCLUDE, formatBraceList(items))
}

/** The names kustomize reads a folder's kustomization from. */
export const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const

/** The kustomization files that could list `fileRel` as a resource: one per name in its folder and in each folder above. */
export function kustomizationsAbove(fileRel: string): string[] {
  const out: string[] = []
  let dir = posix.dirname(fileRel)
  for (;;) {
    for (const n of KUSTOMIZATION_NAMES) out.push(dir === '.' ? n : `${dir}/${n}`)
    if (dir === '.' || dir === '') break
    dir = posix.dirname(dir)
  }
  return out
}

/**
 * The kustomizations above `fileRel` whose `resources:` list it (as written, e.g.
 * `personal-services/it-tools.yaml`): moving the file away without editing them would stop that
 * whole tree from rendering (`accumulating resources ... no such file`).
 */
export async function listingKustomizations(read: (rel: string) => Promise<string | null>, fileRel: string): Promise<{ file: string; entry: string }[]> {
  const out: { file: string; entry: string }[] = []
  for (const k of kustomizationsAbove(fileRel)) {
    const text = await read(k)
    if (text === null) continue
    const resources = getAt(text, k, ['resources']).value
    if (!Array.isArray(resources)) continue
    const dir = posix.dirname(k)
    for (const r of resources)
      if (typeof r === 'string' && posix.normalize(dir === '.' ? r : `${dir}/${r}`) === fileRel) out.push({ file: k, entry: r })
  }
  return out
}
