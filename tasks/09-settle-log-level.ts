// Task 9 (the plan's closing note): once verification passes, lower the controller's log level from
// debug to info in the values file, commit and push it, wait for the chart app to sync that commit
// and confirm the ConfigMap carries the new level. Not run while verification fails.
import { runIfMain } from '../src/run-alone.ts'
import type { Change, Task } from '../src/task.ts'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'
import { planFile } from '../src/files.ts'
import { planPublish } from '../src/publish.ts'
import { repoFacts, requireRepoFile } from '../src/repo-facts.ts'
import { getAt, setScalar } from '../src/yaml-edit.ts'
import { judgeApp, snapshotFor, type JudgeInput } from '../src/cluster/app-snapshot.ts'
import { sourcePaths, syncTrigger } from '../src/cluster/argo.ts'
import { knownOurs } from '../src/cluster/our-resources.ts'
import { waitForApp, withProgress } from '../src/cluster/wait-app.ts'
import { kube } from '../src/cluster/kube.ts'
import { containsCommit, lastChange, setupRevision } from '../src/cluster/origin.ts'
import { loadObject } from '../src/cluster/repo-objects.ts'
import { CONTROLLER_CONFIGMAP, formatResult, runVerify } from '../src/cluster/verify.ts'
import { sayHandSet, settingDrift } from '../src/lifecycle/drift.ts'

const LEVEL_PATH = ['config', 'log.level']

function message(ctx: Ctx, from: string): string {
  return `Lower argocd-image-updater log level from ${from} to ${ctx.settings.finalLogLevel}\n\nVerification passed; written by image-updater-setup (task 9).`
}

/** Waits for the chart app at the pushed commit, then for the ConfigMap to carry the level. */
async function syncAndConfirm(ctx: Ctx): Promise<void> {
  const k = await kube(ctx)
  const { chartApplicationFile } = await repoFacts(ctx)
  const desired = await loadObject(ctx, chartApplicationFile, 'Application')
  const name = desired.metadata.name
  const ns = ctx.settings.argocdNamespace
  const ref = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: ns, name }
  const rev = await setupRevision(ctx)
  const floor = await lastChange(ctx.repoDir, rev, sourcePaths(desired))
  const ours = (r: string) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r)
  const since = new Date()
  const app = await k.get(ref)
  const judge: JudgeInput = { before: await snapshotFor(ctx, name, async () => app), knownOurs: await knownOurs(ctx), containsOurs: ours, revision: rev, since }
  if (app && !('ready' in (await judgeApp(app, judge)).state)) {
    const trigger = syncTrigger(app)
    if (trigger) await k.mergePatch(ref, trigger)
  }
  const timeoutMs = Number(ctx.settings.syncTimeoutSeconds) * 1000
  const { warnings } = await waitForApp(ctx, k, {
    ref,
    what: `Application ${ns}/${name} synced and healthy at ${rev.slice(0, 7)}`,
    judge,
    fix: `kubectl -n ${ns} describe application ${name}; fix the cause named above, then rerun: npx tsx scripts/run.ts --from 9`,
  })
  for (const w of warnings) ctx.warn?.(w)
  const want = ctx.settings.finalLogLevel
  const what = `ConfigMap ${ns}/${CONTROLLER_CONFIGMAP} log.level=${want}`
  const said = withProgress(ctx, what, timeoutMs, (cm) => (cm?.data?.['log.level'] === want ? { ready: true } : { waiting: `log.level is ${cm?.data?.['log.level'] ?? 'unset'}` }))
  await k.waitFor({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: CONTROLLER_CONFIGMAP }, said.check, { timeoutMs, what, recheckMs: said.recheckMs })
  ctx.log(`ConfigMap ${CONTROLLER_CONFIGMAP} now has log.level=${want}`)
}

export const task: Task = {
  id: 9,
  title: 'Lower the Image Updater log level after verification',
  scope: 'cluster',
  publishes: true,
  managedPaths: (ctx) => [`${ctx.settings.valuesDir}/argocd-image-updater.yaml`],
  async plan(ctx) {
    const { valuesFile: file } = await repoFacts(ctx)
    const want = ctx.settings.finalLogLevel
    const text = await requireRepoFile(ctx, file, 'VALUES_DIR')
    const { value: level } = getAt(text, file, LEVEL_PATH)
    const changes: Change[] = []
    const waitChange: Change = {
      summary: `wait for the argocd-image-updater Application at the pushed commit and ConfigMap ${CONTROLLER_CONFIGMAP} log.level=${want}`,
      apply: () => syncAndConfirm(ctx),
    }
    // a level set by hand after the setup (neither the setup's SETUP_LOG_LEVEL nor one it wrote) stays: src/lifecycle/drift.ts
    if (level !== want && level !== ctx.settings.logLevel) {
      const { handSet } = await settingDrift(ctx, file, text, text, [{ path: LEVEL_PATH, want, setting: 'FINAL_LOG_LEVEL', what: 'log level' }])
      if (handSet.length) {
        sayHandSet(ctx, handSet)
        return []
      }
    }
    if (level !== want) {
      const results = await runVerify(ctx, { waitMs: 0 })
      const failed = results.filter((r) => !r.ok)
      if (failed.length) {
        if (ctx.dryRun) return [{ summary: `set ${file} config."log.level" to ${want} once verification passes (it fails now)`, async apply() {} }]
        throw new SetupError(
          `verification has not passed, so the log level stays ${String(level)}:\n${failed.map((r) => `  ${formatResult(r)}`).join('\n')}`,
          'run task 8 until it passes: npx tsx scripts/run.ts --from 8',
        )
      }
      const edit = await planFile(ctx, file, setScalar(text, file, LEVEL_PATH, want))
      if (edit) changes.push(edit)
      changes.push({
        summary: `git commit ${file} and push origin ${ctx.settings.branch}`,
        paths: [file],
        async apply() {
          for (const c of await planPublish(ctx, [file], message(ctx, String(level)))) await c.apply()
        },
      })
      changes.push(waitChange)
      return changes
    }
    // the file already says `want`: finish an interrupted commit/push, then the cluster side
    const publish = await planPublish(ctx, [file], message(ctx, ctx.settings.logLevel))
    if (publish.length) return [...publish, waitChange]
    const k = await kube(ctx)
    const cm = await k.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.settings.argocdNamespace, name: CONTROLLER_CONFIGMAP })
    return cm?.data?.['log.level'] === want ? [] : [waitChange]
  },
}
export default task
await runIfMain(import.meta, task)
