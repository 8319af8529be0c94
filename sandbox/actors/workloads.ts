// What the kube-controller-manager and kubelet would do for Deployments: one Running, Ready Pod per
// replica for the current pod template (a changed template replaces the pods), and the Deployment's
// status (available, updated, observedGeneration, Available condition). Orphaned pods are collected.
import { createHash, randomBytes } from 'node:crypto'
import type { KObject, Store } from '../store.ts'

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const MANAGER = 'kube-controller-manager'

export function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template ?? {})).digest('hex').slice(0, 10)
}

/** A Running, Ready pod (also used for vault-0). */
export function runningPod(opts: { name: string; namespace: string; labels: Record<string, string>; spec: any; owner?: KObject; annotations?: Record<string, string> }): KObject {
  const t = now()
  const containers: any[] = opts.spec?.containers ?? []
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      labels: opts.labels,
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${opts.owner.metadata.name}-${templateHash(opts.owner.spec?.template)}`, uid: opts.owner.metadata.uid, controller: true, blockOwnerDeletion: true, deployment: opts.owner.metadata.name }] } : {}),
    },
    spec: { nodeName: 'sandbox-node', ...opts.spec },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: t }, { type: 'Ready', status: 'True', lastTransitionTime: t }, { type: 'ContainersReady', status: 'True', lastTransitionTime: t }, { type: 'PodScheduled', status: 'True', lastTransitionTime: t }],
      containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: `${c.image}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } })),
      podIP: `10.42.0.${1 + (randomBytes(1)[0] % 250)}`,
      startTime: t,
    },
  }
}

/** `namespace/deployment` -> the container waiting reason its pods report (ImagePullBackOff, ...). */
export type PodFaults = Map<string, string>

/** The status a kubelet reports for a container that cannot start, with the message it gives. */
export function waitingStatus(pod: KObject, reason: string): any {
  const containers: any[] = pod.spec?.containers ?? []
  const message = (image: string, name: string) =>
    reason === 'ImagePullBackOff' ? `Back-off pulling image "${image}"`
      : reason === 'ErrImagePull' ? `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`
      : reason === 'CrashLoopBackOff' ? `back-off 10s restarting failed container=${name} pod=${pod.metadata.name}`
      : reason === 'CreateContainerConfigError' ? 'secret "missing-config" not found'
      : reason
  return {
    ...pod.status,
    phase: reason === 'CrashLoopBackOff' ? 'Running' : 'Pending',
    conditions: (pod.status?.conditions ?? []).map((c: any) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'ContainersNotReady' } : c)),
    containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: reason === 'CrashLoopBackOff' ? 3 : 0, state: { waiting: { reason, message: message(c.image, c.name) } } })),
  }
}

const podReady = (p: KObject) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')

function createPod(store: Store, pod: KObject): void {
  const created = store.create(pod, MANAGER)
  // Where the API keeps status on a subresource, the kubelet reports it separately.
  if (created.status?.phase !== 'Running') store.updateStatus({ apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name }, pod.status)
}

/** One reconcile pass over all Deployments. Returns whether anything was written. */
export function reconcileDeployments(store: Store, faults: PodFaults = new Map()): boolean {
  let wrote = false
  const deployments = store.list('apps/v1', 'Deployment')
  const pods = store.list('v1', 'Pod')
  const byUid = new Set(deployments.map((d) => d.metadata.uid))
  for (const d of deployments) {
    const ns = d.metadata.namespace!
    const hash = templateHash(d.spec?.template)
    const replicas = d.spec?.replicas ?? 1
    const owned = pods.filter((p) => ((p.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === d.metadata.uid))
    for (const p of owned) {
      if (p.metadata.labels?.['pod-template-hash'] !== hash) {
        store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name })
        wrote = true
      }
    }
    const current = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)
    for (let i = current.length; i < replicas; i++) {
      const name = `${d.metadata.name}-${hash.slice(0, 9)}-${randomBytes(3).toString('hex').slice(0, 5)}`
      createPod(store, runningPod({ name, namespace: ns, labels: { ...(d.spec?.template?.metadata?.labels ?? {}), 'pod-template-hash': hash }, spec: d.spec?.template?.spec, owner: d }))
      wrote = true
    }
    for (const p of current.slice(replicas)) {
      store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name })
      wrote = true
    }
    // A fault switched on makes the kubelet report the pods stuck; switched off, they run again.
    const fault = faults.get(`${ns}/${d.metadata.name}`)
    let available = 0
    for (const p of store.list('v1', 'Pod', ns).filter((p) => ((p.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === d.metadata.uid))) {
      const stuck = p.status?.containerStatuses?.[0]?.state?.waiting?.reason
      if (fault && stuck !== fault) {
        store.updateStatus({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name }, waitingStatus(p, fault))
        wrote = true
      } else if (!fault && stuck) {
        store.updateStatus({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name }, runningPod({ name: p.metadata.name, namespace: ns, labels: p.metadata.labels ?? {}, spec: p.spec }).status)
        wrote = true
      }
      if (!fault && (podReady(p) || stuck)) available++
    }
    available = Math.min(available, replicas)
    const prev = d.status ?? {}
    const since = (prev.conditions ?? []).find((c: any) => c.type === 'Available')?.lastTransitionTime ?? now()
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: available,
      availableReplicas: available,
      ...(available < replicas ? { unavailableReplicas: replicas - available } : {}),
      conditions: [
        available >= replicas
          ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastTransitionTime: since, lastUpdateTime: since }
          : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastTransitionTime: since, lastUpdateTime: since },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${d.metadata.name}-${hash.slice(0, 9)}" has successfully progressed.`, lastTransitionTime: since, lastUpdateTime: since },
      ],
    }
    if (JSON.stringify(prev) !== JSON.stringify(status)) {
      store.updateStatus({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: d.metadata.name }, status)
      wrote = true
    }
  }
  for (const p of pods) {
    const refs: any[] = (p.metadata as any).ownerReferences ?? []
    if (refs.some((r) => r.kind === 'ReplicaSet') && !refs.some((r) => byUid.has(r.uid))) {
      store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name })
      wrote = true
    }
  }
  return wrote
}
