// Files the tasks write in the GitOps repo: compare, show a unified diff, write atomically.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createTwoFilesPatch } from 'diff'
import type { Ctx } from './context.ts'
import type { Change } from './task.ts'

/** Current content of a repo-relative file, or null when it does not exist. */
export async function readRepoFile(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, rel: string): Promise<string | null> {
  const planned = ctx.overlay?.get(rel)
  if (planned !== undefined) return planned
  try {
    return await readFile(join(ctx.repoDir, rel), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/**
 * Writes through a temp file in the same folder and a rename, so a crash leaves either the old or
 * the new file, never half of one. The temp name matches `*.tmp-*`, which .gitignore-style sweeps find.
 */
export async function writeFileAtomic(abs: string, content: string): Promise<void> {
  await mkdir(dirname(abs), { recursive: true })
  await removeStaleTemps(abs)
  const tmp = `${abs}.tmp-${randomBytes(4).toString('hex')}`
  try {
    await writeFile(tmp, content, { flag: 'wx' })
    await rename(tmp, abs)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/**
 * Temp files of `abs` left by a write that was killed between writing the temp file and renaming
 * it. Writes happen only under the run lock, so no other writer can own one of these.
 */
async function removeStaleTemps(abs: string): Promise<void> {
  const prefix = `${basename(abs)}.tmp-`
  let names: string[]
  try {
    names = await readdir(dirname(abs))
  } catch {
    return
  }
  for (const name of names)
    if (name.startsWith(prefix) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length))) await rm(join(dirname(abs), name), { force: true })
}

export function unifiedDiff(rel: string, before: string | null, after: string | null): string {
  return createTwoFilesPatch(before === null ? '/dev/null' : `a/${rel}`, after === null ? '/dev/null' : `b/${rel}`, before ?? '', after ?? '', '', '', { context: 3 })
    .split('\n')
    .slice(1) // drop the "====" line jsdiff puts first
    .join('\n')
    .trimEnd()
}

/**
 * The change that makes `rel` hold `desired` (null: absent), or undefined when it already does.
 * `current` may be passed when the caller has read the file already.
 */
export async function planFile(ctx: Ctx, rel: string, desired: string | null, current?: string | null): Promise<Change | undefined> {
  const before = current === undefined ? await readRepoFile(ctx, rel) : current
  if (before === desired) return undefined
  const verb = desired === null ? 'delete' : before === null ? 'create' : 'edit'
  return {
    summary: `${verb} ${rel}`,
    diff: unifiedDiff(rel, before, desired),
    paths: [rel],
    preview: { path: rel, content: desired },
    async apply() {
      const abs = join(ctx.repoDir, rel)
      // recorded before the write, so a crash in between still knows this content is ours
      await ctx.state.recordWrite(rel, desired)
      if (desired === null) await rm(abs, { force: true })
      else await writeFileAtomic(abs, desired)
    },
  }
}

/** Keeps the undefined out of a list of planned file changes. */
export function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((c): c is T => c !== undefined)
}
