// What origin has: the branch head Argo CD will sync, and whether an app's revision contains ours.
// Read-only git (ls-remote, fetch of the tracked branch); credentials never on a command line.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { gitRun as git } from '../git.ts'
import { checkoutStatus } from '../run-reads.ts'

// Answers about history that cannot change once known (a commit's ancestry, the last commit before
// a given commit that touched some paths), asked again and again by tasks 7, 8 and 9: each answer
// is one git process, so it is kept. Keys hold full commit ids only, never branch names.
const ancestry = new Map<string, boolean>()
const lastChangeAnswers = new Map<string, string>()
const FULL_SHA = /^[0-9a-f]{40}$/

/** The commit origin's `branch` points at; a SetupError when origin cannot be reached. */
export async function originHead(repoDir: string, branch: string): Promise<string> {
  let out: string
  try {
    out = (await git(repoDir, ['ls-remote', '--exit-code', 'origin', `refs/heads/${branch}`])).stdout
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').slice(-1)[0]
    if ((err as { code?: unknown }).code === 2)
      throw new SetupError(`origin has no branch ${branch}`, `push it: git -C ${repoDir} push -u origin ${branch}`)
    throw new SetupError(`origin of ${repoDir} is not reachable: ${stderr}`, `check the remote and your credentials: git -C ${repoDir} fetch origin`)
  }
  const sha = out.split(/\s/)[0]
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new SetupError(`unexpected git ls-remote output for origin ${branch}`, `run git -C ${repoDir} ls-remote origin ${branch} by hand`)
  return sha
}

/**
 * origin's branch head as first read in this run (the preflight reads it). Every Application must
 * reach at least that commit; a later write-back commit by Image Updater does not change what this
 * run waits for, and after our own push the pushed commit is used instead (ctx.pushedRevision).
 */
const headOfRun = new WeakMap<Ctx, Promise<string>>()
export function originHeadOfRun(ctx: Ctx): Promise<string> {
  let head = headOfRun.get(ctx)
  if (!head) {
    head = originHead(ctx.repoDir, ctx.settings.branch)
    headOfRun.set(ctx, head)
    head.catch(() => headOfRun.delete(ctx))
  }
  return head
}

/**
 * True when `rev` is `ours` or a later commit on top of it (Image Updater's write-back commits land
 * after ours, and Argo CD then syncs those). Fetches the branch once when `rev` is not known locally.
 */
export async function containsCommit(repoDir: string, branch: string, ours: string, rev: string): Promise<boolean> {
  if (!rev) return false
  if (rev === ours) return true
  if (!/^[0-9a-f]{7,40}$/.test(rev)) return false
  const ancestor = async () => {
    try {
      await git(repoDir, ['merge-base', '--is-ancestor', ours, rev])
      return true
    } catch (err) {
      // exit 1: not an ancestor; anything else (unknown object): unknown
      return (err as { code?: unknown }).code === 1 ? false : undefined
    }
  }
  const key = `${repoDir}\0${ours}\0${rev}`
  const known = ancestry.get(key)
  if (known !== undefined) return known
  const remember = (answer: boolean) => {
    if (FULL_SHA.test(ours) && FULL_SHA.test(rev)) ancestry.set(key, answer)
    return answer
  }
  const first = await ancestor()
  if (first !== undefined) return remember(first)
  try {
    // objects only: no remote-tracking ref, no FETCH_HEAD, so a run killed mid-fetch leaves no ref
    // lock for the next run's fetch or push to stop on
    await git(repoDir, ['fetch', '--quiet', '--no-write-fetch-head', '--refmap=', 'origin', `refs/heads/${branch}`])
  } catch {
    return false
  }
  const second = await ancestor()
  return second === undefined ? false : remember(second)
}

/**
 * The commit the Applications must have reached: the one pushed in this run, else the checkout's
 * HEAD when origin has it (Image Updater's write-back commits land on origin after ours, and Argo CD
 * picks them up on its own schedule), else origin's branch head.
 */
export async function setupRevision(ctx: Ctx): Promise<string> {
  const { repoDir } = ctx
  const { branch } = ctx.settings
  if (ctx.pushedRevision) return ctx.pushedRevision
  const head = await originHeadOfRun(ctx)
  // HEAD as the run's one `git status` reports it (branch.oid)
  let local: string | undefined
  try {
    local = (await checkoutStatus(ctx)).head
  } catch {
    return head
  }
  if (!local || local === head) return head
  return (await containsCommit(repoDir, branch, local, head)) ? local : head
}

const lastChangeKey = (repoDir: string, rev: string, paths: string[]) => `${repoDir}\0${rev}\0${paths.join('\0')}`

/** Does `file` (repo-relative) fall under the pathspec `spec` (a file or a folder, no globs)? */
const under = (file: string, spec: string) => {
  const s = spec.replace(/^\.\/|\/+$/g, '')
  return s === '' || s === '.' || file === s || file.startsWith(`${s}/`)
}

/**
 * lastChange for several path sets at once, from one `git log` over all of them (the Applications of
 * a deploy or a verify): each set's answer is the newest listed commit that touched one of its paths.
 * Every commit listed is an ancestor of `rev`, so containsCommit(answer, rev) is known too. Sets with
 * glob characters are left to lastChange.
 */
export async function lastChanges(repoDir: string, rev: string, pathSets: string[][]): Promise<void> {
  if (!FULL_SHA.test(rev)) return
  const sets = pathSets.filter((p) => p.length && !p.some((x) => /[*?[\]:]/.test(x)) && !lastChangeAnswers.has(lastChangeKey(repoDir, rev, p)))
  if (sets.length === 0) return
  let out: string
  try {
    out = (await git(repoDir, ['log', '--format=%x00%H', '--name-only', '--no-renames', rev, '--', ...new Set(sets.flat())], 20_000)).stdout
  } catch {
    return
  }
  const commits = out.split('\0').filter(Boolean).map((rec) => {
    const [sha, ...files] = rec.split('\n').filter(Boolean)
    return { sha: sha!, files }
  })
  // a merge lists no files here, so which set it changed is unknown: leave such histories to lastChange
  if (commits.some((c) => c.files.length === 0)) return
  for (const paths of sets) {
    const hit = commits.find((c) => c.files.some((f) => paths.some((p) => under(f, p))))
    // no commit touched these paths: the answer is rev itself, as lastChange gives it
    lastChangeAnswers.set(lastChangeKey(repoDir, rev, paths), hit?.sha ?? rev)
    if (hit) ancestry.set(`${repoDir}\0${hit.sha}\0${rev}`, true)
  }
}

/**
 * The last commit at or before `rev` that changed any of `paths`: an Application that reads only
 * those paths is up to date once it has this commit, even if later commits touched other files.
 */
export async function lastChange(repoDir: string, rev: string, paths: string[]): Promise<string> {
  if (paths.length === 0) return rev
  const key = lastChangeKey(repoDir, rev, paths)
  const known = lastChangeAnswers.get(key)
  if (known) return known
  try {
    const out = (await git(repoDir, ['log', '-1', '--format=%H', rev, '--', ...paths])).stdout.trim()
    if (out && FULL_SHA.test(rev)) lastChangeAnswers.set(key, out)
    return out || rev
  } catch {
    return rev
  }
}
