// `--pause <app>` and `--resume <app>`. Pausing stops Image Updater for one app without touching
// what runs: the ImageUpdater that selects the app leaves its kustomization's `resources:` (the file
// stays, marked paused on its first line, so the repo itself says so and a setup run on any machine
// leaves it paused), Argo CD prunes it while the controller runs (which removes its finalizer), and
// the app keeps the tag Image Updater last wrote (`.argocd-source-<app>.yaml` is left alone).
// Resuming lists the file again, drops the mark, syncs, and waits until the controller reconciled the
// ImageUpdater without errors.
import { posix } from 'node:path'
import type { Ctx } from '../context.ts'
import type { Change } from '../task.ts'
import { SetupError } from '../errors.ts'
import { appendToSequence, singleDocument } from '../yaml-edit.ts'
import { kube } from '../cluster/kube.ts'
import { IMAGE_UPDATER_API } from '../cluster/our-resources.ts'
import { appliedTime, imageUpdaterStatus, managedImageCount } from '../cluster/verify.ts'
import { chartShape } from '../render/chart.ts'
import { fileChange } from '../files.ts'
import { publishPhase, type Phase } from './command.ts'
import { appRef, syncAndWait, workloadChanges, workloadsOf } from './cluster-steps.ts'
import { findFootprint, globMatch, type FoundDoc } from './footprint.ts'
import { removeListItem } from './yaml-lists.ts'
import { isPaused, PAUSED_MARK as MARK, unmarked } from './paused-mark.ts'


interface Target {
  iu: FoundDoc
  kustomization: string
  base: string
  text: string
}

/** The ImageUpdater file that selects `app` and the kustomization of its folder. */
async function target(ctx: Ctx, app: string): Promise<Target> {
  const fp = await findFootprint(ctx)
  const selecting = fp.imageUpdaters.filter((d) => (d.obj.spec?.applicationRefs ?? []).some((r: { namePattern?: string }) => r.namePattern && globMatch(String(r.namePattern), app)))
  if (!selecting.length) {
    const names = [...new Set(fp.apps.map((a) => a.name))]
    throw new SetupError(`no ImageUpdater in the repo selects ${app}`, names.length ? `name one of the apps Image Updater updates: ${names.join(', ')}` : 'set up Image Updater for it first: npx tsx scripts/run.ts --app ' + app)
  }
  const iu = selecting[0]!
  const others = fp.docs.filter((d) => d.kind === 'Application' && d.name !== app && (iu.obj.spec?.applicationRefs ?? []).some((r: { namePattern?: string }) => r.namePattern && globMatch(String(r.namePattern), d.name)))
  if (selecting.length > 1 || iu.docsInFile > 1 || others.length)
    throw new SetupError(
      `ImageUpdater ${iu.name} (${iu.file}) ${others.length ? `also selects ${others.map((o) => o.name).join(', ')}` : 'shares its file with other documents'}: pausing it would stop more than ${app}`,
      `give ${app} an ImageUpdater of its own (one file, one applicationRef), or remove its applicationRef by hand`,
    )
  const dir = posix.dirname(iu.file)
  const kustomization = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((n) => (dir === '.' ? n : `${dir}/${n}`))
  const { readRepoFile } = await import('../files.ts')
  for (const k of kustomization) if ((await readRepoFile(ctx, k)) !== null) return { iu, kustomization: k, base: posix.basename(iu.file), text: (await readRepoFile(ctx, iu.file))! }
  throw new SetupError(`${dir} has no kustomization listing ${posix.basename(iu.file)}`, `pause ${app} by hand: take its ImageUpdater out of what Argo CD syncs`)
}

function listed(text: string, file: string, base: string): boolean {
  const resources = singleDocument(text, file).toJS()?.resources ?? []
  return resources.includes(base) || resources.includes(`./${base}`)
}

