// Task 7 pauses personal-services' auto-prune for the handover of the app's Deployment and Service
// (src/cluster/deploy.ts). When the run stops before the handover is over (Ctrl-C, SIGTERM, an error)
// this puts auto-prune back where that is safe, or says it is still paused and how to restore it.
import type { Ctx } from '../context.ts'
import { gitRun } from '../git.ts'
import { repoFacts } from '../repo-facts.ts'
import { forgetRunReads } from '../run-reads.ts'
import type { PutBack } from '../stop.ts'
import { trackedBy } from './argo.ts'
import type { KRef, Kube } from './kube.ts'

const PRUNE_ON = { spec: { syncPolicy: { automated: { prune: true } } } }

/** The command that turns auto-prune back on, as the person can paste it. */
export function restorePruneCommand(ref: KRef): string {
  return `kubectl -n ${ref.namespace} patch application ${ref.name} --type merge -p '${JSON.stringify(PRUNE_ON)}'`
}

/** True when the branch at origin (as last fetched or pushed) still holds the file that gives the app to it. */
async function originStillLists(ctx: Ctx, file: string): Promise<boolean> {
  try {
    await gitRun(ctx.repoDir, ['cat-file', '-e', `refs/remotes/origin/${ctx.settings.branch}:${file}`], 10_000)
    return true
  } catch {
    return false
  }
}

/**
 * Turning prune back on is safe when personal-services cannot delete an app with it: for every app,
 * personal-services no longer tracks its workload (the app's own Application adopted it), or git at
 * origin still gives the app to it (the setup commit was not pushed). Otherwise prune on would delete
 * a running app.
 */
export function prunePutBack(ctx: Ctx, k: Kube, ref: KRef): PutBack {
  const label = `auto-prune of Application ${ref.namespace}/${ref.name}`
  return {
    async putBack() {
      // what the cluster has now, not a read kept from before the stop (src/run-reads.ts)
      forgetRunReads(ctx)
      const live = await k.get(ref)
      if (!live) return `${label}: the Application is gone, nothing to restore`
      if (live.spec?.syncPolicy?.automated?.prune === true) return `${label} is on (restored by the run)`
      const { apps } = await repoFacts(ctx)
      const atRisk: string[] = []
      for (const app of apps.filter((a) => !a.inPlace)) {
        const { appKube } = await import('./app-cluster.ts')
        if (trackedBy(await (await appKube(ctx, app)).get(app.workload)) !== ref.name) continue
        if (await originStillLists(ctx, app.sourceFile ?? `${ctx.settings.manifestsDir}/${app.name}.yaml`)) continue
        atRisk.push(app.name)
      }
      if (atRisk.length === 0) {
        await k.mergePatch(ref, PRUNE_ON)
        return `put back: ${label} is on again (it was paused for the handover, which had not started or is complete)`
      }
      return [
        `${label} is still PAUSED: ${ref.name} still tracks ${atRisk.join(', ')} while git no longer lists ${atRisk.length > 1 ? 'them' : 'it'} there, so prune on now would delete the running app.`,
        `  Resuming finishes the handover and turns it back on; to do it by hand once ${atRisk.join(', ')} ${atRisk.length > 1 ? 'have' : 'has'} been adopted by ${atRisk.length > 1 ? 'their' : 'its'} own Application: ${restorePruneCommand(ref)}`,
      ].join('\n')
    },
  }
}
