// Git, through zx shell calls, quiet (child output reaches the user only through task messages).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { $, type ProcessOutput } from 'zx'
import { SetupError } from './errors.ts'

export interface FileStatus {
  path: string
  /** porcelain v2 XY: index and worktree state ('.' = unchanged), '??' for untracked */
  xy: string
}

export interface RepoStatus {
  /** null when HEAD is detached */
  branch: string | null
  /** e.g. origin/main; undefined when the branch has no upstream */
  upstream?: string
  ahead: number
  behind: number
  /** undefined before the first commit */
  head?: string
  changed: FileStatus[]
}

function git(repoDir: string) {
  // GIT_TERMINAL_PROMPT=0: a push that needs credentials fails fast instead of waiting on a prompt
  // nobody sees behind the renderer.
  // stdin 'ignore': zx runs each command through bash, and bash started with a socket on stdin and
  // no SHLVL (the runner launched from cron, CI or another program) takes itself for an rsh session
  // and sources ~/.bashrc: the user's rc (pyenv init, say) then runs for every git call, and a run
  // killed mid-way can leave that rc's locks behind, hanging every later git call. No git command
  // here reads stdin.
  return $({ cwd: repoDir, quiet: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } })
}

export function isGitCheckout(dir: string): boolean {
  return existsSync(join(dir, '.git'))
}

/** Branch, upstream, ahead/behind and changed files in one child process. */
export async function repoStatus(repoDir: string, paths: string[] = []): Promise<RepoStatus> {
  const out = (await git(repoDir)`git status --porcelain=v2 --branch -z --no-renames --untracked-files=all -- ${paths}`).stdout
  const status: RepoStatus = { branch: null, ahead: 0, behind: 0, changed: [] }
  const records = out.split('\0')
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]
    if (!rec) continue
    if (rec.startsWith('# branch.oid ')) {
      const oid = rec.slice('# branch.oid '.length)
      if (oid !== '(initial)') status.head = oid
    } else if (rec.startsWith('# branch.head ')) {
      const head = rec.slice('# branch.head '.length)
      status.branch = head === '(detached)' ? null : head
    } else if (rec.startsWith('# branch.upstream ')) status.upstream = rec.slice('# branch.upstream '.length)
    else if (rec.startsWith('# branch.ab ')) {
      const m = /\+(\d+) -(\d+)/.exec(rec)
      if (m) [status.ahead, status.behind] = [Number(m[1]), Number(m[2])]
    } else if (rec.startsWith('1 ')) status.changed.push({ xy: rec.slice(2, 4), path: rec.split(' ').slice(8).join(' ') })
    else if (rec.startsWith('2 ')) {
      // rename: the original path follows as its own NUL-separated record
      status.changed.push({ xy: rec.slice(2, 4), path: rec.split(' ').slice(9).join(' ') })
      i++
    } else if (rec.startsWith('u ')) status.changed.push({ xy: rec.slice(2, 4), path: rec.split(' ').slice(10).join(' ') })
    else if (rec.startsWith('? ')) status.changed.push({ xy: '??', path: rec.slice(2) })
  }
  return status
}

/** Files staged in the index (X not '.'), untracked excluded. */
export function stagedPaths(status: RepoStatus): string[] {
  return status.changed.filter((f) => f.xy !== '??' && f.xy[0] !== '.').map((f) => f.path)
}

/**
 * Commits exactly `paths` (new, changed or deleted), leaving any other staged or unstaged change of
 * the user where it is. Returns the new commit.
 */
export async function commitPaths(repoDir: string, changed: FileStatus[], message: string): Promise<string> {
  const g = git(repoDir)
  const paths = changed.map((f) => f.path)
  // Only what differs in the work tree needs adding; a change already staged (say the deletion of a
  // file, after an earlier commit attempt failed) would make `git add` fail on a missing path.
  const toAdd = changed.filter((f) => f.xy === '??' || f.xy[1] !== '.').map((f) => f.path)
  try {
    if (toAdd.length) await g`git add -A -- ${toAdd}`
    await g`git commit --quiet --only -m ${message} -- ${paths}`
  } catch (err) {
    const stderr = (err as ProcessOutput).stderr ?? String(err)
    if (/tell me who you are|unable to auto-detect email/i.test(stderr))
      throw new SetupError('git has no author identity in the GitOps repo', `set one: git -C ${repoDir} config user.name "Your Name" && git -C ${repoDir} config user.email you@example.com`)
    throw new SetupError(`git commit failed: ${stderr.trim()}`, 'fix the problem git names above and rerun; nothing was pushed')
  }
  return (await g`git rev-parse HEAD`).stdout.trim()
}

/** Pushes HEAD to `branch` on origin. A rejection becomes a SetupError that says what to do. */
export async function pushBranch(repoDir: string, branch: string): Promise<void> {
  try {
    await git(repoDir)`git push --porcelain origin ${`HEAD:refs/heads/${branch}`}`
  } catch (err) {
    const out = `${(err as ProcessOutput).stdout ?? ''}\n${(err as ProcessOutput).stderr ?? String(err)}`
    if (/\[rejected\]|non-fast-forward|fetch first/.test(out))
      throw new SetupError(`git push to origin/${branch} was rejected: the remote has commits this checkout does not`, `run git -C ${repoDir} pull --rebase origin ${branch}, then rerun (the setup resumes at the push)`)
    if (/Authentication failed|could not read Username|Permission denied|403/.test(out))
      throw new SetupError(`git push to origin/${branch} was refused: no permission`, 'check the credentials git uses for origin (git push by hand once), then rerun')
    throw new SetupError(`git push to origin/${branch} failed: ${out.trim().split('\n').slice(-3).join(' ')}`, 'check that origin is reachable (git fetch origin), then rerun')
  }
}

/** URL of a remote, or undefined. */
export async function remoteUrl(repoDir: string, remote = 'origin'): Promise<string | undefined> {
  try {
    return (await git(repoDir)`git remote get-url ${remote}`).stdout.trim() || undefined
  } catch {
    return undefined
  }
}

export async function headCommit(repoDir: string): Promise<string> {
  return (await git(repoDir)`git rev-parse HEAD`).stdout.trim()
}

/**
 * Lock files git leaves in a checkout when it is killed mid-write (`index.lock`, `HEAD.lock`,
 * `packed-refs.lock`, ref locks, `--only` commits' temporary `next-index-*.lock`), created at or
 * after `since`. Any git command that writes stops on them until they are removed.
 */
export function staleGitLocks(repoDir: string, since: Date): string[] {
  const gitDir = join(repoDir, '.git')
  const found: string[] = []
  const consider = (abs: string) => {
    try {
      // a second of slack: file times and the saved start time come from different clocks' rounding
      if (statSync(abs).mtimeMs >= since.getTime() - 1000) found.push(abs)
    } catch {
      // gone meanwhile
    }
  }
  if (!existsSync(gitDir)) return found
  for (const name of readdirSync(gitDir)) if (name.endsWith('.lock')) consider(join(gitDir, name))
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name)
      if (e.isDirectory()) walk(abs)
      else if (e.name.endsWith('.lock')) consider(abs)
    }
  }
  walk(join(gitDir, 'refs'))
  return found.map((abs) => relative(repoDir, abs))
}

/** Removes the lock files `staleGitLocks` found; returns their repo-relative paths. */
export function removeStaleGitLocks(repoDir: string, since: Date): string[] {
  const stale = staleGitLocks(repoDir, since)
  for (const rel of stale) rmSync(join(repoDir, rel), { force: true })
  return stale
}
