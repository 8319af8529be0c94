// Commit exactly the files the setup manages and push: the git half of task 7 (and of task 9).
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { readRepoFile, realRepoPath } from './files.ts'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { commitPaths, gitDirs, headCommit, isGitCheckout, pushBranch, removeStaleGitLocks, repoStatus, sameAsHead, stagedPaths, unstage, type FileStatus, type RepoStatus } from './git.ts'
import { checkoutStatus } from './run-reads.ts'
import type { Change } from './task.ts'
import { incoming, rebaseOntoWriteBack, refuseForeign } from './write-back-rebase.ts'

/** Refuses a checkout the setup cannot commit to safely. */
export function verifyBranch(ctx: Ctx, status: RepoStatus): void {
  verifyNoGitOperation(ctx.repoDir)
  const { branch } = ctx.settings
  if (status.branch === null)
    throw new SetupError(`the GitOps repo ${ctx.repoDir} has a detached HEAD`, `check out the branch Argo CD tracks: git -C ${ctx.repoDir} switch ${branch}`)
  if (status.branch !== branch)
    throw new SetupError(`the GitOps repo is on branch ${status.branch}, not ${branch} (GIT_BRANCH)`, `git -C ${ctx.repoDir} switch ${branch}, or set GIT_BRANCH=${status.branch} if Argo CD tracks that branch`)
}

/**
 * A rebase, merge, cherry-pick, revert or am the user left half done: the checkout's HEAD and index
 * belong to it, so nothing is written until it is finished or aborted (both commands work).
 */
export function verifyNoGitOperation(repoDir: string): void {
  const dirs = gitDirs(repoDir)
  if (!dirs) return
  const has = (name: string) => existsSync(join(dirs.gitDir, name))
  const g = `git -C ${repoDir}`
  const op = has('rebase-merge') || (has('rebase-apply') && !has('rebase-apply/applying'))
    ? { what: 'a rebase', done: `${g} rebase --continue`, abort: `${g} rebase --abort` }
    : has('rebase-apply')
      ? { what: 'a git am', done: `${g} am --continue`, abort: `${g} am --abort` }
      : has('MERGE_HEAD')
        ? { what: 'a merge', done: `${g} commit --no-edit (after resolving any conflicts and git add)`, abort: `${g} merge --abort` }
        : has('CHERRY_PICK_HEAD')
          ? { what: 'a cherry-pick', done: `${g} cherry-pick --continue`, abort: `${g} cherry-pick --abort` }
          : has('REVERT_HEAD')
            ? { what: 'a revert', done: `${g} revert --continue`, abort: `${g} revert --abort` }
            : undefined
  if (op)
    throw new SetupError(
      `the GitOps repo ${repoDir} is in the middle of ${op.what}, so the setup does not touch it (nothing was changed)`,
      `finish it (${op.done}) or abort it (${op.abort}), then rerun`,
    )
}

export function verifyUpstream(ctx: Ctx, status: RepoStatus): void {
  const { branch } = ctx.settings
  if (!status.upstream)
    throw new SetupError(`branch ${branch} has no upstream, so the setup cannot tell what origin has`, `push it once with tracking: git -C ${ctx.repoDir} push -u origin ${branch}, then rerun`)
}

export function verifyGitCheckout(repoDir: string): void {
  if (!isGitCheckout(repoDir))
    throw new SetupError(`GITOPS_REPO_DIR ${repoDir} is not a git checkout`, 'point GITOPS_REPO_DIR at the root of your GitOps repository clone')
}

/**
 * Managed paths with uncommitted content this tool did not write: the user's own edits, which the
 * setup commit must not sweep in.
 */
export async function foreignEdits(ctx: Ctx, status: RepoStatus, paths: string[]): Promise<string[]> {
  const managed = new Set(paths)
  const foreign: string[] = []
  for (const f of status.changed) {
    if (!managed.has(f.path)) continue
    const content = await readRepoFile(ctx, f.path)
    if (!ctx.state.wrote(f.path, content)) foreign.push(f.path)
  }
  return foreign
}

