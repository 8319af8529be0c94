// Task 4: the app's own Kustomize Application, and the ImageUpdater resource that makes Image
// Updater v1.x manage its image (annotations alone are ignored from v1.0). The resource sits in the
// app's Kustomize folder with an explicit argocd namespace and SkipDryRunOnMissingResource, because
// its CRD arrives with the chart Application (task 5).
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { appNames, appPath, applicationFile, CLUSTER_SCOPED, folderDocs } from '../src/apps.ts'
import { repoFacts, templateFlags, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Change, Task } from '../src/task.ts'
import { applicationRepairs, imageUpdaterRepairs, kustomizationRepairs, planRepairs } from '../src/repairs.ts'
import { appendToSequence } from '../src/yaml-edit.ts'

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
    const ns = ctx.settings.argocdNamespace
    const changes: (Change | undefined)[] = []
    for (const app of facts.apps) {
      const vars = templateVars(ctx, facts, app)
      const kustomizationRel = `${app.appPath}/kustomization.yaml`
      const kustomization = await readRepoFile(ctx, kustomizationRel)
      if (kustomization === null) throw new SetupError(`${kustomizationRel} does not exist yet`, 'run task 3 first (npx tsx scripts/run.ts --from 3)')
      const docs = ((await folderDocs(ctx, app.appPath)) ?? []).map((d) => ({ kind: d.kind, name: d.name, namespace: d.namespace, clusterScoped: CLUSTER_SCOPED.has(d.kind ?? '') }))
      // The Application and the ImageUpdater are written once; after that they are the user's, and
      // only what the setup needs is checked and repaired (src/repairs.ts).
      const application = await readRepoFile(ctx, app.applicationFile)
      changes.push(
        application === null
          ? await planFile(ctx, app.applicationFile, renderManifest('app-application.yaml', vars), null)
          : await planRepairs(ctx, app.applicationFile, application, applicationRepairs(application, app.applicationFile, { app, appPath: app.appPath })),
      )
      const iuRel = `${app.appPath}/${IMAGE_UPDATER_FILE}`
      const iu = await readRepoFile(ctx, iuRel)
      changes.push(
        iu === null
          ? explained(await planFile(ctx, iuRel, renderManifest('image-updater.yaml', vars, templateFlags(facts, app)), null), `${app.policy.strategy} for ${app.image.name}: ${app.policy.why}`)
          : await planRepairs(ctx, iuRel, iu, imageUpdaterRepairs(iu, iuRel, { app, argocdNamespace: ns, shape: facts.shape, branch: ctx.settings.branch })),
      )
      changes.push(
        await planRepairs(ctx, kustomizationRel, kustomization, [
          ...kustomizationRepairs(kustomization, kustomizationRel, { argocdNamespace: ns, destination: app.namespace, docs }),
          { reason: `resources lists ${IMAGE_UPDATER_FILE}`, routine: true, edit: (t) => appendToSequence(t, kustomizationRel, ['resources'], IMAGE_UPDATER_FILE) },
        ]),
      )
    }
    return present(changes)
  },
}
export default task
await runIfMain(import.meta, task)
