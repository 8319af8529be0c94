// The repo's files as this run sees them: the checkout on disk with the run's overlay on top (in
// --dry-run, what earlier tasks would write), and each YAML file's documents with their lines.
import { keepParse, keptParse, parseKey } from './parse-cache.ts'
import { readdir, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import type { Ctx } from '../context.ts'
import { readRepoFile } from '../files.ts'

/** Folders that are never part of what Argo CD reads. */
const SKIP = new Set(['.git', 'node_modules'])

export interface RepoFiles {
  /** every file, repo-relative, sorted */
  files: string[]
  /** a fingerprint of every file's size and mtime plus the overlay's content: same fingerprint, same repo */
  fingerprint: string
}

type FileCtx = Pick<Ctx, 'repoDir' | 'overlay'>

/** Every file of the checkout (through the overlay), and a fingerprint of them. */
export async function listRepoFiles(ctx: FileCtx): Promise<RepoFiles> {
  const onDisk: string[] = []
  const hash = createHash('sha1')
  const walk = async (rel: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(join(ctx.repoDir, rel), { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (SKIP.has(e.name)) continue
      const child = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(child)
      else if (e.isFile() || e.isSymbolicLink()) onDisk.push(child)
    }
  }
  await walk('')
  const files = new Set(onDisk)
  for (const [rel, content] of ctx.overlay ?? []) {
    if (content === null) files.delete(rel)
    else files.add(rel)
  }
  const sorted = [...files].sort()
  // size and mtime say whether a file changed on disk; the overlay's content says what a task would write
  await Promise.all(
    onDisk.map(async (rel) => {
      const st = await stat(join(ctx.repoDir, rel)).catch(() => undefined)
      return `${rel}\0${st?.size}\0${st?.mtimeMs}`
    }),
  ).then((lines) => lines.sort().forEach((l) => hash.update(l).update('\n')))
  for (const [rel, content] of [...(ctx.overlay ?? [])].sort(([a], [b]) => a.localeCompare(b))) hash.update(`overlay ${rel}\0${content ?? '\0deleted'}\n`)
  return { files: sorted, fingerprint: hash.digest('hex') }
}

export function isYamlFile(rel: string): boolean {
  return /\.ya?ml$/i.test(rel)
}

/** One document of a YAML file. */
export interface FileDoc {
  file: string
  /** line of the document's first content */
  line: number
  /** index among the file's non-empty documents */
  index: number
  json: Record<string, any>
}

/** Start offsets of each line, for turning offsets into line numbers. */
function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

export function lineOf(starts: number[], offset: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return lo + 1
}

export interface ParsedFile {
  docs: FileDoc[]
  /** the first syntax error, as `file:line: reason` */
  error?: string
  /** line of a node found by path in document `index` (for `images:` items and the like) */
  lineAt(index: number, path: (string | number)[]): number | undefined
}

/**
 * The documents of a YAML (or JSON) text. Merge keys (`<<`) are resolved, as Kubernetes' YAML reader
 * does. Not through src/yaml-parse.ts: a model load reads every file of the repo, which would push
 * the files the tasks read again and again out of that small cache.
 */
export function parseFile(text: string, file: string): ParsedFile {
  // a parse is a function of the text (and the name its messages carry): a reload after one file
  // changed parses that file alone. Callers only read what this returns.
  const key = `${file}\0${text}`
  const kept = parsedFiles.get(key)
  if (kept) return kept
  const diskKey = parseKey(file, text)
  const fromDisk = keptParse(diskKey)
  let parsed: ParsedFile
  if (fromDisk) {
    let fresh: ParsedFile | undefined
    parsed = { docs: fromDisk.docs.map((d) => ({ file, line: d.line, index: d.index, json: d.json })), error: fromDisk.error, lineAt: (index, path) => (fresh ??= parseFresh(text, file)).lineAt(index, path) }
  } else {
    parsed = parseFresh(text, file)
    keepParse(diskKey, { docs: parsed.docs.map((d) => ({ line: d.line, index: d.index, json: d.json })), ...(parsed.error ? { error: parsed.error } : {}) })
  }
  parsedFiles.set(key, parsed)
  if (parsedFiles.size > KEEP_PARSED) parsedFiles.delete(parsedFiles.keys().next().value!)
  return parsed
}

/** Enough for every file of a large homelab repo and the Kustomize builds of its apps. */
const KEEP_PARSED = 2048
const parsedFiles = new Map<string, ParsedFile>()

function parseFresh(text: string, file: string): ParsedFile {
  const starts = lineStarts(text)
  const parsed = parseAllDocuments(text, { merge: true, prettyErrors: false })
  const all = Array.isArray(parsed) ? parsed : []
  const docs: FileDoc[] = []
  const nodes: (typeof all)[number][] = []
  let error: string | undefined
  for (const doc of all) {
    const err = doc.errors[0]
    if (err) {
      error ??= `${file}:${lineOf(starts, err.pos[0])}: YAML does not parse: ${err.message.split('\n')[0]}`
      continue
    }
    const json = doc.toJS({ maxAliasCount: -1 }) as unknown
    if (json === null || json === undefined) continue
    if (typeof json !== 'object' || Array.isArray(json)) continue
    docs.push({ file, line: lineOf(starts, doc.contents?.range?.[0] ?? doc.range[0]), index: docs.length, json: json as Record<string, any> })
    nodes.push(doc)
  }
  return {
    docs,
    error,
    lineAt(index, path) {
      const node = nodes[index]?.getIn(path, true) as { range?: [number, number, number] } | undefined
      return node?.range ? lineOf(starts, node.range[0]) : undefined
    },
  }
}

/** Reads and parses a repo file through the overlay (null: no such file). */
export async function readParsed(ctx: FileCtx, rel: string): Promise<ParsedFile | null> {
  const text = await readRepoFile(ctx, rel)
  return text === null ? null : parseFile(text, rel)
}

/** Files directly in (or, with `recurse`, below) `dir`, as paths relative to it. */
export function filesUnder(files: string[], dir: string, recurse: boolean): string[] {
  const prefix = dir === '' || dir === '.' ? '' : `${dir.replace(/\/+$/, '')}/`
  const out: string[] = []
  for (const f of files) {
    if (!f.startsWith(prefix)) continue
    const rest = f.slice(prefix.length)
    if (!recurse && rest.includes('/')) continue
    out.push(rest)
  }
  return out
}

/** A repo-relative path joined and normalised (`a/b/../c` → `a/c`); undefined when it leaves the repo. */
export function joinRel(dir: string, rel: string): string | undefined {
  const parts: string[] = []
  for (const p of `${dir}/${rel}`.split('/')) {
    if (p === '' || p === '.') continue
    if (p === '..') {
      if (parts.length === 0) return undefined
      parts.pop()
    } else parts.push(p)
  }
  return parts.join('/')
}
