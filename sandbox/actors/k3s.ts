// The parts of k3s a homelab's manifests lean on: the `local-path` StorageClass (the default) and its
// provisioner, which binds each claim of a known class to a new PersistentVolume (and the classes the
// owner installed by hand, taken as there when nothing in the repo defines them); servicelb
// (klipper-lb), which gives LoadBalancer Services the node's address; and the bundled Traefik, which
// publishes that address on Ingresses; and the aggregator's check that marks APIServices Available.
// Without these, Argo CD would see claims Pending, Services/Ingresses without a load balancer
// address and APIServices never available: Progressing forever.
import type { KObject, Store } from '../store.ts'

export const NODE_IP = '192.168.1.50'
export const LOCAL_PATH = 'local-path'
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class'
const MANAGER = 'k3s'

/** The StorageClass k3s installs (its local-path-provisioner). */
export function localPathStorageClass(): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    provisioner: 'rancher.io/local-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  }
}

/** Where a StorageClass the sandbox takes as installed by hand says so (the start report reads it too). */
export const OUT_OF_BAND_ANNOTATION = 'sandbox.homelab/installed-out-of-band'

/** The storage classes the manifests' claims (and StatefulSets' claim templates) name. */
function claimedClasses(objects: KObject[]): Set<string> {
  const names = new Set<string>()
  for (const o of objects) {
    if (o.kind === 'PersistentVolumeClaim' && o.spec?.storageClassName) names.add(String(o.spec.storageClassName))
    if (o.kind === 'StatefulSet') for (const t of o.spec?.volumeClaimTemplates ?? []) if (t?.spec?.storageClassName) names.add(String(t.spec.storageClassName))
  }
  return names
}

/**
 * Storage classes the repo's claims use that nothing in the repo defines (and k3s does not ship): on
 * the homelab they were installed by hand long ago (an NFS provisioner, say), so the sandbox takes
 * them as there. local-path keeps k3s' own rules.
 */
export function storageClassesOutOfBand(objects: KObject[]): string[] {
  const defined = new Set(objects.filter((o) => o.kind === 'StorageClass').map((o) => o.metadata.name))
  return [...claimedClasses(objects)].filter((n) => n !== LOCAL_PATH && !defined.has(n)).sort()
}

/** Such a class: its provisioner binds a claim at once (Immediate), whether a Pod mounts it or not. */
export function outOfBandStorageClass(name: string): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, annotations: { [OUT_OF_BAND_ANNOTATION]: 'true' } },
    provisioner: `sandbox.homelab/${name}`,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  }
}

