// Task 4: the app's own Kustomize Application, and the ImageUpdater resource that makes Image
// Updater v1.x manage its image (annotations alone are ignored from v1.0). The resource sits in the
// app's Kustomize folder with an explicit argocd namespace and SkipDryRunOnMissingResource, because
// its CRD arrives with the chart Application (task 5).
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { appNames, appPath, applicationFile } from '../src/apps.ts'
import { repoFacts, templateFlags, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Change, Task } from '../src/task.ts'
import { appendToSequence, getAt } from '../src/yaml-edit.ts'

export const IMAGE_UPDATER_FILE = 'image-updater.yaml'

/** The change with the reason for its update policy, so --dry-run says why. */
function explained(change: Change | undefined, why: string): Change | undefined {
  return change && { ...change, summary: `${change.summary} (${why})` }
}

export const task: Task = {
  id: 4,
  title: 'Application and ImageUpdater resource for each app',
  scope: 'repo',
  managedPaths: (ctx) =>
    appNames(ctx.settings).flatMap((name) => [applicationFile(ctx.settings, name), `${appPath(ctx.settings, name)}/${IMAGE_UPDATER_FILE}`, `${appPath(ctx.settings, name)}/kustomization.yaml`]),
  async plan(ctx) {
    const facts = await repoFacts(ctx)
    const changes: (Change | undefined)[] = []
    for (const app of facts.apps) {
    const vars = templateVars(ctx, facts, app)
    const kustomizationRel = `${app.appPath}/kustomization.yaml`
    const kustomization = await readRepoFile(ctx, kustomizationRel)
    if (kustomization === null) throw new SetupError(`${kustomizationRel} does not exist yet`, 'run task 3 first (npx tsx scripts/run.ts --from 3)')
    {
      const { value, line } = getAt(kustomization, kustomizationRel, ['namespace'])
      if (value !== undefined && value !== ctx.settings.argocdNamespace)
        throw new SetupError(
          `${kustomizationRel}:${line}: a top-level namespace (${String(value)}) would move the ImageUpdater resource out of ${ctx.settings.argocdNamespace}, where Image Updater looks for it`,
          `remove the namespace: line (the Deployment and Service carry their own namespace), then rerun`,
        )
    }
    changes.push(
      await planFile(ctx, app.applicationFile, renderManifest('app-application.yaml', vars)),
      explained(await planFile(ctx, `${app.appPath}/${IMAGE_UPDATER_FILE}`, renderManifest('image-updater.yaml', vars, templateFlags(facts, app))), `${app.policy.strategy} for ${app.image.name}: ${app.policy.why}`),
      await planFile(ctx, kustomizationRel, appendToSequence(kustomization, kustomizationRel, ['resources'], IMAGE_UPDATER_FILE), kustomization),
    )
    }
    return present(changes)
  },
}
export default task
await runIfMain(import.meta, task)
