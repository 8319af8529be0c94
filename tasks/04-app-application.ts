// Task 4: the app's own Kustomize Application, and the ImageUpdater resource that makes Image
// Updater v1.x manage its image (annotations alone are ignored from v1.0). The resource sits in the
// app's Kustomize folder with an explicit argocd namespace and SkipDryRunOnMissingResource, because
// its CRD arrives with the chart Application (task 5).
import type { Ctx } from '../src/context.ts'
import { newApplication } from '../src/conventions.ts'
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { appNames, appPath, applicationFile, CLUSTER_SCOPED, folderDocs, updatedApplication, type AppSpec } from '../src/apps.ts'
import { updaterFile } from '../src/updater-home.ts'
import { knownFacts, pullSecretRef, repoFacts, templateFlags, templateVars, type RepoFacts } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Change, Task } from '../src/task.ts'
import { applicationRepairs, imageUpdaterRepairs, kustomizationRepairs, planRepairs, type Repair } from '../src/repairs.ts'
import { appendToSequence, getAt } from '../src/yaml-edit.ts'
import { findImageUpdaters, imageUpdaterFiles, imageUpdaterFor, rememberImageUpdaterFile, type FoundImageUpdater } from '../src/image-updaters.ts'
import { isPaused } from '../src/lifecycle/paused-mark.ts'
import { imageUpdaterDrift, sayHandSet } from '../src/lifecycle/drift.ts'

export const IMAGE_UPDATER_FILE = 'image-updater.yaml'

/** The change with the reason for its update policy, so --dry-run says why. */
function explained(change: Change | undefined, why: string): Change | undefined {
  return change && { ...change, summary: `${change.summary} (${why})` }
}

/**
 * Repairs of one document of a file, as repairs of the file: each edit sees the document alone (the
 * yaml-edit functions work on one document) and its result replaces exactly that document's bytes,
 * so the file's other documents stay as they are.
 */
function inDocument(repairs: Repair[], original: string): Repair[] {
  let current = original
  return repairs.map((r) => ({
    ...r,
    edit(fileText: string) {
      const at = fileText.indexOf(current)
      if (at < 0) return fileText
      const next = r.edit(current)
      const out = fileText.slice(0, at) + next + fileText.slice(at + current.length)
      current = next
      return out
    },
  }))
}

/** The ImageUpdater found for the app, repaired in its own document of its file. */
async function repairFound(ctx: Ctx, facts: RepoFacts, app: AppSpec, found: FoundImageUpdater, annotations: Record<string, unknown>): Promise<Change | undefined> {
  const fileText = (await readRepoFile(ctx, found.file))!
  const repairs = imageUpdaterRepairs(found.source, found.file, { app, argocdNamespace: ctx.settings.argocdNamespace, shape: facts.shape, branch: ctx.settings.branch, applicationAnnotations: annotations, pullSecret: pullSecretRef(ctx) })
  // settings changed since the setup wrote it: followed where the setup's value is still there (src/lifecycle/drift.ts)
  const drift = await imageUpdaterDrift(ctx, found.file, fileText, found.source, app)
  sayHandSet(ctx, drift.handSet)
  // the repairs edit the ImageUpdater's own document; the file's other documents stay as they are
  return planRepairs(ctx, found.file, fileText, inDocument([...repairs, ...drift.repairs], found.source))
}

/**
 * An app that already renders through a Kustomize or Helm Application: nothing of the owner's is
 * touched (no move, no new Application, no kustomization edit); the ImageUpdater selects that
 * Application, and lives where Argo CD's namespace is synced (src/updater-home.ts).
 */
async function planInPlace(ctx: Ctx, facts: RepoFacts, app: AppSpec): Promise<Change | undefined> {
  const placed = app.inPlace!
  const { noteChoice } = await import('../src/repo-model/report.ts')
  const found = imageUpdaterFor(await findImageUpdaters(ctx), updatedApplication(app), ctx.settings.argocdNamespace)
  for (const why of placed.why) noteChoice(ctx, app.name, why)
  if (found) {
    rememberImageUpdaterFile(ctx, found.file)
    noteChoice(ctx, app.name, `the ImageUpdater ${found.name} in ${found.file} selects ${placed.application.name}: repaired in place, no second one written`)
    return repairFound(ctx, facts, app, found, placed.application.annotations)
  }
  const home = facts.updaterHome!
  const rel = updaterFile(home, app.name)
  rememberImageUpdaterFile(ctx, rel)
  noteChoice(ctx, app.name, home.why)
  return explained(await planFile(ctx, rel, renderManifest('image-updater.yaml', templateVars(ctx, facts, app), templateFlags(facts, app)), null), `selects the Application ${placed.application.name}; ${app.policy.strategy} for ${app.image.name}: ${app.policy.why}`)
}

