// The cluster an app runs on and the kube client for it. Image Updater and the Applications live on
// Argo CD's cluster, but an app's objects are where its Application deploys them: a moved app goes
// where the Directory Application it leaves deploys (its new Application copies that destination),
// an app that stays in place where its Application deploys. The move's uid checks (task 7) and the
// survival check (task 8) read the objects there.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import type { AppSpec } from '../apps.ts'
import { repoFacts } from '../repo-facts.ts'
import { kube, type Kube } from './kube.ts'
import { contextFor, noContextText } from './cluster-context.ts'
import type { ArgoCluster } from '../repo-model/types.ts'

/** The kube client of the cluster `app` runs on (Argo CD's own client when it runs there). */
export async function appKube(ctx: Ctx, app: AppSpec): Promise<Kube> {
  const main = await kube(ctx)
  const facts = await repoFacts(ctx)
  const { loadRepoModel } = await import('../repo-model/index.ts')
  const { resolveDestination } = await import('../repo-model/clusters.ts')
  const model = await loadRepoModel(ctx)
  const dest = app.inPlace
    ? app.inPlace.application.destination
    : resolveDestination(facts.destinationName ? { name: facts.destinationName } : { server: facts.destinationServer }, model.clusters)
  const cluster = dest.cluster
  const reached = await kubeOfCluster(ctx, main, cluster)
  if ('k' in reached) return reached.k
  throw new SetupError(
    `${app.name} runs on the Argo CD cluster ${cluster!.name} (${cluster!.server ?? 'server not in the repo'}), and the setup reads its objects there to check that ${app.inPlace ? 'nothing of it changes' : 'the move keeps them (same uids)'}: ${reached.unreachable}`,
    `add a context for ${cluster!.name} to KUBECONFIG (kubectl config get-contexts lists them; name it ${cluster!.name}), then run the same command again`,
  )
}

/**
 * The kube client of `cluster` (Argo CD's own, `main`, when it is that one, or when the repo declares
 * no cluster Secret for it: only Argo CD's own cluster can be read then), or why no kube context
 * reaches it.
 */
export async function kubeOfCluster(ctx: Ctx, main: Kube, cluster: ArgoCluster | undefined): Promise<{ k: Kube } | { unreachable: string }> {
  if (!cluster || cluster.inCluster) return { k: main }
  const match = contextFor(main, cluster)
  if (match.context === main.contextName) return { k: main }
  if (!match.context) return { unreachable: noContextText(main, cluster, match) }
  // kube() keeps one client per context for the run
  return { k: await kube(ctx, { context: match.context, setting: `the kube context of ${cluster.name}` }) }
}
