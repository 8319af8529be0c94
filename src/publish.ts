// Commit exactly the files the setup manages and push: the git half of task 7 (and of task 9).
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { readRepoFile } from './files.ts'
import { commitPaths, headCommit, isGitCheckout, pushBranch, removeStaleGitLocks, repoStatus, stagedPaths, type RepoStatus } from './git.ts'
import { checkoutStatus } from './run-reads.ts'
import type { Change } from './task.ts'
import { incoming, rebaseOntoWriteBack, refuseForeign } from './write-back-rebase.ts'

/** Refuses a checkout the setup cannot commit to safely. */
export function verifyBranch(ctx: Ctx, status: RepoStatus): void {
  const { branch } = ctx.settings
  if (status.branch === null)
    throw new SetupError(`the GitOps repo ${ctx.repoDir} has a detached HEAD`, `check out the branch Argo CD tracks: git -C ${ctx.repoDir} switch ${branch}`)
  if (status.branch !== branch)
    throw new SetupError(`the GitOps repo is on branch ${status.branch}, not ${branch} (GIT_BRANCH)`, `git -C ${ctx.repoDir} switch ${branch}, or set GIT_BRANCH=${status.branch} if Argo CD tracks that branch`)
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

/** Stops before anything is written when the repo is not fit for the setup commit. */
export async function verifyCommittable(ctx: Ctx, paths: string[], opts: { needsUpstream?: boolean } = {}): Promise<RepoStatus> {
  verifyGitCheckout(ctx.repoDir)
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
      `commit or stash them first (git -C ${ctx.repoDir} stash), so the setup commit holds only its own changes, then rerun`,
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
      return await pushBranch(ctx.repoDir, ctx.settings.branch)
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

/** The commit and push still needed for `paths`, as changes. */
export async function planPublish(ctx: Ctx, paths: string[], message: string): Promise<Change[]> {
  const status = await verifyCommittable(ctx, paths, { needsUpstream: true })
  const { branch } = ctx.settings
  const managed = new Set(paths)
  const dirty = status.changed.filter((f) => managed.has(f.path)).map((f) => f.path)
  // In dry-run the earlier tasks wrote nothing; what they would have written is pending too.
  const pending = [...new Set([...dirty, ...(ctx.dryRun ? paths.filter((p) => ctx.touchedPaths.has(p)) : [])])].sort()
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
        await gitWrite(ctx, 'git commit', () => commitPaths(ctx.repoDir, now.changed, message))
        await ctx.state.forgetWrites(now.changed.map((f) => f.path))
      },
    })
  }
  if (pending.length || status.ahead > 0)
    changes.push({
      summary: `git push origin ${branch}`,
      async apply() {
        await gitWrite(ctx, 'git push', () => pushOverWriteBack(ctx))
        ctx.pushedRevision = await headCommit(ctx.repoDir)
      },
    })
  return changes
}