/**
 * The paths git knows for managed `paths`: a path through a symlinked folder is where the file
 * really is, a symlinked file counts as its target (edited in place) and as the link (deleted).
 * Refuses a path that leads outside the repo.
 */
export function realManagedPaths(ctx: Ctx, paths: string[]): string[] {
  return [...new Set(paths.flatMap((p) => [realRepoPath(ctx.repoDir, p), realRepoPath(ctx.repoDir, p, { leaf: false })]))].sort()
}

/** Stops before anything is written when the repo is not fit for the setup commit. */
export async function verifyCommittable(ctx: Ctx, logicalPaths: string[], opts: { needsUpstream?: boolean } = {}): Promise<RepoStatus> {
  verifyGitCheckout(ctx.repoDir)
  const paths = realManagedPaths(ctx, logicalPaths)
  const status = await checkoutStatus(ctx)
  verifyBranch(ctx, status)
  if (opts.needsUpstream) verifyUpstream(ctx, status)
  const managed = new Set(paths)
  const unrelated = stagedPaths(status).filter((p) => !managed.has(p))
  if (unrelated.length)
    throw new SetupError(
      `the GitOps repo has staged changes the setup does not manage: ${unrelated.join(', ')}`,
      `commit them first, or unstage them (git -C ${ctx.repoDir} restore --staged ${unrelated.join(' ')}), then rerun`,
    )
  const foreign = await foreignEdits(ctx, status, paths)
  if (foreign.length)
    throw new SetupError(
      `uncommitted edits that this setup did not make in ${foreign.join(', ')}`,
      `commit them, or put them aside with git -C ${ctx.repoDir} stash push --include-untracked -- ${foreign.join(' ')} (git stash pop brings them back), so the setup commit holds only its own changes, then rerun`,
    )
  return status
}

/**
 * Pushes; when origin moved on with Image Updater's write-back commits only, rebases onto them and
 * pushes again (it may commit again meanwhile: a few tries). Other rejections keep their message.
 */
async function pushOverWriteBack(ctx: Ctx): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pushBranch(ctx.repoDir, ctx.settings.branch, Number(ctx.settings.requestTimeoutSeconds))
    } catch (err) {
      if (attempt >= 3 || !(err instanceof SetupError) || !/was rejected: the remote has commits/.test(err.message)) throw err
      if ((await rebaseOntoWriteBack(ctx)) === 0) throw err
    }
  }
}

/**
 * Runs a git command that writes to the checkout, marked in the saved state while it runs: when a
 * run is killed in the middle of it, the next run finds the mark and removes the lock files that
 * git command left (they would stop every later commit), saying so.
 */
async function gitWrite<T>(ctx: Ctx, what: string, write: () => Promise<T>): Promise<T> {
  const interrupted = ctx.state.interruptedGitWrite
  if (interrupted) {
    const removed = removeStaleGitLocks(ctx.repoDir, new Date(interrupted.startedAt))
    if (removed.length) ctx.log(`removed ${removed.join(', ')}, left by an interrupted ${interrupted.what} of an earlier run (started ${interrupted.startedAt})`)
  }
  await ctx.state.beginGitWrite(what)
  try {
    return await write()
  } finally {
    // a git failure (not a kill) leaves no lock behind; only a killed run keeps the mark
    await ctx.state.endGitWrite()
  }
}

/** The work-tree content of each path (null: absent), to see what a hook changed. */
async function contents(ctx: Ctx, paths: string[]): Promise<Map<string, string | null>> {
  return new Map(await Promise.all(paths.map(async (p) => [p, await readRepoFile(ctx, p)] as const)))
}

/**
 * Commits; when the repo's pre-commit hook refused the commit and rewrote some of the files (a
 * formatter run by the pre-commit framework does exactly that), takes its version as ours (the
 * repo's own hook made it from ours, so the next run must not blame the user for it) and commits
 * once more, as a person would. A hook that refuses again stops the run with its words.
 */
