// Task 7: commit exactly the files the setup manages and push them (the git half), then apply and
// sync on the cluster in an order that loses nothing (the cluster half, src/cluster/deploy.ts).
import { appNames } from '../src/apps.ts'
import { planPublish } from '../src/publish.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Ctx } from '../src/context.ts'
import type { Task } from '../src/task.ts'
import save from './00-save-plan.ts'
import secrets from './02-external-secrets.ts'
import split from './03-split-app-kustomize.ts'
import application, { findRunImageUpdaters } from './04-app-application.ts'
import install from './05-install-image-updater.ts'
import allowRepo from './06-allow-helm-repo.ts'

export const REPO_TASKS: Task[] = [save, secrets, split, application, install, allowRepo]

export function managedPaths(ctx: Ctx): string[] {
  return [...new Set(REPO_TASKS.flatMap((t) => t.managedPaths?.(ctx) ?? []))].sort()
}

export function commitMessage(ctx: Ctx): string {
  const s = ctx.settings
  const apps = appNames(s)
  const list = apps.join(', ')
  return `Set up Argo CD Image Updater for ${list}\n\nMove ${list} into ${apps.length > 1 ? 'their' : 'its'} own Kustomize Application${apps.length > 1 ? 's' : ''}, add the ImageUpdater resource${apps.length > 1 ? 's' : ''},\nthe GitHub token ExternalSecrets and the argocd-image-updater chart ${s.chartVersion}.\n\nWritten by image-updater-setup (task 7).`
}

export const task: Task = {
  id: 7,
  title: 'Commit, push and deploy',
  scope: 'cluster',
  publishes: true,
  managedPaths,
  async plan(ctx) {
    const { planDeploy, planPrePush, saveMoveStart } = await import('../src/cluster/deploy.ts')
    // the owner's ImageUpdater files task 4 repairs in place are committed too, also with --only 7
    await findRunImageUpdaters(ctx)
    // right before the push, the state before the move goes into the saved progress: a run stopped
    // mid-wait and resumed judges the move against it, not against what the stopped run left
    const publish = await planPublish(ctx, managedPaths(ctx), commitMessage(ctx), {
      async aroundPush(push) {
        const undo = await saveMoveStart(ctx)
        try {
          await push()
        } catch (err) {
          await undo()
          throw err
        }
      },
    })
    // never push a repo that does not render: every Application the commit's files feed is rendered
    // first (in --dry-run and before anything is written, the runner does the same on the plan)
    const committing = publish.find((c) => c.paths?.length)?.paths ?? []
    if (committing.length && !ctx.dryRun) {
      const { renderGate } = await import('../src/repo-model/render-gate.ts')
      ctx.log(await renderGate(ctx, committing))
    }
    // The pushed commit drops it-tools.yaml from personal-services, which auto-prunes and may sync
    // it at any moment: its prune is paused before the push and restored once it-tools has adopted
    // the Deployment and Service (see src/cluster/deploy.ts). Under an app-of-apps parent with
    // automated sync, the parent is paused first and restored last (src/cluster/app-of-apps.ts).
    const prePush = await planPrePush(ctx, { pushPending: publish.length > 0 })
    const deploy = await planDeploy(ctx, { pushPending: publish.length > 0, withPrePush: false })
    const changes = [...prePush, ...publish, ...deploy]
    // Image Updater reads its git credentials only when it commits: prove the write-back path
    // (token can push, repoURL scheme matches the Secret, branch not protected) before anything is
    // pushed or written to the cluster. A converged rerun has nothing to write and skips it.
    if (changes.length) {
      const { proveWriteBack } = await import('../src/cluster/write-back-proof.ts')
      for (const line of await proveWriteBack(ctx)) ctx.log(line)
    }
    return changes
  },
}
export default task
await runIfMain(import.meta, task)
