// Task 0: save the plan, as this project implements it, under docs/plans/ of the GitOps repo.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { planFile, present } from '../src/files.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'

export const PLAN_NAME = 'argocd-image-updater.md'

export const task: Task = {
  id: 0,
  title: 'Save the plan to docs/plans',
  scope: 'repo',
  managedPaths: (ctx) => [`${ctx.settings.planDir}/${PLAN_NAME}`],
  async plan(ctx) {
    const plan = await readFile(join(ctx.projectDir, 'docs', 'plans', PLAN_NAME), 'utf8')
    return present([await planFile(ctx, `${ctx.settings.planDir}/${PLAN_NAME}`, plan)])
  },
}
export default task
await runIfMain(import.meta, task)
