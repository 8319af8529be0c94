// What the CLI does for a full run, in its order, in process (for the cluster tests): each change's
// summary goes to `output`, its paths into ctx.touchedPaths, then it is applied.
import type { Ctx } from '../src/context.ts'
import type { Change, Task } from '../src/task.ts'
import { planPublish } from '../src/publish.ts'
import { clusterPreflight } from '../src/cluster/preflight.ts'
import { planDeploy, planPrePush } from '../src/cluster/deploy.ts'
import vaultTask from '../tasks/01-vault-token.ts'
import verifyTask from '../tasks/08-verify.ts'
import settleTask from '../tasks/09-settle-log-level.ts'
import { REPO_TASKS, commitMessage, managedPaths } from '../tasks/07-commit-and-deploy.ts'

export async function applyAll(ctx: Ctx, changes: Change[], output: string[]): Promise<string[]> {
  for (const c of changes) {
    output.push(c.summary)
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    await c.apply()
  }
  return changes.map((c) => c.summary)
}

/** Every task of a full run (task 9 too unless `settle: false`); the summaries of what changed. */
export async function fullRun(ctx: Ctx, output: string[], opts: { settle?: boolean } = {}): Promise<string[]> {
  const runTask = async (t: Task) => applyAll(ctx, await t.plan(ctx), output)
  const done: string[] = []
  await clusterPreflight(ctx)
  done.push(...(await runTask(vaultTask)))
  for (const t of REPO_TASKS) done.push(...(await runTask(t)))
  done.push(...(await applyAll(ctx, await planPrePush(ctx), output)))
  done.push(...(await applyAll(ctx, await planPublish(ctx, managedPaths(ctx), commitMessage(ctx)), output)))
  done.push(...(await applyAll(ctx, await planDeploy(ctx), output)))
  done.push(...(await runTask(verifyTask)))
  if (opts.settle !== false) done.push(...(await runTask(settleTask)))
  return done
}