export function pausePhases(app: string, mode: 'pause' | 'resume', rev: (ctx: Ctx) => Promise<string | undefined>): Phase[] {
  let t: Target | undefined
  let changedRepo = false
  return [
    async (ctx) => {
      t = await target(ctx, app)
      const { readRepoFile } = await import('../files.ts')
      const kText = (await readRepoFile(ctx, t.kustomization))!
      const why = `${mode} Image Updater for ${app}`
      const changes: (Change | undefined)[] = []
      if (mode === 'pause') {
        if (!isPaused(t.text)) changes.push(fileChange(ctx, t.iu.file, t.text, `${MARK} (--pause ${app}): not in ${posix.basename(t.kustomization)}'s resources, so Argo CD does not sync it; --resume ${app} lists it again\n${t.text}`, { byteExact: true, why }))
        if (listed(kText, t.kustomization, t.base)) changes.push(fileChange(ctx, t.kustomization, kText, removeListItem(removeListItem(kText, t.kustomization, ['resources'], t.base), t.kustomization, ['resources'], `./${t.base}`), { byteExact: true, why }))
      } else {
        if (isPaused(t.text)) changes.push(fileChange(ctx, t.iu.file, t.text, unmarked(t.text), { byteExact: true, why }))
        if (!listed(kText, t.kustomization, t.base)) changes.push(fileChange(ctx, t.kustomization, kText, appendToSequence(kText, t.kustomization, ['resources'], t.base), { byteExact: true, why }))
      }
      const out = changes.filter((c): c is Change => c !== undefined)
      changedRepo = out.length > 0
      return out
    },
    publishPhase(`${mode === 'pause' ? 'Pause' : 'Resume'} Image Updater for ${app}\n\n${mode === 'pause' ? `Take ImageUpdater ${app} out of what Argo CD syncs; ${app} keeps the tag it runs.` : `List ImageUpdater ${app} again, so Image Updater updates ${app}.`}\n\nWritten by image-updater-setup (--${mode} ${app}).`),
    async (ctx) => {
      const k = await kube(ctx)
      const ns = t!.iu.namespace ?? ctx.settings.argocdNamespace
      const iuRef = { apiVersion: IMAGE_UPDATER_API, kind: 'ImageUpdater', namespace: ns, name: t!.iu.name }
      const live = await k.get(iuRef).catch(() => undefined)
      const want = mode === 'resume'
      if (!changedRepo && Boolean(live) === want && !live?.metadata.deletionTimestamp) return []
      const target = await rev(ctx)
      const before = await workloadsOf(k, await k.get(appRef(ctx, app)))
      return [
        {
          summary: `sync Application ${ns}/${app}${target ? ` at ${target.slice(0, 7)}` : ''}: ${want ? `ImageUpdater ${t!.iu.name} created and reconciled by the controller` : `Argo CD prunes ImageUpdater ${t!.iu.name} while the controller runs`}; ${before.map((w) => `${w.label} keeps ${w.images.join(', ')}`).join('; ') || 'no workload listed'}`,
          async apply() {
            if (!target) throw new SetupError('no commit to sync to', 'run the same command again')
            await syncAndWait(ctx, k, app, target, async () => {
              const iu = await k.get(iuRef).catch(() => undefined)
              if (!want) return iu ? `ImageUpdater ${ns}/${t!.iu.name} still there` : undefined
              if (!iu) return `ImageUpdater ${ns}/${t!.iu.name} not created yet`
              // before app v1.2 the ImageUpdater has no status to read: created is all that can be seen
              if (!chartShape(ctx.settings.chartVersion).statusCounts) return undefined
              const state = imageUpdaterStatus(iu, appliedTime(iu), managedImageCount(iu, await k.get(appRef(ctx, app)), app))
              if ('failed' in state) throw new SetupError(`ImageUpdater ${ns}/${t!.iu.name}: ${state.failed}`, `kubectl -n ${ns} describe imageupdater ${t!.iu.name}`)
              return 'waiting' in state ? state.waiting : undefined
            })
            const changed = workloadChanges(before, await workloadsOf(k, await k.get(appRef(ctx, app))))
            if (changed.length && !want) throw new SetupError(`pausing changed what ${app} runs: ${changed.join('; ')}`, `look at ${app}'s Application and kustomization; then run the same command again`)
            ctx.log(want ? `${app}: ImageUpdater ${t!.iu.name} is back and reconciled without errors` : `${app}: paused; ${before.map((w) => `${w.label} runs ${w.images.join(', ')}`).join('; ')}`)
          },
        },
      ]
    },
  ]
}
