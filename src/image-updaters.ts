// ImageUpdaters already in the GitOps repo, found by what they are (kind ImageUpdater, namespace,
// name, the Applications they select), in whatever file the owner put them: a plan followed by hand
// names the file `imageupdater.yaml`, another repo keeps every one in an `argocd/` folder. The setup
// repairs the one it finds in place and never writes a second beside it (two objects with one
// identity make `kubectl kustomize` fail, and Image Updater would process both).
import type { Ctx } from './context.ts'
import type { Settings } from './settings.ts'
import { SetupError } from './errors.ts'
import { readRepoFile } from './files.ts'
import { splitDocuments } from './yaml-edit.ts'

export interface FoundImageUpdater {
  /** repo-relative file holding it */
  file: string
  /** 1-based line of its document in the file */
  line: number
  /** the document's exact source (repairs edit it and splice it back) */
  source: string
  name: string
  /** metadata.namespace as written (undefined: none, the syncing Application's destination decides) */
  namespace?: string
  /** spec.applicationRefs[].namePattern */
  namePatterns: string[]
}

/** Cheap test before parsing: only files that mention the kind are parsed. */
const MENTIONS_KIND = /^\s*kind:\s*["']?ImageUpdater["']?\s*(#.*)?$/m

// Asked by tasks 0, 4 (per app) and 7 in one run: kept by the repo listing's fingerprint (paths,
// sizes and times on disk, the dry run's overlay), so a file written since is read again.
const kept = new Map<string, Promise<FoundImageUpdater[]>>()
const KEEP = 4

/** Every ImageUpdater of the repo, in file order. A file that does not parse is skipped here (its own task names it). */
export async function findImageUpdaters(ctx: Pick<Ctx, 'repoDir' | 'overlay'>): Promise<FoundImageUpdater[]> {
  const { isYamlFile, listRepoFiles } = await import('./repo-model/scan.ts')
  const listing = await listRepoFiles(ctx)
  const key = `${ctx.repoDir}\0${listing.fingerprint}`
  let found = kept.get(key)
  if (!found) {
    found = readImageUpdaters(ctx, listing.files.filter(isYamlFile))
    kept.set(key, found)
    found.catch(() => kept.delete(key))
    if (kept.size > KEEP) kept.delete(kept.keys().next().value!)
  }
  return found
}

async function readImageUpdaters(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, files: string[]): Promise<FoundImageUpdater[]> {
  const out: FoundImageUpdater[] = []
  for (const rel of files) {
    // a link that leaves the repo is refused where a task reads it, not here
    const text = await readRepoFile(ctx, rel).catch(() => null)
    if (text === null || !MENTIONS_KIND.test(text)) continue
    let docs: ReturnType<typeof splitDocuments>
    try {
      docs = splitDocuments(text, rel)
    } catch {
      continue
    }
    for (const d of docs) {
      if (d.kind !== 'ImageUpdater') continue
      const json = (d.doc.toJS() ?? {}) as Record<string, any>
      const refs: unknown[] = Array.isArray(json.spec?.applicationRefs) ? json.spec.applicationRefs : []
      out.push({
        file: rel,
        line: d.line,
        source: d.source,
        name: String(json.metadata?.name ?? ''),
        namespace: typeof json.metadata?.namespace === 'string' ? json.metadata.namespace : undefined,
        namePatterns: refs.map((r) => (r as { namePattern?: unknown })?.namePattern).filter((p): p is string => typeof p === 'string'),
      })
    }
  }
  return out
}

/** Argo CD-style glob of a namePattern (`*`, `?`). */
export function globMatches(pattern: string, name: string): boolean {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name)
}

/**
 * The one ImageUpdater that selects the Application `app` (its namePattern, or a pattern that
 * matches it), or undefined when there is none. Several are refused with each one's file: Image
 * Updater would run them all, and the setup cannot tell which one the owner means.
 */
export function imageUpdaterFor(all: FoundImageUpdater[], app: string, argocdNamespace: string): FoundImageUpdater | undefined {
  // in another namespace than Argo CD's it selects nothing there (the repair moves it back)
  const selecting = all.filter((iu) => iu.namePatterns.some((p) => globMatches(p, app)))
  const exact = selecting.filter((iu) => iu.namePatterns.includes(app))
  const candidates = exact.length ? exact : selecting
  if (candidates.length <= 1) return candidates[0]
  const where = (iu: FoundImageUpdater) => `ImageUpdater ${iu.namespace ?? argocdNamespace}/${iu.name} in ${iu.file}:${iu.line}`
  const same = candidates.every((iu) => iu.name === candidates[0]!.name && (iu.namespace ?? argocdNamespace) === (candidates[0]!.namespace ?? argocdNamespace))
  throw new SetupError(
    `${candidates.length} ImageUpdaters select the Application ${app}: ${candidates.map(where).join('; ')}${same ? ' (one identity twice: kubectl kustomize refuses the folder, and Argo CD syncs only one of them)' : ''}`,
    `keep one of them (delete the other ${candidates.length > 2 ? 'documents' : 'document'} or its namePattern ${app}), then rerun: the setup repairs the one left in place`,
  )
}

// The files found holding the run's ImageUpdaters, per run (keyed like the repo facts, by the
// settings object): task 4 edits them in place, so task 7 commits them with the files it names itself.
const foundFiles = new WeakMap<Settings, Set<string>>()

/** Remembers that this run edits the ImageUpdater in `rel` (a file no setting names). */
export function rememberImageUpdaterFile(ctx: Pick<Ctx, 'settings'>, rel: string): void {
  let files = foundFiles.get(ctx.settings)
  if (!files) foundFiles.set(ctx.settings, (files = new Set()))
  files.add(rel)
}

/** The ImageUpdater files found so far in this run. */
export function imageUpdaterFiles(ctx: Pick<Ctx, 'settings'>): string[] {
  return [...(foundFiles.get(ctx.settings) ?? [])]
}
