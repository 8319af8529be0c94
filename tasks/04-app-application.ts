// Task 4: the app's own Kustomize Application, and the ImageUpdater resource that makes Image
// Updater v1.x manage its image (annotations alone are ignored from v1.0). The resource sits in the
// app's Kustomize folder with an explicit argocd namespace and SkipDryRunOnMissingResource, because
// its CRD arrives with the chart Application (task 5).
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { repoFacts, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { appendToSequence, getAt } from '../src/yaml-edit.ts'

export const IMAGE_UPDATER_FILE = 'image-updater.yaml'

export const task: Task = {
  id: 4,
  title: 'Application and ImageUpdater resource for the app',
  scope: 'repo',
  managedPaths: (ctx) => {
    const dir = `${ctx.settings.manifestsDir}/${ctx.settings.appName}`
    return [`${ctx.settings.applicationsDir}/${ctx.settings.appName}.yaml`, `${dir}/${IMAGE_UPDATER_FILE}`, `${dir}/kustomization.yaml`]
  },
  async plan(ctx) {
    const facts = await repoFacts(ctx)
    const vars = templateVars(ctx, facts)
    const kustomizationRel = `${facts.appPath}/kustomization.yaml`
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
    return present([
      await planFile(ctx, facts.appApplicationFile, renderManifest('app-application.yaml', vars)),
      await planFile(ctx, `${facts.appPath}/${IMAGE_UPDATER_FILE}`, renderManifest('image-updater.yaml', vars, { specNamespace: facts.shape.specNamespace })),
      await planFile(ctx, kustomizationRel, appendToSequence(kustomization, kustomizationRel, ['resources'], IMAGE_UPDATER_FILE), kustomization),
    ])
  },
}
export default task
await runIfMain(import.meta, task)
