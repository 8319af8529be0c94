// Cluster steps the lifecycle commands share: sync an Application to a commit and wait until it is
// Synced and Healthy there (plus what else must hold), delete an Application with its resources,
// and the workloads an Application runs (uid and images), to show that a change left them alone.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import type { KObj, Kube, KRef } from '../cluster/kube.ts'
import { operationUnderWay, syncedRevisions, syncTrigger } from '../cluster/argo.ts'
import { containsCommit } from '../cluster/origin.ts'

export const APP_API = 'argoproj.io/v1alpha1'
export const ARGO_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io'
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet'])

export const appRef = (ctx: Ctx, name: string): KRef => ({ apiVersion: APP_API, kind: 'Application', namespace: ctx.settings.argocdNamespace, name })

/**
 * Asks Argo CD to sync (or, automated, refresh) the app and waits until it is Synced and Healthy at
 * `rev`, or at a later commit on top of it, and `extra` holds. A later commit is Image Updater's
 * write-back: a resumed updater writes the tag that came out while it was paused at once, and Argo
 * CD may see that commit before it ever compares ours.
 */
export async function syncAndWait(ctx: Ctx, k: Kube, name: string, rev: string, extra?: () => Promise<string | undefined>): Promise<KObj> {
  const ref = appRef(ctx, name)
  const live = await k.get(ref)
  if (!live) throw new SetupError(`Application ${ref.namespace}/${name} is not in the cluster`, `apply it from the GitOps repo (kubectl apply -f <its file>), then rerun`)
  const trigger = syncTrigger(live)
  if (trigger) await k.mergePatch(ref, trigger)
  let last = ''
  let asked = Date.now()
  const check = async (app: KObj | undefined) => {
    if (!app) return { failed: 'it was deleted' }
    const revs = syncedRevisions(app)
    let reached = revs.includes(rev)
    for (const r of revs) if (!reached) reached = await containsCommit(ctx.repoDir, ctx.settings.branch, rev, r)
    const sync = app.status?.sync?.status
    const health = app.status?.health?.status
    const op = operationUnderWay(app)
    if (!reached) {
      last = `at ${revs.map((r) => r.slice(0, 7)).join(',') || 'no revision'}, not ${rev.slice(0, 7)} yet`
      // a reconcile that started before the push can take the request away while comparing the old
      // commit: with nothing under way and nothing pending, ask again (at most every 2 s)
      const again = !op && Date.now() - asked > 2000 ? syncTrigger(app) : undefined
      if (again) {
        asked = Date.now()
        await k.mergePatch(ref, again)
      }
    }
    else if (op) last = `a sync is under way (${op})`
    else if (sync !== 'Synced' || health !== 'Healthy') last = `${sync ?? 'no sync status'}, ${health ?? 'no health'}`
    else {
      const more = extra ? await extra() : undefined
      if (!more) return { ready: true as const }
      last = more
    }
    return { waiting: last }
  }
  try {
    return await k.waitFor(ref, check, { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `Application ${ref.namespace}/${name} Synced and Healthy at ${rev.slice(0, 7)}`, recheckMs: 500 })
  } catch (err) {
    if (err instanceof SetupError) throw new SetupError(`${err.message}${last ? ` (last seen: ${last})` : ''}`, `kubectl -n ${ref.namespace} describe application ${name}; fix the cause, then run the same command again`)
    throw err
  }
}

/**
 * Deletes the Application with its resources: Argo CD's resources finalizer makes the deletion
 * cascade (without it the controller, its CRD and RBAC would stay, orphaned). Waits until it is gone.
 */
export async function deleteWithResources(ctx: Ctx, k: Kube, name: string, stuck: () => Promise<string[]>): Promise<void> {
  const ref = appRef(ctx, name)
  const live = await k.get(ref)
  if (!live) return
  const finalizers: string[] = Array.isArray(live.metadata.finalizers) ? (live.metadata.finalizers as string[]) : []
  if (!finalizers.includes(ARGO_RESOURCES_FINALIZER)) await k.mergePatch(ref, { metadata: { finalizers: [...finalizers, ARGO_RESOURCES_FINALIZER] } })
  await k.delete(ref)
  try {
    await k.waitFor(ref, (o) => (o ? { waiting: 'still there' } : { ready: true }), { timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000, what: `Application ${ref.namespace}/${name} and its resources deleted`, recheckMs: 500 })
  } catch (err) {
    const held = await stuck()
    throw new SetupError(
      `Application ${ref.namespace}/${name} is not gone: ${held.length ? `waiting for ${held.join(', ')}` : (err as Error).message}`,
      held.length ? `an object Terminating with a finalizer its controller no longer removes holds it: kubectl get ${held[0]!.split(' ')[0]!.toLowerCase()} -A; remove that finalizer by hand (kubectl patch ... --type=merge -p '{"metadata":{"finalizers":null}}'), then run the same command again` : `kubectl -n ${ref.namespace} describe application ${name}`,
    )
  }
}

export interface WorkloadState {
  label: string
  uid: string
  images: string[]
}

/** The Deployments, StatefulSets and DaemonSets an Application lists, with their uids and images. */
export async function workloadsOf(k: Kube, app: KObj | undefined): Promise<WorkloadState[]> {
  const out: WorkloadState[] = []
  for (const r of app?.status?.resources ?? []) {
    if (!WORKLOAD_KINDS.has(r.kind)) continue
    const o = await k.get({ apiVersion: `${r.group || 'apps'}/${r.version || 'v1'}`, kind: r.kind, namespace: r.namespace, name: r.name })
    if (!o) continue
    out.push({ label: `${r.kind} ${r.namespace}/${r.name}`, uid: String(o.metadata.uid), images: (o.spec?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image) })
  }
  return out
}

/** What differs between two looks at an app's workloads (a recreation, another image). */
export function workloadChanges(before: WorkloadState[], after: WorkloadState[]): string[] {
  const problems: string[] = []
  for (const b of before) {
    const a = after.find((x) => x.label === b.label)
    if (!a) problems.push(`${b.label} is gone`)
    else if (a.uid !== b.uid) problems.push(`${b.label} was recreated (uid ${b.uid} → ${a.uid})`)
    else if (a.images.join(',') !== b.images.join(',')) problems.push(`${b.label} runs ${a.images.join(', ')} instead of ${b.images.join(', ')}`)
  }
  return problems
}