/** Finds the ImageUpdater of each app of the run (see plan), so its file is among the managed paths. */
export async function findRunImageUpdaters(ctx: Ctx): Promise<void> {
  const facts = await repoFacts(ctx)
  const all = await findImageUpdaters(ctx)
  for (const app of facts.apps) {
    const found = imageUpdaterFor(all, updatedApplication(app), ctx.settings.argocdNamespace)
    if (found) rememberImageUpdaterFile(ctx, found.file)
    else if ((app.inPlace || facts.remoteApps) && facts.updaterHome) rememberImageUpdaterFile(ctx, updaterFile(facts.updaterHome, app.name))
  }
}

export const task: Task = {
  id: 4,
  title: 'Application and ImageUpdater resource for each app',
  scope: 'repo',
  managedPaths: (ctx) =>
    [
      ...appNames(ctx.settings).flatMap((name) => [applicationFile(ctx.settings, name), `${appPath(ctx.settings, name)}/${IMAGE_UPDATER_FILE}`, `${appPath(ctx.settings, name)}/kustomization.yaml`]),
      // the owner's own ImageUpdater files, repaired in place (known once task 4 planned; task 7 asks it to)
      ...imageUpdaterFiles(ctx),
      // Applications placed beside the owner's where APPLICATIONS_DIR's default names no folder
      ...(knownFacts(ctx)?.apps.filter((a) => !a.inPlace).map((a) => a.applicationFile) ?? []),
    ],
  async plan(ctx) {
    const facts = await repoFacts(ctx)
    const ns = ctx.settings.argocdNamespace
    const changes: (Change | undefined)[] = []
    // the Applications this setup writes are not siblings whose conventions it copies
    const ours = [...facts.apps.map((a) => a.applicationFile), facts.chartApplicationFile]
    for (const app of facts.apps) {
      if (app.inPlace) {
        changes.push(await planInPlace(ctx, facts, app))
        continue
      }
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
          ? await newApplication(ctx, app.applicationFile, renderManifest('app-application.yaml', vars), facts.destinationName, ours)
          : await planRepairs(ctx, app.applicationFile, application, applicationRepairs(application, app.applicationFile, { app, appPath: app.appPath })),
      )
      // The ImageUpdater is found by what it is, in whatever file holds it; only when the repo has
      // none that selects the app is one written (never a second one beside the owner's).
      const found = imageUpdaterFor(await findImageUpdaters(ctx), updatedApplication(app), ns)
      if (found) rememberImageUpdaterFile(ctx, found.file)
      // beside the app, unless the app runs on another cluster: then where Argo CD's namespace is synced
      const home = facts.remoteApps ? facts.updaterHome : undefined
      const iuRel = found?.file ?? (home ? updaterFile(home, app.name) : `${app.appPath}/${IMAGE_UPDATER_FILE}`)
      if (!found && home) rememberImageUpdaterFile(ctx, iuRel)
      if (found) {
        const annotations = application === null ? undefined : (getAt(application, app.applicationFile, ['metadata', 'annotations']).value as Record<string, unknown> | undefined)
        changes.push(await repairFound(ctx, facts, app, found, annotations ?? {}))
      } else
        changes.push(explained(await planFile(ctx, iuRel, renderManifest('image-updater.yaml', vars, templateFlags(facts, app)), null), `${app.policy.strategy} for ${app.image.name}: ${app.policy.why}`))
      // the kustomization lists the ImageUpdater's file when it is in the app's folder (else another Application syncs it)
      const listed = iuRel.startsWith(`${app.appPath}/`) ? iuRel.slice(app.appPath.length + 1) : undefined
      const paused = isPaused(await readRepoFile(ctx, iuRel))
      changes.push(
        await planRepairs(ctx, kustomizationRel, kustomization, [
          ...kustomizationRepairs(kustomization, kustomizationRel, { argocdNamespace: ns, destination: app.namespace, docs }),
          // a paused app (--pause, src/lifecycle/) keeps its ImageUpdater out of resources
          ...(listed && !paused ? [{ reason: `resources lists ${listed}`, routine: true, edit: (t: string) => appendToSequence(t, kustomizationRel, ['resources'], listed) }] : []),
        ]),
      )
    }
    return present(changes)
  },
}
export default task
await runIfMain(import.meta, task)
