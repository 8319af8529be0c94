// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for
// (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the columns a real API server
// prints for the built-in kinds (NAME, READY, STATUS, AGE, ...) and, for custom kinds, the CRD's
// additionalPrinterColumns (NAME and AGE when it has none). Each row carries the object's metadata
// (PartialObjectMetadata) unless the client asks otherwise (`includeObject`), which is how kubectl
// adds the NAMESPACE column of `-A`.
import type { KObject, Store } from '../store.ts'
import { humanDuration, jsonPathValues } from './printing.ts'
import type { ResourceType } from './kinds.ts'

export const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io'

interface Column {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  /** 0 shows by default; higher only with `-o wide` */
  priority?: number
  description?: string
  format?: string
}

interface Printer {
  columns: Column[]
  cells(o: KObject, now: number): unknown[]
}

/** Whether an Accept header asks for a meta.k8s.io/v1 Table (kubectl lists v1beta1 and plain JSON after it). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => {
    const params = new Map(part.split(';').slice(1).map((p) => p.trim().split('=') as [string, string]))
    return params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io' && params.get('v') === 'v1'
  })
}

const age = (o: KObject, now: number) => (o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>')
const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' }
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' }
const col = (name: string, type: Column['type'] = 'string', priority = 0): Column => ({ name, type, priority })
const count = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v).length : 0)
const orNone = (v: unknown) => (v === undefined || v === null || v === '' ? '<none>' : v)

const ACCESS_MODES: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' }
const accessModes = (modes: unknown) => (Array.isArray(modes) ? modes.map((m) => ACCESS_MODES[m] ?? m).join(',') : '')

function podReady(o: KObject): string {
  const total = Array.isArray(o.spec?.containers) ? o.spec.containers.length : 0
  const ready = Array.isArray(o.status?.containerStatuses) ? o.status.containerStatuses.filter((c: any) => c?.ready).length : 0
  return `${ready}/${total}`
}

function podStatus(o: KObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating'
  const waiting = (o.status?.containerStatuses ?? []).map((c: any) => c?.state?.waiting?.reason ?? c?.state?.terminated?.reason).find(Boolean)
  return waiting ?? o.status?.reason ?? o.status?.phase ?? 'Pending'
}

function servicePorts(o: KObject): string {
  const ports: any[] = Array.isArray(o.spec?.ports) ? o.spec.ports : []
  if (ports.length === 0) return '<none>'
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',')
}

function jobStatus(o: KObject): string {
  const conditions: any[] = o.status?.conditions ?? []
  const isTrue = (type: string) => conditions.some((c) => c?.type === type && c?.status === 'True')
  if (isTrue('Complete')) return 'Complete'
  if (isTrue('Failed')) return 'Failed'
  if (o.metadata.deletionTimestamp) return 'Terminating'
  return 'Running'
}

function jobDuration(o: KObject, now: number): string {
  const start = o.status?.startTime ? Date.parse(o.status.startTime) : undefined
  if (start === undefined) return ''
  const end = o.status?.completionTime ? Date.parse(o.status.completionTime) : now
  return humanDuration(end - start)
}

/** The printers of the built-in kinds, by `group/Kind`, with the columns `kubectl get` shows for them. */
const BUILTIN_PRINTERS: Record<string, Printer> = {
  '/Namespace': { columns: [NAME, col('Status'), AGE], cells: (o, now) => [o.metadata.name, o.status?.phase ?? 'Active', age(o, now)] },
  '/Pod': {
    columns: [NAME, col('Ready'), col('Status'), col('Restarts', 'string'), AGE, col('IP', 'string', 1), col('Node', 'string', 1)],
    cells: (o, now) => [
      o.metadata.name,
      podReady(o),
      podStatus(o),
      String((o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (Number(c?.restartCount) || 0), 0)),
      age(o, now),
      orNone(o.status?.podIP),
      orNone(o.spec?.nodeName),
    ],
  },
  '/Service': {
    columns: [NAME, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), AGE, col('Selector', 'string', 1)],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.type ?? 'ClusterIP',
      orNone(o.spec?.clusterIP),
      orNone((o.status?.loadBalancer?.ingress ?? []).map((i: any) => i?.ip ?? i?.hostname).join(',')),
      servicePorts(o),
      age(o, now),
      orNone(Object.entries(o.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',')),
    ],
  },
  '/ConfigMap': { columns: [NAME, col('Data', 'integer'), AGE], cells: (o, now) => [o.metadata.name, count(o.data) + count(o.binaryData), age(o, now)] },
  '/Secret': { columns: [NAME, col('Type'), col('Data', 'integer'), AGE], cells: (o, now) => [o.metadata.name, o.type ?? 'Opaque', count(o.data) + count(o.stringData), age(o, now)] },
  '/ServiceAccount': { columns: [NAME, col('Secrets', 'integer'), AGE], cells: (o, now) => [o.metadata.name, Array.isArray(o.secrets) ? o.secrets.length : 0, age(o, now)] },
  '/PersistentVolumeClaim': {
    columns: [NAME, col('Status'), col('Volume'), col('Capacity'), col('Access Modes'), col('StorageClass'), col('VolumeAttributesClass'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      o.status?.phase ?? 'Pending',
      o.spec?.volumeName ?? '',
      o.status?.capacity?.storage ?? '',
      accessModes(o.status?.accessModes ?? o.spec?.accessModes),
      o.spec?.storageClassName ?? '<unset>',
      o.spec?.volumeAttributesClassName ?? '<unset>',
      age(o, now),
    ],
  },
  '/PersistentVolume': {
    columns: [NAME, col('Capacity'), col('Access Modes'), col('Reclaim Policy'), col('Status'), col('Claim'), col('StorageClass'), col('VolumeAttributesClass'), col('Reason'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.capacity?.storage ?? '',
      accessModes(o.spec?.accessModes),
      o.spec?.persistentVolumeReclaimPolicy ?? 'Retain',
      o.status?.phase ?? 'Available',
      o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : '',
      o.spec?.storageClassName ?? '',
      o.spec?.volumeAttributesClassName ?? '<unset>',
      o.status?.reason ?? '',
      age(o, now),
    ],
  },
  // the API server's Event printer: no NAME column by default (it is the last, with -o wide)
  '/Event': {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Subobject', 'string', 1), col('Source', 'string', 1), col('Message'), col('First Seen', 'string', 1), col('Count', 'string', 1), { ...NAME, priority: 1 }],
    cells: (o: any, now) => {
      const since = (t: unknown) => (typeof t === 'string' && t ? humanDuration(now - Date.parse(t)) : '<unknown>')
      const first = o.firstTimestamp ? since(o.firstTimestamp) : since(o.eventTime)
      const last = o.series ? since(o.series.lastObservedTime) : o.lastTimestamp ? since(o.lastTimestamp) : first
      const involved = o.involvedObject ?? {}
      const kind = String(involved.kind ?? '').toLowerCase()
      const component = o.source?.component || o.reportingComponent || ''
      const instance = o.source?.host || o.reportingInstance || ''
      return [
        last,
        o.type ?? '',
        o.reason ?? '',
        involved.name ? `${kind}/${involved.name}` : kind,
        involved.fieldPath ?? '',
        instance ? `${component}, ${instance}` : component,
        String(o.message ?? '').trim(),
        first,
        o.series?.count ?? (o.count || 1),
        o.metadata.name,
      ]
    },
  },
  '/ReplicationController': {
    columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, o.spec?.replicas ?? 1, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o, now)],
  },
  'apps/Deployment': {
    columns: [NAME, col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, age(o, now)],
  },
  'apps/StatefulSet': { columns: [NAME, col('Ready'), AGE], cells: (o, now) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, age(o, now)] },
  'apps/ReplicaSet': {
    columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, o.spec?.replicas ?? 1, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o, now)],
  },
  'apps/DaemonSet': {
    columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      o.status?.desiredNumberScheduled ?? 0,
      o.status?.currentNumberScheduled ?? 0,
      o.status?.numberReady ?? 0,
      o.status?.updatedNumberScheduled ?? 0,
      o.status?.numberAvailable ?? 0,
      orNone(Object.entries(o.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',')),
      age(o, now),
    ],
  },
  'batch/Job': {
    columns: [NAME, col('Status'), col('Completions'), col('Duration'), AGE],
    cells: (o, now) => [o.metadata.name, jobStatus(o), `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`, jobDuration(o, now), age(o, now)],
  },
  'batch/CronJob': {
    columns: [NAME, col('Schedule'), col('Timezone'), col('Suspend', 'boolean'), col('Active', 'integer'), col('Last Schedule'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.schedule ?? '',
      orNone(o.spec?.timeZone),
      Boolean(o.spec?.suspend),
      Array.isArray(o.status?.active) ? o.status.active.length : 0,
      o.status?.lastScheduleTime ? humanDuration(now - Date.parse(o.status.lastScheduleTime)) : '<none>',
      age(o, now),
    ],
  },
  'networking.k8s.io/Ingress': {
    columns: [NAME, col('Class'), col('Hosts'), col('Address'), col('Ports'), AGE],
    cells: (o, now) => [
      o.metadata.name,
      orNone(o.spec?.ingressClassName),
      (o.spec?.rules ?? []).map((r: any) => r?.host ?? '*').join(',') || '*',
      (o.status?.loadBalancer?.ingress ?? []).map((i: any) => i?.ip ?? i?.hostname).join(','),
      Array.isArray(o.spec?.tls) && o.spec.tls.length ? '80, 443' : '80',
      age(o, now),
    ],
  },
  'rbac.authorization.k8s.io/RoleBinding': { columns: [NAME, col('Role'), AGE], cells: (o, now) => [o.metadata.name, `${o.roleRef?.kind}/${o.roleRef?.name}`, age(o, now)] },
  'rbac.authorization.k8s.io/ClusterRoleBinding': { columns: [NAME, col('Role'), AGE], cells: (o, now) => [o.metadata.name, `${o.roleRef?.kind}/${o.roleRef?.name}`, age(o, now)] },
  'storage.k8s.io/StorageClass': {
    columns: [NAME, col('Provisioner'), col('ReclaimPolicy'), col('VolumeBindingMode'), col('AllowVolumeExpansion', 'boolean'), AGE],
    cells: (o, now) => [o.metadata.name, o.provisioner ?? '', o.reclaimPolicy ?? 'Delete', o.volumeBindingMode ?? 'Immediate', Boolean(o.allowVolumeExpansion), age(o, now)],
  },
}