function defaultClass(classes: KObject[]): KObject | undefined {
  return classes.find((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')
}

/** The claims some Pod mounts, as `namespace/name`. */
function claimsInUse(store: Store): Set<string> {
  const used = new Set<string>()
  for (const pod of store.list('v1', 'Pod'))
    for (const v of pod.spec?.volumes ?? []) if (v?.persistentVolumeClaim?.claimName) used.add(`${pod.metadata.namespace}/${v.persistentVolumeClaim.claimName}`)
  return used
}

/**
 * Binds claims: a claim without a class gets the default one (as the DefaultStorageClass admission
 * plugin does), a claim of an existing class gets a new volume; a claim of an unknown class stays
 * Pending, as it would on k3s (a class the repo's claims name that nothing defines is installed at
 * start as one made by hand, Immediate: storageClassesOutOfBand). local-path binds
 * WaitForFirstConsumer: a claim no Pod mounts stays Pending, and Argo CD shows it, and its app,
 * Progressing for as long (gitops-engine's PVC check maps Pending to Progressing whatever the
 * cause; argoproj/argo-cd#29201 is open about it).
 */
function bindClaims(store: Store): boolean {
  let wrote = false
  const classes = store.list('storage.k8s.io/v1', 'StorageClass')
  let used: Set<string> | undefined
  for (const pvc of store.list('v1', 'PersistentVolumeClaim')) {
    if (pvc.status?.phase === 'Bound') continue
    const ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name }
    const className = pvc.spec?.storageClassName ?? defaultClass(classes)?.metadata.name
    const sc = classes.find((c) => c.metadata.name === className)
    const waitsForPod = sc?.volumeBindingMode === 'WaitForFirstConsumer' && !pvc.spec?.volumeName && !(used ??= claimsInUse(store)).has(`${pvc.metadata.namespace}/${pvc.metadata.name}`)
    if (!sc || waitsForPod) {
      if (pvc.status?.phase !== 'Pending') { store.updateStatus(ref, { phase: 'Pending' }); wrote = true }
      continue
    }
    const size = pvc.spec?.resources?.requests?.storage ?? '1Gi'
    const accessModes = pvc.spec?.accessModes ?? ['ReadWriteOnce']
    const volumeName = pvc.spec?.volumeName || `pvc-${pvc.metadata.uid}`
    if (!store.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: volumeName })) {
      store.create({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: volumeName, annotations: { 'pv.kubernetes.io/provisioned-by': String(sc.provisioner), 'local.path.provisioner/selected-node': 'sandbox-node' } },
        spec: {
          capacity: { storage: size },
          accessModes,
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
          storageClassName: sc.metadata.name,
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
          hostPath: { path: `/var/lib/rancher/k3s/storage/${volumeName}_${pvc.metadata.namespace}_${pvc.metadata.name}`, type: 'DirectoryOrCreate' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['sandbox-node'] }] }] } },
        },
      }, MANAGER)
      store.updateStatus({ apiVersion: 'v1', kind: 'PersistentVolume', name: volumeName }, { phase: 'Bound' })
    }
    if (pvc.spec?.volumeName !== volumeName || pvc.spec?.storageClassName !== sc.metadata.name) {
      const next = structuredClone(pvc)
      next.spec = { ...next.spec, volumeName, storageClassName: sc.metadata.name, volumeMode: next.spec?.volumeMode ?? 'Filesystem' }
      delete next.metadata.resourceVersion
      store.update(next, MANAGER)
    }
    store.updateStatus(ref, { phase: 'Bound', accessModes, capacity: { storage: size } })
    wrote = true
  }
  return wrote
}

/** servicelb and Traefik: the node's address on LoadBalancer Services and on Ingresses. */
function publishAddresses(store: Store): boolean {
  let wrote = false
  const published = (o: KObject) => Array.isArray(o.status?.loadBalancer?.ingress) && o.status.loadBalancer.ingress.length > 0
  for (const svc of store.list('v1', 'Service')) {
    if (svc.spec?.type !== 'LoadBalancer' || published(svc)) continue
    store.updateStatus({ apiVersion: 'v1', kind: 'Service', namespace: svc.metadata.namespace, name: svc.metadata.name }, { loadBalancer: { ingress: [{ ip: NODE_IP, ipMode: 'VIP' }] } })
    wrote = true
  }
  for (const ing of store.list('networking.k8s.io/v1', 'Ingress')) {
    if (published(ing)) continue
    store.updateStatus({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: ing.metadata.namespace, name: ing.metadata.name }, { loadBalancer: { ingress: [{ ip: NODE_IP }] } })
    wrote = true
  }
  return wrote
}

/**
 * The aggregator's availability check: an APIService served by the API server itself (no service)
 * is Available at once, one backed by a Service is Available while that Service exists.
 */
function checkApiServices(store: Store): boolean {
  let wrote = false
  for (const api of store.list('apiregistration.k8s.io/v1', 'APIService')) {
    const svc = api.spec?.service
    const found = !svc || store.get({ apiVersion: 'v1', kind: 'Service', namespace: svc.namespace, name: svc.name })
    const condition = found
      ? { type: 'Available', status: 'True', reason: svc ? 'Passed' : 'Local', message: svc ? 'all checks passed' : 'Local APIServices are always available' }
      : { type: 'Available', status: 'False', reason: 'ServiceNotFound', message: `service/${svc.name} in "${svc.namespace}" is not present` }
    const now = api.status?.conditions?.find((c: any) => c?.type === 'Available')
    if (now?.status === condition.status && now?.reason === condition.reason) continue
    store.updateStatus({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: api.metadata.name }, { conditions: [{ ...condition, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] })
    wrote = true
  }
  return wrote
}

/** One pass of k3s' own controllers. Returns whether anything was written. */
export function reconcileK3s(store: Store): boolean {
  const bound = bindClaims(store)
  const apis = checkApiServices(store)
  return publishAddresses(store) || bound || apis
}
