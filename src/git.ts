// Git, through zx shell calls, quiet (child output reaches the user only through task messages).
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { $, type ProcessOutput } from 'zx/core'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
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

/**
 * For git's network calls (push): a transfer slower than 1 byte/s for `seconds` is aborted by git
 * itself over http(s) (GIT_HTTP_LOW_SPEED_*), and the whole command (with its helpers: zx kills the
 * process tree) by a process timeout, which also covers ssh and a server that never answers.
 */
export function networkLimits(seconds: number): { env: Record<string, string>; totalMs: number } {
  return { env: { GIT_HTTP_LOW_SPEED_LIMIT: '1', GIT_HTTP_LOW_SPEED_TIME: String(seconds) }, totalMs: seconds * 2000 }
}

/**
 * The environment of every git command this tool runs.
 * GIT_TERMINAL_PROMPT=0: a push that needs credentials fails fast instead of waiting on a prompt
 * nobody sees behind the renderer.
 * GIT_OPTIONAL_LOCKS=0: a read such as `git status` otherwise takes `.git/index.lock` to refresh the
 * index on the side; a run killed during that read left the lock behind with no write of ours in
 * progress, and the next run's commit stopped on it. Only our marked writes (see publish.ts
 * gitWrite) may take git's locks.
 */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C', ...extra }
}

const execFileAsync = promisify(execFile)

/**
 * One git command with its arguments as given (no shell) and the environment above, bounded by
 * `timeoutMs`: for callers that read stdout or the exit code themselves. Rejects with the
 * child's error (`code` is git's exit code).
 */
export function gitRun(repoDir: string, args: string[], timeoutMs = 20_000, extraEnv: Record<string, string> = {}) {
  return execFileAsync('git', args, { cwd: repoDir, timeout: timeoutMs, env: gitEnv(extraEnv) })
}

function git(repoDir: string, network?: { seconds: number }) {
  if (network) {
    const limits = networkLimits(network.seconds)
    return $({ cwd: repoDir, quiet: true, stdio: ['ignore', 'pipe', 'pipe'], timeout: limits.totalMs, env: gitEnv(limits.env) })
  }
  // stdin 'ignore': zx runs each command through bash, and bash started with a socket on stdin and
  // no SHLVL (the runner launched from cron, CI or another program) takes itself for an rsh session
  // and sources ~/.bashrc: the user's rc (pyenv init, say) then runs for every git call, and a run
  // killed mid-way can leave that rc's locks behind, hanging every later git call. No git command
  // here reads stdin.
  return $({ cwd: repoDir, quiet: true, stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv() })
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

/** True when the work tree's `paths` are what HEAD has (index aside). */
export async function sameAsHead(repoDir: string, paths: string[]): Promise<boolean> {
  try {
    await git(repoDir)`git diff --quiet HEAD -- ${paths}`
    return true
  } catch {
    return false
  }
}

/** Puts the index of `paths` back to HEAD's (the work tree is left as it is). */
export async function unstage(repoDir: string, paths: string[]): Promise<void> {
  await git(repoDir)`git reset --quiet -- ${paths}`
}

/**
 * Pushes HEAD to `branch` on origin. A rejection becomes a SetupError that says what to do. A push
 * that times out or cannot connect is tried again (pushing the same commit twice is harmless), up
 * to `attempts` times; each attempt is bounded (see networkLimits).
 */
export async function pushBranch(repoDir: string, branch: string, timeoutSeconds = 30, attempts = 2): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(repoDir, { seconds: timeoutSeconds })`git push --porcelain origin ${`HEAD:refs/heads/${branch}`}`
      return
    } catch (err) {
      const po = err as ProcessOutput
      const out = `${po.stdout ?? ''}\n${po.stderr ?? String(err)}`
      const timedOut = po.signal === 'SIGTERM' || /too slow|timed out|Connection timed out|Operation timed out/i.test(out)
      if (timedOut && attempt < attempts) continue
      if (timedOut)
        throw new SetupError(
          `git push to origin/${branch} got no answer: ${attempts} attempts, each stopped after ${timeoutSeconds}s without progress (or ${networkLimits(timeoutSeconds).totalMs / 1000}s in all)`,
          `check that origin answers (git -C ${repoDir} push --dry-run origin ${branch} by hand), or raise REQUEST_TIMEOUT_SECONDS for a slow link, then rerun (the setup resumes at the push)`,
        )
      if (/\[rejected\]|non-fast-forward|fetch first/.test(out))
        throw new SetupError(`git push to origin/${branch} was rejected: the remote has commits this checkout does not`, `run git -C ${repoDir} pull --rebase origin ${branch}, then rerun (the setup resumes at the push)`)
      if (/\[remote rejected\]/.test(out)) {
        // a server-side hook or branch protection: its reason is in the remote: lines
        const reason = /\[remote rejected\][^(]*\(([^)]*)\)/.exec(out)?.[1] ?? 'refused'
        const remote = out.split('\n').filter((l) => l.startsWith('remote:')).map((l) => l.slice(7).trim()).filter(Boolean).slice(-3).join(' ')
        throw new SetupError(
          `origin refused the push to ${branch} (${reason})${remote ? `: ${remote}` : ''}; the commit stays in the checkout`,
          `do what origin's message asks, or have its owner allow the push (branch protection, server hook), then rerun: the setup resumes at the push`,
        )
      }
      if (/Authentication failed|could not read Username|Permission denied|403/.test(out))
        throw new SetupError(`git push to origin/${branch} was refused: no permission`, 'check the credentials git uses for origin (git push by hand once), then rerun')
      throw new SetupError(`git push to origin/${branch} failed: ${out.trim().split('\n').slice(-3).join(' ')}`, 'check that origin is reachable (git fetch origin), then rerun')
    }
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

