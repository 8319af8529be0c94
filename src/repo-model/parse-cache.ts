// Parsed YAML kept between runs, beside the saved progress (STATE_DIR/parsed-yaml/, one file per
// GitOps repo): the model parses every file an app renders, and a converged rerun on a repo of 30
// apps spent a fifth of a second of CPU on it, the same files each time. A parse is a function of
// the file's name and text, so it is kept by their hash; a file that changed is parsed again. Only
// what JSON holds exactly is kept (a `.inf` is parsed each time). The lines of fields inside a
// document (ParsedFile.lineAt, for messages) come from a fresh parse when asked for.
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export interface KeptParse {
  docs: { line: number; index: number; json: Record<string, any> }[]
  error?: string
}

interface Store {
  path: string
  write: boolean
  kept: Map<string, KeptParse>
  /** what this process parsed or read from it: the next save holds these only */
  used: Map<string, KeptParse>
  dirty: boolean
}

let store: Store | undefined

export const parseKey = (file: string, text: string) => createHash('sha1').update(file).update('\0').update(text).digest('hex')

/** Opens the kept parses of `repoDir` under `stateDir` (once per process and repo). */
export async function openParseCache(stateDir: string, repoDir: string, write: boolean): Promise<void> {
  const path = join(stateDir, 'parsed-yaml', `${createHash('sha1').update(repoDir).digest('hex').slice(0, 16)}.json`)
  if (store?.path === path) {
    store.write ||= write
    return
  }
  const kept = new Map<string, KeptParse>()
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as Record<string, KeptParse>
    for (const [k, v] of Object.entries(data)) if (v && Array.isArray(v.docs)) kept.set(k, v)
  } catch {
    // none yet, or unreadable: parsed afresh and written again
  }
  store = { path, write, kept, used: new Map(), dirty: false }
}

export function keptParse(key: string): KeptParse | undefined {
  const hit = store?.kept.get(key)
  if (hit) store!.used.set(key, hit)
  return hit
}

/** JSON gives back exactly what the parse gave (no Infinity, NaN, bigint, Date, undefined in arrays). */
function jsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(jsonExact)
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value as object).every((v) => v === undefined || jsonExact(v))
  return false
}

export function keepParse(key: string, parse: KeptParse): void {
  if (!store || !parse.docs.every((d) => jsonExact(d.json))) return
  store.used.set(key, parse)
  if (!store.kept.has(key)) store.dirty = true
}

/** Writes what this process used, when it parsed something new (a dry run writes nothing). */
export async function saveParseCache(): Promise<void> {
  const s = store
  if (!s?.write || !s.dirty) return
  s.dirty = false
  try {
    // owner-only, as the saved progress beside it (this may be the first thing in STATE_DIR)
    await mkdir(dirname(s.path), { recursive: true, mode: 0o700 })
    const tmp = `${s.path}.tmp-${process.pid}`
    await writeFile(tmp, JSON.stringify(Object.fromEntries(s.used)), { mode: 0o600 })
    await rename(tmp, s.path)
    s.kept = new Map(s.used)
  } catch {
    // a cache: the next run parses again
  }
}
