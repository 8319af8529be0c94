// Entry of the lifecycle commands (`--retire`, `--pause <app>`, `--resume <app>`), reached from the
// runner once the settings are read and the lock is held. Each checks which cluster it reached first,
// as a setup run does.
import type { Ctx } from '../context.ts'
import { headCommit } from '../git.ts'
import { STOP_EXIT_CODE, STOP_TEXT } from '../stop.ts'
import { publishPhase, runPhases, type LifecycleOptions } from './command.ts'
import type { Footprint } from './footprint.ts'
import { planRetireRepo, retireFacts } from './retire.ts'

export type { LifecycleOptions }

export async function runLifecycle(ctx: Ctx, opts: LifecycleOptions): Promise<number> {
  const { missingKubeconfig } = await import('../cluster/kubeconfig-file.ts')
  const noConfig = missingKubeconfig({ setting: ctx.settings.kubeconfig })
  if (noConfig) throw noConfig
  const { clusterPreflight } = await import('../cluster/preflight.ts')
  const cluster = await clusterPreflight(ctx)
  const line = `Cluster: ${cluster.server} (kube context ${cluster.context}, kube-system uid ${cluster.kubeSystemUid})`
  if (opts.print) opts.print(line)
  else process.stderr.write(`${line}\n`)
  // a stop mid-way leaves what is done (each step checks before it acts): the same command finishes it
  const what = opts.retire ? '--retire' : opts.pause ? `--pause ${opts.pause}` : `--resume ${opts.resume}`
  ctx.stop?.onStop(async (cause) => {
    opts.release?.()
    process.stderr.write(`\n✖ stopped by ${STOP_TEXT[cause]} during ${what}${ctx.dryRun ? '; a dry run changed nothing' : ': the steps done so far stay; run the same command again to finish (each step checks before it acts); the lock is released'}\n`)
    return STOP_EXIT_CODE[cause]
  })
  const rev = async (c: Ctx) => c.pushedRevision ?? (c.dryRun ? undefined : await headCommit(c.repoDir))
  if (opts.retire) {
    let fp: Footprint | undefined
    const code = await runPhases(
      ctx,
      'Retire Argo CD Image Updater',
      [
        async (c) => {
          fp = (await retireFacts(c)).footprint
          return planRetireRepo(c, fp)
        },
        publishPhase(`Retire Argo CD Image Updater\n\nPin the tags it wrote last in each app's kustomization; remove the ImageUpdaters,\nthe argocd-image-updater chart and its values, and the GitHub token ExternalSecrets.\n\nWritten by image-updater-setup (--retire).`),
        async (c) => (await import('./retire-cluster.ts')).planRetireCluster(c, fp!, opts, await rev(c)),
      ],
      opts,
    )
    // a setup after the retirement starts over: no task counts as done
    if (!ctx.dryRun && ctx.state.run) await ctx.state.finishRun([])
    // and `status` expects no app to be updated any more
    if (!ctx.dryRun && code === 0) await ctx.state.forgetOnboarded()
    return code
  }
  const { pausePhases } = await import('./pause.ts')
  const name = (opts.pause ?? opts.resume)!
  return runPhases(ctx, `${opts.pause ? 'Pause' : 'Resume'} Image Updater for ${name}`, pausePhases(name, opts.pause ? 'pause' : 'resume', rev), opts)
}
