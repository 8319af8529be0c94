// States of the setup's own resources that waiting will not clear: a pod that cannot pull its image
// or keeps crashing, an ExternalSecret whose Vault key is missing or whose store is not valid. The
// wait stops on them at once with the resource, its condition quoted, and the fix. Looked up only
// for resources that are not done yet, so a converged rerun never pays for these reads.
import { SetupError } from '../errors.ts'
import { resourceLabel, type ResourceState } from './app-snapshot.ts'
import type { KObj, Kube } from './kube.ts'

/** Container waiting reasons a pod does not leave by itself. */
export const TERMINAL_POD_REASONS = ['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'CreateContainerConfigError', 'InvalidImageName', 'CreateContainerError'] as const

/** ESO condition or event messages that name a cause only a change elsewhere clears. */
const PERMANENT_ES_MESSAGES = [/Secret does not exist/i, /does not exist in secret/i, /no secret (was )?found/i, /permission denied/i, /secrets? "[^"]+" not found/i, /could not get (Cluster)?SecretStore/i, /could not get provider client/i]

const rerun = 'then rerun: npx tsx scripts/run.ts --from 7'

function podFix(reason: string, ns: string, pod: string, image: string | undefined): string {
  if (reason === 'ImagePullBackOff' || reason === 'ErrImagePull' || reason === 'InvalidImageName')
    return `check that the image ${image ?? ''} exists and that the node may pull it (registry credentials, imagePullSecrets): kubectl -n ${ns} describe pod ${pod}; ${rerun}`
  if (reason === 'CrashLoopBackOff') return `read why it exits: kubectl -n ${ns} logs ${pod} --previous; fix its configuration in the GitOps repo, ${rerun}`
  return `a Secret or ConfigMap the pod needs is missing or wrong: kubectl -n ${ns} describe pod ${pod}; ${rerun}`
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet'])

/** A terminal container state of a pod of this workload (Deployment, StatefulSet, DaemonSet), as a SetupError. */
export async function workloadTerminal(k: Kube, r: ResourceState): Promise<SetupError | undefined> {
  const d = await k.get({ apiVersion: 'apps/v1', kind: r.kind, namespace: r.namespace, name: r.name })
  const match: Record<string, string> = d?.spec?.selector?.matchLabels ?? {}
  if (!d || Object.keys(match).length === 0) return undefined
  const pods = await k.list('v1', 'Pod', r.namespace, Object.entries(match).map(([key, v]) => `${key}=${v}`).join(','))
  for (const pod of pods) {
    const statuses: any[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    for (const cs of statuses) {
      const waiting = cs.state?.waiting
      if (!waiting || !(TERMINAL_POD_REASONS as readonly string[]).includes(waiting.reason)) continue
      const podName = pod.metadata.name
      return new SetupError(
        `pod ${r.namespace}/${podName} of ${resourceLabel(r)} is in ${waiting.reason}: container ${cs.name}: "${waiting.message ?? waiting.reason}"`,
        podFix(waiting.reason, r.namespace, podName, cs.image),
      )
    }
  }
  return undefined
}

const readyCondition = (o: KObj | undefined) => (o?.status?.conditions ?? []).find((c: { type?: string }) => c.type === 'Ready')

/**
 * The latest Warning event message about an object (ESO puts the provider's error there: its Ready
 * condition says only "could not get secret data from provider"). Events of an earlier object of
 * the same name (another uid) are not its.
 */
async function lastWarning(k: Kube, ns: string, kind: string, name: string, uid?: string): Promise<string | undefined> {
  try {
    const events = await k.list('v1', 'Event', ns)
    const mine = events.filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === name && e.type === 'Warning' && (!uid || !e.involvedObject?.uid || e.involvedObject.uid === uid))
    mine.sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
    return mine.at(-1)?.message
  } catch {
    return undefined
  }
}

/** An ExternalSecret of ours that is Ready=False for a reason waiting will not clear. */
export async function externalSecretTerminal(k: Kube, r: ResourceState, vaultPath: string): Promise<SetupError | undefined> {
  const es = await k.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: r.namespace, name: r.name })
  const ready = readyCondition(es)
  if (!es || !ready || ready.status !== 'False') return undefined
  const label = resourceLabel(r)
  const quoted = `Ready=False (${ready.reason ?? 'no reason'}): "${ready.message ?? ''}"`
  const storeRef = es.spec?.secretStoreRef ?? {}
  const storeKind = storeRef.kind ?? 'SecretStore'
  const store = storeRef.name
    ? await k.get({ apiVersion: 'external-secrets.io/v1', kind: storeKind, namespace: storeKind === 'ClusterSecretStore' ? undefined : r.namespace, name: storeRef.name })
    : undefined
  const storeReady = readyCondition(store)
  if (storeRef.name && (!store || storeReady?.status === 'False'))
    return new SetupError(
      `${label} is ${quoted}; its ${storeKind} ${storeRef.name} ${store ? `is not valid: ${storeReady.reason ?? ''} "${storeReady.message ?? ''}"` : 'does not exist'}`,
      `fix the store first: kubectl describe ${storeKind.toLowerCase()} ${storeRef.name} (its Vault token Secret and Vault itself must work), ${rerun}`,
    )
  const detail = PERMANENT_ES_MESSAGES.some((re) => re.test(String(ready.message ?? ''))) ? ready.message : await lastWarning(k, r.namespace, 'ExternalSecret', r.name, es.metadata.uid)
  if (!detail || !PERMANENT_ES_MESSAGES.some((re) => re.test(String(detail)))) return undefined
  return new SetupError(
    `${label} is ${quoted}${detail !== ready.message ? `; ESO says: "${detail}"` : ''}`,
    `put the key it reads into Vault (task 1 writes ${vaultPath}: npx tsx scripts/run.ts --only 1, or check with vault kv get ${vaultPath}); ${rerun}`,
  )
}

/**
 * Why ESO has not made this ExternalSecret Ready yet, as `kubectl describe externalsecret` shows it:
 * the latest Warning Event (the provider's error), else the Ready condition's message. Undefined
 * while there is no Ready=False condition (not looked at yet).
 */
export async function externalSecretCause(k: Kube, r: ResourceState): Promise<string | undefined> {
  const es = await k.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: r.namespace, name: r.name })
  const ready = readyCondition(es)
  if (!es || !ready || ready.status !== 'False') return undefined
  const event = await lastWarning(k, r.namespace, 'ExternalSecret', r.name, es.metadata.uid)
  return event ?? ready.message
}

/** The first terminal state among the pending resources of ours, if any. */
export async function findTerminal(k: Kube, pending: ResourceState[], vaultPath: string): Promise<SetupError | undefined> {
  for (const r of pending) {
    const found = WORKLOAD_KINDS.has(r.kind) ? await workloadTerminal(k, r) : r.kind === 'ExternalSecret' ? await externalSecretTerminal(k, r, vaultPath) : undefined
    if (found) return found
  }
  return undefined
}