async function commitThroughHooks(ctx: Ctx, changed: FileStatus[], message: string): Promise<string> {
  const paths = changed.map((f) => f.path)
  const before = await contents(ctx, paths)
  try {
    return await commitPaths(ctx.repoDir, changed, message)
  } catch (err) {
    const after = await contents(ctx, paths)
    const rewritten = paths.filter((p) => after.get(p) !== before.get(p))
    if (rewritten.length === 0) throw err
    for (const p of rewritten) await ctx.state.recordWrite(p, after.get(p) ?? null)
    ctx.log(`the repo's pre-commit hook refused the commit and rewrote ${rewritten.join(', ')}; committing its version`)
    // the hook made the files what HEAD already has (our staged version is still in the index)
    if (await sameAsHead(ctx.repoDir, paths)) {
      await unstage(ctx.repoDir, paths)
      return headCommit(ctx.repoDir)
    }
    const again = await repoStatus(ctx.repoDir, paths)
    try {
      return await commitPaths(ctx.repoDir, again.changed, message)
    } catch (err2) {
      if (!(err2 instanceof SetupError)) throw err2
      throw new SetupError(
        `${err2.message.split('\n')[0]} (again, after the pre-commit hook rewrote ${rewritten.join(', ')})`,
        `nothing was pushed; fix what the hook reports in those files, then commit them yourself (the run pushes and deploys that commit): git -C ${ctx.repoDir} add -A -- ${paths.join(' ')} && git -C ${ctx.repoDir} commit -m ${JSON.stringify(message.split('\n')[0])}; then rerun: npx tsx scripts/run.ts`,
      )
    }
  }
}

export interface PublishOptions {
  /** runs the push (`push`) inside what the caller must do around it (save state before, undo on failure) */
  aroundPush?: (push: () => Promise<void>) => Promise<void>
}

/** The commit and push still needed for `paths`, as changes. */
export async function planPublish(ctx: Ctx, logicalPaths: string[], message: string, opts: PublishOptions = {}): Promise<Change[]> {
  const status = await verifyCommittable(ctx, logicalPaths, { needsUpstream: true })
  const { branch } = ctx.settings
  const managed = new Set(realManagedPaths(ctx, logicalPaths))
  const dirty = status.changed.filter((f) => managed.has(f.path)).map((f) => f.path)
  // In dry-run the earlier tasks wrote nothing; what they would have written is pending too.
  const wouldWrite = ctx.dryRun ? logicalPaths.filter((p) => ctx.touchedPaths.has(p)).map((p) => realRepoPath(ctx.repoDir, p)) : []
  const pending = [...new Set([...dirty, ...wouldWrite])].sort()
  const changes: Change[] = []
  if (pending.length) {
    // Image Updater's write-back commits (only .argocd-source-* files) are rebased onto at the push;
    // anything else that came in stops the run before the commit.
    if (status.behind > 0) refuseForeign(ctx, (await incoming(ctx.repoDir, branch)).files)
    changes.push({
      summary: `git commit ${pending.length} file(s): ${message.split('\n')[0]}`,
      diff: pending.map((p) => `  ${p}`).join('\n'),
      paths: pending,
      async apply() {
        const now = await repoStatus(ctx.repoDir, pending)
        if (now.changed.length === 0) return
        await gitWrite(ctx, 'git commit', () => commitThroughHooks(ctx, now.changed, message))
        await ctx.state.forgetWrites(now.changed.map((f) => f.path))
      },
    })
  }
  if (pending.length || status.ahead > 0)
    changes.push({
      summary: `git push origin ${branch}`,
      async apply() {
        const push = async () => {
          await gitWrite(ctx, 'git push', () => pushOverWriteBack(ctx))
          ctx.pushedRevision = await headCommit(ctx.repoDir)
        }
        await (opts.aroundPush ? opts.aroundPush(push) : push())
      },
    })
  return changes
}
