// Task 8: verify for real that Image Updater will update the app: controller up, secrets right,
// Applications Synced and Healthy at our commit, the ImageUpdater resource matching the app, and a
// controller log free of the lines of a setup that idles forever. Any failed check fails the task.
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { SetupError } from '../src/errors.ts'
import { formatNotYet, formatResult, runVerify } from '../src/cluster/verify.ts'

export const task: Task = {
  id: 8,
  title: 'Verify that Image Updater manages the app',
  scope: 'cluster',
  verifies: true,
  async plan(ctx) {
    // dry-run looks once (nothing was deployed yet); a real run waits for converging conditions
    const waitMs = ctx.dryRun ? 0 : Number(ctx.settings.syncTimeoutSeconds) * 1000
    const results = await runVerify(ctx, { waitMs })
    // a dry run before tasks with pending changes: the checks wait for those changes, nothing failed
    const before = ctx.dryRun ? (ctx.pendingTasks ?? []) : []
    for (const r of results) (ctx.note ?? ctx.log)(before.length ? formatNotYet(r) : formatResult(r))
    const failed = results.filter((r) => !r.ok)
    if (failed.length === 0) return []
    if (ctx.dryRun)
      return [
        {
          summary: before.length
            ? `verify once the changes of task(s) ${before.join(', ')} are made: ${failed.length} of ${results.length} checks do not pass yet (${failed.map((r) => r.name).join(', ')})`
            : `verify: ${failed.length} of ${results.length} checks fail now (${failed.map((r) => r.name).join(', ')})`,
          async apply() {},
        },
      ]
    throw new SetupError(
      `verification failed: ${failed.length} of ${results.length} checks\n${failed.map((r) => `  ${formatResult(r)}`).join('\n')}`,
      'fix the failed checks (hints above), then rerun: npx tsx scripts/run.ts --from 8',
    )
  },
}
export default task
await runIfMain(import.meta, task)
