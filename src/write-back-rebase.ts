// Image Updater's write-back commits land on origin after ours: after its first update, origin is
// ahead of the checkout and a plain push of the next setup commit (task 9) is refused. It only ever
// writes `.argocd-source-<app>.yaml` files, so when those are all that came in, the setup fetches
// and rebases its own commit onto them (never a merge, never a force push) and says so. Anything
// else on origin is the user's to integrate: the setup stops with the files and the fix.
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { gitRun, networkLimits } from './git.ts'

const WRITE_BACK_FILE = /(^|\/)\.argocd-source-[^/]+\.ya?ml$/

/** local git commands (a rebase of a large checkout may take a while) */
const git = (repoDir: string, args: string[]) => gitRun(repoDir, args, 60_000)

/** Fetches origin's branch, bounded like the push (REQUEST_TIMEOUT_SECONDS without progress). */
async function fetchBranch(ctx: Ctx): Promise<void> {
  const { branch, requestTimeoutSeconds } = ctx.settings
  const limits = networkLimits(Number(requestTimeoutSeconds))
  try {
    await gitRun(ctx.repoDir, ['fetch', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], limits.totalMs, limits.env)
  } catch (err) {
    const e = err as { killed?: boolean; stderr?: string; message?: string }
    const lines = String(e.stderr || e.message || err).trim().split('\n')
    const why = e.killed ? `no answer within ${limits.totalMs / 1000}s` : (lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0])
    throw new SetupError(
      `origin/${branch} took Image Updater's write-back commits, so the push was refused, and fetching them failed (${why}); nothing was pushed`,
      `check that origin answers: git -C ${ctx.repoDir} fetch origin ${branch}; then rerun (the setup rebases its commit onto the write-back commits)`,
    )
  }
}

export const isWriteBackFile = (path: string) => WRITE_BACK_FILE.test(path)

/** Commits on origin/<branch> (as last fetched) that HEAD lacks, and the files they touch. */
export async function incoming(repoDir: string, branch: string): Promise<{ commits: number; files: string[] }> {
  const range = `HEAD..refs/remotes/origin/${branch}`
  const commits = Number((await git(repoDir, ['rev-list', '--count', range])).stdout.trim())
  if (!commits) return { commits: 0, files: [] }
  const files = (await git(repoDir, ['log', '--format=', '--name-only', range])).stdout.split('\n').filter(Boolean)
  return { commits, files: [...new Set(files)].sort() }
}

/** Stops unless every incoming file is an Image Updater write-back file. */
export function refuseForeign(ctx: Ctx, files: string[]): void {
  const foreign = files.filter((f) => !isWriteBackFile(f))
  if (foreign.length)
    throw new SetupError(
      `origin/${ctx.settings.branch} has commits this checkout does not, and they change more than Image Updater's .argocd-source-* files: ${foreign.join(', ')}`,
      `integrate them yourself: commit or stash your own edits, run git -C ${ctx.repoDir} pull --rebase origin ${ctx.settings.branch}, then rerun`,
    )
}

/**
 * Fetches origin's branch and rebases the checkout's commits onto it when only write-back files came
 * in (`--autostash` keeps the user's uncommitted edits, which cannot overlap those files). Returns
 * how many commits it rebased onto; throws with cause and fix otherwise.
 */
export async function rebaseOntoWriteBack(ctx: Ctx): Promise<number> {
  const { branch } = ctx.settings
  const { repoDir } = ctx
  await fetchBranch(ctx)
  const { commits, files } = await incoming(repoDir, branch)
  if (!commits) return 0
  refuseForeign(ctx, files)
  const dirty = (await git(repoDir, ['status', '--porcelain', '--', ...files])).stdout.trim()
  if (dirty)
    throw new SetupError(`uncommitted edits in ${files.join(', ')}, which Image Updater changed on origin`, `commit or discard them (git -C ${repoDir} restore ${files.join(' ')}), then rerun`)
  try {
    await git(repoDir, ['rebase', '--autostash', '--quiet', `refs/remotes/origin/${branch}`])
  } catch (err) {
    await git(repoDir, ['rebase', '--abort']).catch(() => {})
    const why = String((err as { stderr?: string }).stderr ?? err).trim().split('\n').slice(-1)[0]
    throw new SetupError(`rebasing the setup commit onto origin/${branch} failed (${why}); the checkout is back where it was`, `git -C ${repoDir} pull --rebase origin ${branch}, resolve what git names, then rerun`)
  }
  ctx.log(`origin/${branch} had ${commits} commit(s) by Image Updater's write-back (${files.join(', ')}): rebased the setup commit onto them (no merge, no force push)`)
  return commits
}
