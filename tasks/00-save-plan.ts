// Task 0: save the plan, as this project implements it, under docs/plans/ of the GitOps repo, with
// the paths this run uses in that repo (read from the repo, so a repo laid out otherwise than the
// plan's defaults gets a plan that says where things really went).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Ctx } from '../src/context.ts'
import { planFile, present } from '../src/files.ts'
import { findImageUpdaters, imageUpdaterFor } from '../src/image-updaters.ts'
import { repoFacts, secretFile } from '../src/repo-facts.ts'
import { updatedApplication } from '../src/apps.ts'
import { updaterFile } from '../src/updater-home.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'

export const PLAN_NAME = 'argocd-image-updater.md'
const BEFORE = '\n## Task 0 — save the plan\n'

/**
 * The section that says what this run uses: one row per app, then the shared files. Only what stays
 * the same on a rerun goes in (no running tag: Image Updater changes it), so a converged repo keeps
 * its plan as it is.
 */
export async function thisRun(ctx: Ctx): Promise<string> {
  const s = ctx.settings
  const facts = await repoFacts(ctx)
  const updaters = await findImageUpdaters(ctx)
  const rows = facts.apps.map((app) => {
    const policy = `${app.policy.strategy}${app.policy.tagRegex === undefined ? '' : ` (tags \`${app.policy.tagRegex}\`)`}`
    const found = imageUpdaterFor(updaters, updatedApplication(app), s.argocdNamespace)?.file
    if (app.inPlace) {
      const iu = found ?? (facts.updaterHome ? updaterFile(facts.updaterHome, app.name) : '?')
      const wb = app.inPlace.writeBackTarget ? `, write-back to \`${app.inPlace.kustomizeImage!.file}\`` : ''
      return `| ${app.name} | \`${app.image.name}\` | \`${app.applicationFile}\` (the ${app.inPlace.source.type} Application ${app.inPlace.application.name}, unchanged) | \`${app.appPath}/\` (not moved${wb}) | \`${iu}\` | ${policy} |`
    }
    const iu = found ?? (facts.remoteApps && facts.updaterHome ? updaterFile(facts.updaterHome, app.name) : `${app.appPath}/image-updater.yaml`)
    return `| ${app.name} | \`${app.image.name}\` | \`${app.applicationFile}\` | \`${app.appPath}/\` (moved out of \`${s.manifestsDir}/${app.name}.yaml\`, which \`${s.personalServicesFile}\` synced) | \`${iu}\` | ${policy} |`
  })
  return [
    '',
    '## What this run uses in this repository',
    '',
    'Written by task 0 from the repository as the run read it; where it differs from the table above,',
    'this is what the run did.',
    '',
    '| App | Image | Its Application | Its Kustomize folder | ImageUpdater | Update policy |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '| Shared | Path |',
    '| --- | --- |',
    `| ExternalSecrets (synced by \`${(await secretFile(ctx)).startsWith(`${facts.updaterHome?.dir}/`) ? facts.updaterHome!.syncedBy : s.vaultEsoFile}\`) | \`${await secretFile(ctx)}\` |`,
    `| Image Updater's chart Application (Argo CD's cluster, namespace \`${s.argocdNamespace}\`) | \`${facts.chartApplicationFile}\` |`,
    `| chart values | \`${facts.valuesFile}\` |`,
    `| AppProject | \`${s.projectFile}\` |`,
    '',
  ].join('\n')
}

export const task: Task = {
  id: 0,
  title: 'Save the plan to docs/plans',
  scope: 'repo',
  managedPaths: (ctx) => [`${ctx.settings.planDir}/${PLAN_NAME}`],
  async plan(ctx) {
    const plan = await readFile(join(ctx.projectDir, 'docs', 'plans', PLAN_NAME), 'utf8')
    const at = plan.indexOf(BEFORE)
    const saved = at < 0 ? `${plan}${await thisRun(ctx)}` : `${plan.slice(0, at)}${await thisRun(ctx)}${plan.slice(at)}`
    return present([await planFile(ctx, `${ctx.settings.planDir}/${PLAN_NAME}`, saved)])
  },
}
export default task
await runIfMain(import.meta, task)