/** Kinds a real server prints as NAME and CREATED AT (the timestamp itself, not an age). */
const CREATED_AT_KINDS = new Set(['rbac.authorization.k8s.io/Role', 'rbac.authorization.k8s.io/ClusterRole', 'apiextensions.k8s.io/CustomResourceDefinition'])
const CREATED_AT: Printer = { columns: [NAME, { name: 'Created At', type: 'date' }], cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''] }
const NAME_AGE: Printer = { columns: [NAME, AGE], cells: (o, now) => [o.metadata.name, age(o, now)] }

/** The printer of a custom kind: its CRD's additionalPrinterColumns for this version, after NAME. */
function crdPrinter(store: Store, type: ResourceType): Printer {
  const crd = store.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `${type.plural}.${type.group}` })
  const version = (crd?.spec?.versions ?? []).find((v: any) => v?.name === type.version)
  const defined: any[] = version?.additionalPrinterColumns ?? crd?.spec?.additionalPrinterColumns ?? []
  if (defined.length === 0) return NAME_AGE
  const columns: Column[] = [NAME, ...defined.map((c) => ({ name: String(c.name), type: c.type ?? 'string', priority: Number(c.priority ?? 0), description: c.description ?? '' }))]
  return {
    columns,
    cells: (o, now) => [
      o.metadata.name,
      ...defined.map((c) => {
        const values = jsonPathValues(o, String(c.jsonPath ?? ''))
        if (values.length === 0) return null
        // a date column prints as an age, as the API server's CRD printer does
        if (c.type === 'date') return typeof values[0] === 'string' ? humanDuration(now - Date.parse(values[0])) : null
        return values.length === 1 ? values[0] : values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',')
      }),
    ],
  }
}

function printerOf(store: Store, type: ResourceType): Printer {
  if (type.custom) return crdPrinter(store, type)
  const key = `${type.group}/${type.kind}`
  return BUILTIN_PRINTERS[key] ?? (CREATED_AT_KINDS.has(key) ? CREATED_AT : NAME_AGE)
}

/** What a row carries besides its cells: `includeObject=None|Metadata|Object` (default Metadata). */
function rowObject(o: KObject, includeObject: string | null): unknown {
  if (includeObject === 'None') return undefined
  if (includeObject === 'Object') return o
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }
}

/** The Table of `objects` (all of `type`), as `kubectl get` prints it. */
export function tableOf(store: Store, type: ResourceType, objects: KObject[], opts: { resourceVersion?: string; includeObject: string | null }) {
  const printer = printerOf(store, type)
  const now = Date.now()
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: printer.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows: objects.map((o) => {
      const object = rowObject(o, opts.includeObject)
      return { cells: printer.cells(o, now), ...(object ? { object } : {}) }
    }),
  }
}
