// The conventions of the owner's Applications, copied into the ones the setup writes: a repo whose
// Applications all carry the resources finalizer and `ServerSideApply=true` gets new ones that do
// too, and a repo that names its destinations (`name: homelab`) gets a name, not a server URL.
// A convention is what most sibling Applications (those in the same folder, ours aside) agree on.
import { readdir } from 'node:fs/promises'
import { join, posix } from 'node:path'
import type { Ctx } from './context.ts'
import { planFile, readRepoFile } from './files.ts'
import type { Change } from './task.ts'
import { appendToSequence, getAt, insertKey, renameKey, setScalar, splitDocuments } from './yaml-edit.ts'

export interface Conventions {
  finalizers: string[]
  syncOptions: string[]
  /** how many sibling Applications the conventions were read from */
  siblings: number
}

/** An Argo CD Application's parts the conventions are read from. */
interface AppShape {
  finalizers: string[]
  syncOptions: string[]
}

async function siblingApps(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, dir: string, ours: Set<string>): Promise<AppShape[]> {
  let names: string[] = []
  try {
    names = (await readdir(join(ctx.repoDir, dir))).filter((n) => /\.ya?ml$/.test(n)).sort()
  } catch {
    return []
  }
  const apps: AppShape[] = []
  for (const n of names) {
    const rel = `${dir}/${n}`
    if (ours.has(rel)) continue
    const text = await readRepoFile(ctx, rel)
    if (text === null) continue
    let docs: ReturnType<typeof splitDocuments>
    try {
      docs = splitDocuments(text, rel)
    } catch {
      continue
    }
    for (const d of docs) {
      if (d.kind !== 'Application') continue
      const json = (d.doc.toJS() ?? {}) as Record<string, any>
      const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
      apps.push({ finalizers: list(json.metadata?.finalizers), syncOptions: list(json.spec?.syncPolicy?.syncOptions) })
    }
  }
  return apps
}

/** What more than half of the sibling Applications in `dir` carry (at least two of them), files in `ours` aside. */
export async function siblingConventions(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, dir: string, ours: string[]): Promise<Conventions> {
  const apps = await siblingApps(ctx, dir, new Set(ours))
  const common = (pick: (a: AppShape) => string[]) => {
    const counts = new Map<string, number>()
    for (const a of apps) for (const v of new Set(pick(a))) counts.set(v, (counts.get(v) ?? 0) + 1)
    return [...counts].filter(([, n]) => n >= 2 && n * 2 > apps.length).map(([v]) => v)
  }
  return { finalizers: common((a) => a.finalizers), syncOptions: common((a) => a.syncOptions), siblings: apps.length }
}

/** The rendered Application with the conventions it lacks added (finalizers under metadata, sync options under syncPolicy). */
export function withConventions(text: string, rel: string, c: Conventions): string {
  let out = text
  const finalizers = c.finalizers.filter((f) => !((getAt(out, rel, ['metadata', 'finalizers']).value as string[] | undefined) ?? []).includes(f))
  if (finalizers.length)
    out = getAt(out, rel, ['metadata', 'finalizers']).value === undefined ? insertKey(out, rel, ['metadata'], 'finalizers', finalizers.map((f) => `  - ${f}`)) : finalizers.reduce((t, f) => appendToSequence(t, rel, ['metadata', 'finalizers'], f), out)
  for (const option of c.syncOptions) {
    // an option the template sets otherwise (ServerSideApply=false) is not doubled
    const key = option.split('=')[0]
    const now = (getAt(out, rel, ['spec', 'syncPolicy', 'syncOptions']).value as string[] | undefined) ?? []
    if (now.some((o) => typeof o === 'string' && o.split('=')[0] === key)) continue
    if (getAt(out, rel, ['spec', 'syncPolicy']).value === undefined) out = insertKey(out, rel, ['spec'], 'syncPolicy', ['  syncOptions:', `    - ${option}`])
    else if (now.length === 0) out = insertKey(out, rel, ['spec', 'syncPolicy'], 'syncOptions', [`  - ${option}`])
    else out = appendToSequence(out, rel, ['spec', 'syncPolicy', 'syncOptions'], option)
  }
  return out
}

/** The summary note for a new Application that copied conventions ('' when there were none to copy). */
export function conventionsNote(c: Conventions): string {
  const parts = [...c.finalizers.map((f) => `finalizer ${f}`), ...c.syncOptions]
  return parts.length ? `; like ${c.siblings} sibling Applications: ${parts.join(', ')}` : ''
}

/** The Application's destination written by cluster name instead of server URL (`name: homelab`), as the owner writes it. */
export function destinationByName(text: string, rel: string, name: string): string {
  return setScalar(renameKey(text, rel, ['spec', 'destination', 'server'], 'name'), rel, ['spec', 'destination', 'name'], name)
}

/**
 * A new Application, written once: the template with the owner's conventions (finalizers, sync
 * options of most siblings in its folder; the destination by cluster name where the app's is).
 */
export async function newApplication(ctx: Ctx, rel: string, rendered: string, destinationName: string | undefined, ours: string[]): Promise<Change | undefined> {
  const conventions = await siblingConventions(ctx, posix.dirname(rel), ours)
  let text = withConventions(rendered, rel, conventions)
  if (destinationName) text = destinationByName(text, rel, destinationName)
  const change = await planFile(ctx, rel, text, null)
  const note = `${conventionsNote(conventions)}${destinationName ? `; destination by name ${destinationName}, as the app's` : ''}`
  return change && note ? { ...change, summary: `${change.summary} (${note.slice(2)})` } : change
}
