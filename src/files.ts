// Files the tasks write in the GitOps repo: compare, show a unified diff, write atomically.
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createTwoFilesPatch } from 'diff'
import { isDeepStrictEqual } from 'node:util'
import { parseYaml } from './yaml-parse.ts'
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import type { Change } from './task.ts'

/** `abs` with every symlink on the way resolved, also when the file (or a folder) does not exist yet. */
function realPath(abs: string): string {
  const missing: string[] = []
  let cur = abs
  for (let hops = 0; hops < 64; hops++) {
    try {
      return join(realpathSync(cur), ...missing)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
      let link: string | undefined
      try {
        link = lstatSync(cur).isSymbolicLink() ? readlinkSync(cur) : undefined
      } catch {
        link = undefined
      }
      // a symlink to a file not created yet: the file will be created where it points
      if (link !== undefined) cur = resolve(dirname(cur), link)
      else {
        missing.unshift(basename(cur))
        cur = dirname(cur)
      }
    }
  }
  throw new SetupError(`${abs} goes through too many symbolic links`, 'replace the symbolic link loop with a regular file or folder')
}

/**
 * Where `rel` really is in the GitOps repo, as a repo-relative path: symlinked folders and files on
 * the way are followed (`leaf: false` keeps a symlink at the end itself, for deleting the link),
 * so edits land in the file git tracks and the commit holds them. A path that leads out of the repo
 * is refused: the commit could never hold that change.
 */
export function realRepoPath(repoDir: string, rel: string, opts: { leaf?: boolean } = {}): string {
  const root = realpathSync(repoDir)
  const abs = join(repoDir, rel)
  const real = opts.leaf === false ? join(realPath(dirname(abs)), basename(abs)) : realPath(abs)
  const inside = relative(root, real)
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw new SetupError(
      `${rel} leads outside the GitOps repo ${repoDir} (to ${real}, through a symbolic link), so the setup commit could not hold the change`,
      `replace the symbolic link on that path with the file or folder it points to, inside the repo (git -C ${repoDir} ls-files -s -- ${rel.split('/')[0]} shows links as mode 120000), then rerun`,
    )
  return inside.split(sep).join('/')
}

/**
 * Refuses, before anything is written, a file the setup must change that it cannot write: a
 * read-only file (the owner's write bit is off: somebody meant it, even for root), an immutable
 * one (chattr +i) or a folder that takes no new files.
 */
export function verifyWritable(repoDir: string, rels: string[]): void {
  const problems: string[] = []
  const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err)
  for (const rel of rels) {
    const real = realRepoPath(repoDir, rel)
    const abs = join(repoDir, real)
    if (existsSync(abs)) {
      const mode = statSync(abs).mode
      if ((mode & 0o200) === 0) problems.push(`${real} is read-only (mode ${(mode & 0o777).toString(8)})`)
      else
        try {
          accessSync(abs, constants.W_OK)
        } catch (err) {
          problems.push(`${real} cannot be written (${code(err)}${code(err) === 'EPERM' ? ': immutable?' : ''})`)
        }
    }
    let dir = dirname(abs)
    while (!existsSync(dir)) dir = dirname(dir)
    try {
      accessSync(dir, constants.W_OK)
    } catch (err) {
      problems.push(`${relative(repoDir, dir) || '.'}/ takes no new files (${code(err)})`)
    }
  }
  if (problems.length)
    throw new SetupError(
      `the setup must change files it cannot write: ${[...new Set(problems)].join('; ')}`,
      'make them writable (chmod u+w <file>; an immutable one: chattr -i <file>), then rerun; nothing was changed',
    )
}

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
  // the new file keeps the old one's mode (an executable script stays one, a 0600 file stays private)
  const mode = await stat(abs).then(
    (st) => st.mode & 0o7777,
    () => undefined,
  )
  try {
    await writeFile(tmp, content, { flag: 'wx' })
    if (mode !== undefined) await chmod(tmp, mode)
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
 * Two YAML texts that say the same (same documents, same data) and differ only in comments, blank
 * lines, quoting or layout. The repo's own tooling (a formatter in a pre-commit hook, an editor) may
 * reshape a file this setup wrote; that is not a change to undo, and undoing it would fight the
 * hook on every run.
 */
export function sameYamlData(a: string, b: string): boolean {
  const parse = (text: string) => {
    const docs = parseYaml(text)
    if (docs.some((d) => d.errors.length)) return undefined
    return docs.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined)
  }
  const left = parse(a)
  const right = parse(b)
  return left !== undefined && right !== undefined && isDeepStrictEqual(left, right)
}

/**
 * The change that makes `rel` hold `desired` (null: absent), or undefined when it already does (the
 * same YAML data counts: see sameYamlData). `current` may be passed when the caller has read the
 * file already.
 */
export async function planFile(ctx: Ctx, rel: string, desired: string | null, current?: string | null): Promise<Change | undefined> {
  return fileChange(ctx, rel, current === undefined ? await readRepoFile(ctx, rel) : current, desired)
}

/**
 * The change from `before` to `desired` (null: absent), or undefined when there is none. The same
 * YAML data counts as no change unless `byteExact` (a comment line that is itself the change, such
 * as the pause mark); `why` is added to the summary.
 */
export function fileChange(ctx: Ctx, rel: string, before: string | null, desired: string | null, opts: { byteExact?: boolean; why?: string } = {}): Change | undefined {
  if (before === desired) return undefined
  if (!opts.byteExact && before !== null && desired !== null && /\.ya?ml$/.test(rel) && sameYamlData(before, desired)) return undefined
  const verb = desired === null ? 'delete' : before === null ? 'create' : 'edit'
  return {
    summary: `${verb} ${rel}${opts.why ? ` (${opts.why})` : ''}`,
    diff: unifiedDiff(rel, before, desired),
    paths: [rel],
    preview: { path: rel, content: desired },
    async apply() {
      // a symlinked file is edited where it points (the link stays); a deletion removes the link
      const real = realRepoPath(ctx.repoDir, rel, { leaf: desired !== null })
      const abs = join(ctx.repoDir, real)
      // recorded before the write, so a crash in between still knows this content is ours
      await ctx.state.recordWrite(real, desired)
      if (desired === null) await rm(abs, { force: true })
      else await writeFileAtomic(abs, desired)
    },
  }
}

/** Keeps the undefined out of a list of planned file changes. */
export function present<T>(items: (T | undefined)[]): T[] {
  return items.filter((c): c is T => c !== undefined)
}