export interface GitDirs {
  /** this checkout's own git dir: `.git`, or `<main>/.git/worktrees/<name>` for a linked worktree */
  gitDir: string
  /** the dir shared by all worktrees (refs, packed-refs, config): `git rev-parse --git-common-dir` */
  commonDir: string
}

/**
 * What `git rev-parse --absolute-git-dir` and `--git-common-dir` print, read from the files git
 * itself reads (`.git` is a folder, or a file `gitdir: <path>` in a linked worktree or submodule;
 * a worktree's git dir names the shared one in `commondir`), so no git process is started.
 */
export function gitDirs(repoDir: string): GitDirs | undefined {
  const dotGit = join(repoDir, '.git')
  let gitDir = dotGit
  try {
    if (statSync(dotGit).isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'))
      if (!m) return undefined
      gitDir = resolve(repoDir, m[1])
    }
  } catch {
    return undefined
  }
  let commonDir = gitDir
  try {
    commonDir = resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim())
  } catch {
    // no commondir file: the git dir is the common one
  }
  return { gitDir, commonDir }
}

/**
 * Lock files git leaves when it is killed mid-write (`index.lock`, `HEAD.lock`, `packed-refs.lock`,
 * ref locks, `--only` commits' temporary `next-index-*.lock`), created at or after `since`, as
 * absolute paths. A linked worktree keeps its index and HEAD in its own git dir and shares refs with
 * the main checkout, so both are searched. Any git command that writes stops on them until removed.
 */
export function staleGitLocks(repoDir: string, since: Date): string[] {
  const dirs = gitDirs(repoDir)
  const found = new Set<string>()
  const consider = (abs: string) => {
    try {
      // a second of slack: file times and the saved start time come from different clocks' rounding
      if (statSync(abs).mtimeMs >= since.getTime() - 1000) found.add(abs)
    } catch {
      // gone meanwhile
    }
  }
  if (!dirs) return []
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name)
      if (e.isDirectory()) walk(abs)
      else if (e.name.endsWith('.lock')) consider(abs)
    }
  }
  for (const dir of new Set([dirs.gitDir, dirs.commonDir])) {
    for (const name of readdirSync(dir)) if (name.endsWith('.lock') && name !== SETUP_LOCK_NAME) consider(join(dir, name))
    walk(join(dir, 'refs'))
  }
  return [...found]
}

/** The run lock's file name, in the repo's common git dir (never one of git's own locks). */
export const SETUP_LOCK_NAME = 'image-updater-setup.lock'

/** Removes the lock files `staleGitLocks` found; returns their absolute paths. */
export function removeStaleGitLocks(repoDir: string, since: Date): string[] {
  const stale = staleGitLocks(repoDir, since)
  for (const abs of stale) rmSync(abs, { force: true })
  return stale
}
