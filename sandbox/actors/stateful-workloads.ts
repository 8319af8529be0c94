// What kube-controller-manager and the kubelet do for the workload kinds beside Deployments
// (sandbox/actors/workloads.ts): StatefulSets get their ordinal pods and the claims of their
// volumeClaimTemplates, DaemonSets one pod on the sandbox's one node, standalone ReplicaSets and
// Jobs report done (a Job completes at once), CronJobs report the empty status a new CronJob has,
// HorizontalPodAutoscalers a settled scale within their range.
// Statuses carry what Argo CD's health checks read (observedGeneration, ready/updated counts,
// revisions, Complete condition), so a finished rollout is Healthy and a changed template rolls.
import { randomBytes } from 'node:crypto'
import type { KObject, Store } from '../store.ts'
import { runningPod, templateHash } from './workloads.ts'

const MANAGER = 'kube-controller-manager'
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
const ownedBy = (p: KObject, owner: KObject) => ((p.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === owner.metadata.uid)

function ownerRef(owner: KObject) {
  return [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }]
}

/** A running pod of a controller other than a Deployment (its owner is the workload itself). */
function podFor(owner: KObject, name: string, revisionLabel: Record<string, string>): KObject {
  const pod = runningPod({ name, namespace: owner.metadata.namespace!, labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), ...revisionLabel }, spec: owner.spec?.template?.spec })
  ;(pod.metadata as any).ownerReferences = ownerRef(owner)
  return pod
}

function setStatus(store: Store, o: KObject, status: unknown): boolean {
  if (same(o.status, status)) return false
  store.updateStatus({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }, status)
  return true
}

function createPod(store: Store, pod: KObject): void {
  const created = store.create(pod, MANAGER)
  if (created.status?.phase !== 'Running') store.updateStatus({ apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name }, pod.status)
}

function reconcileStatefulSet(store: Store, sts: KObject, pods: KObject[]): boolean {
  let wrote = false
  const ns = sts.metadata.namespace!
  const replicas = sts.spec?.replicas ?? 1
  const revision = `${sts.metadata.name}-${templateHash(sts.spec?.template)}`
  const mine = pods.filter((p) => ownedBy(p, sts))
  for (let i = 0; i < replicas; i++) {
    // Claims from volumeClaimTemplates are named <template>-<statefulset>-<ordinal> and outlive the pods.
    for (const t of sts.spec?.volumeClaimTemplates ?? []) {
      const claim = `${t.metadata?.name}-${sts.metadata.name}-${i}`
      if (store.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: claim })) continue
      store.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim, namespace: ns, labels: { ...(sts.spec?.selector?.matchLabels ?? {}) } }, spec: structuredClone(t.spec ?? {}) }, MANAGER)
      wrote = true
    }
    const name = `${sts.metadata.name}-${i}`
    const pod = mine.find((p) => p.metadata.name === name)
    if (pod && pod.metadata.labels?.['controller-revision-hash'] === revision) continue
    if (pod) store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name })
    const fresh = podFor(sts, name, { 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i) })
    for (const t of sts.spec?.volumeClaimTemplates ?? []) {
      fresh.spec.volumes = [...(fresh.spec.volumes ?? []), { name: t.metadata?.name, persistentVolumeClaim: { claimName: `${t.metadata?.name}-${sts.metadata.name}-${i}` } }]
    }
    createPod(store, fresh)
    wrote = true
  }
  for (const p of mine) {
    const ordinal = Number(p.metadata.name.slice(sts.metadata.name.length + 1))
    if (!(ordinal < replicas)) {
      store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name })
      wrote = true
    }
  }
  const status = { observedGeneration: sts.metadata.generation ?? 1, replicas, readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas, currentRevision: revision, updateRevision: revision, collisionCount: 0 }
  return setStatus(store, sts, status) || wrote
}

function reconcileDaemonSet(store: Store, ds: KObject, pods: KObject[]): boolean {
  let wrote = false
  const ns = ds.metadata.namespace!
  const hash = templateHash(ds.spec?.template)
  const mine = pods.filter((p) => ownedBy(p, ds))
  for (const p of mine.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== hash)) {
    store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name })
    wrote = true
  }
  if (!mine.some((p) => p.metadata.labels?.['controller-revision-hash'] === hash)) {
    createPod(store, podFor(ds, `${ds.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`, { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) }))
    wrote = true
  }
  const status = { observedGeneration: ds.metadata.generation ?? 1, currentNumberScheduled: 1, desiredNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1, numberAvailable: 1, updatedNumberScheduled: 1 }
  return setStatus(store, ds, status) || wrote
}

function reconcileReplicaSet(store: Store, rs: KObject): boolean {
  const replicas = rs.spec?.replicas ?? 1
  return setStatus(store, rs, { observedGeneration: rs.metadata.generation ?? 1, replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas })
}

function reconcileJob(store: Store, job: KObject): boolean {
  if (job.status?.conditions?.some((c: any) => c.type === 'Complete' || c.type === 'Failed')) return false
  const t = now()
  const done = [{ type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: t, lastTransitionTime: t }, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: t, lastTransitionTime: t }]
  return setStatus(store, job, { conditions: done, startTime: t, completionTime: t, succeeded: job.spec?.completions ?? 1, ready: 0, terminating: 0, uncountedTerminatedPods: {} })
}

/** An HPA that found its metrics and sits within its range (what a settled homelab shows). */
function reconcileHpa(store: Store, hpa: KObject): boolean {
  if (hpa.status?.conditions?.length) return false
  const t = now()
  const replicas = hpa.spec?.minReplicas ?? 1
  return setStatus(store, hpa, {
    currentReplicas: replicas,
    desiredReplicas: replicas,
    conditions: [
      { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size', lastTransitionTime: t },
      { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)', lastTransitionTime: t },
      { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range', lastTransitionTime: t },
    ],
  })
}

function reconcileCronJob(store: Store, cj: KObject): boolean {
  return cj.status ? false : setStatus(store, cj, {})
}

/** One pass over StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and HPAs. Returns whether anything was written. */
export function reconcileStatefulWorkloads(store: Store): boolean {
  let wrote = false
  const pods = store.list('v1', 'Pod')
  for (const sts of store.list('apps/v1', 'StatefulSet')) wrote = reconcileStatefulSet(store, sts, pods) || wrote
  for (const ds of store.list('apps/v1', 'DaemonSet')) wrote = reconcileDaemonSet(store, ds, pods) || wrote
  for (const rs of store.list('apps/v1', 'ReplicaSet')) wrote = reconcileReplicaSet(store, rs) || wrote
  for (const job of store.list('batch/v1', 'Job')) wrote = reconcileJob(store, job) || wrote
  for (const cj of store.list('batch/v1', 'CronJob')) wrote = reconcileCronJob(store, cj) || wrote
  for (const hpa of store.list('autoscaling/v2', 'HorizontalPodAutoscaler')) wrote = reconcileHpa(store, hpa) || wrote
  // Pods of a workload that is gone are collected (garbage collector).
  const owners = new Set([...store.list('apps/v1', 'StatefulSet'), ...store.list('apps/v1', 'DaemonSet')].map((o) => o.metadata.uid))
  for (const p of pods) {
    const refs: any[] = (p.metadata as any).ownerReferences ?? []
    if (refs.some((r) => r.kind === 'StatefulSet' || r.kind === 'DaemonSet') && !refs.some((r) => owners.has(r.uid))) {
      store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name })
      wrote = true
    }
  }
  return wrote
}
