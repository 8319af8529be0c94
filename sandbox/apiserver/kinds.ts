// The resource types the sandbox serves: a fixed table of built-in kinds, plus one type per served
// version of every CustomResourceDefinition in the store (a custom kind exists only while its CRD does).
import type { Schema } from './schema.ts'

export interface ResourceType {
  group: string // '' for the core group
  version: string
  kind: string
  plural: string
  singular: string
  shortNames: string[]
  namespaced: boolean
  /** Whether `/status` is a separate subresource (then writes to the main resource keep the old status). */
  statusSubresource: boolean
  /** The verbs discovery lists (what kubectl checks before `get`, `delete`, `apply`, `-w`). */
  verbs: string[]
  /** Discovery categories (`all` makes `kubectl get all` list the kind). */
  categories: string[]
  /**
   * The `/scale` subresource (an autoscaling/v1 Scale, what `kubectl scale` reads and writes): where
   * the object keeps its desired and current replicas and, for custom kinds, its selector string.
   * Built-in kinds read the selector from `spec.selector`.
   */
  scale?: ScaleSubresource
  /** Only for custom kinds: the openAPIV3Schema of this version, used to validate and prune. */
  schema?: Schema
  /**
   * Only for custom kinds: the `@kubernetes-models/*` package whose model of this kind holds the
   * upstream CRD schema (named by the CRD's MODEL_ANNOTATION); objects are validated against it too.
   */
  modelPackage?: string
  custom: boolean
}

export interface ScaleSubresource {
  specReplicasPath: string
  statusReplicasPath: string
  labelSelectorPath?: string
}

/** On a CRD the sandbox installed: the package whose models carry this CRD's real schema. */
export const MODEL_ANNOTATION = 'sandbox.k8s.local/schema-from'

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

const builtin = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  statusSubresource: boolean,
  shortNames: string[] = [],
  opts: { verbs?: string[]; categories?: string[]; scale?: ScaleSubresource } = {},
): ResourceType => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  shortNames,
  namespaced,
  statusSubresource,
  verbs: opts.verbs ?? ALL_VERBS,
  categories: opts.categories ?? [],
  ...(opts.scale ? { scale: opts.scale } : {}),
  custom: false,
})

const ALL = { categories: ['all'] }
/** The workloads with a `/scale` subresource: `kubectl scale` and HPAs change spec.replicas through it. */
const SCALABLE = { ...ALL, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }
const RBAC = 'rbac.authorization.k8s.io'

/**
 * The built-in kinds of a Kubernetes 1.33 API server that homelab repos use, with the group,
 * version, scope, short names, verbs, categories and status subresource `kubectl api-resources`
 * shows on k3s v1.33.
 */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, true, ['ns'], { verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  builtin('', 'v1', 'Pod', 'pods', true, true, ['po'], ALL),
  builtin('', 'v1', 'Secret', 'secrets', true, false),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, false, ['cm']),
  builtin('', 'v1', 'Service', 'services', true, true, ['svc'], ALL),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', true, false, ['sa']),
  builtin('', 'v1', 'PersistentVolume', 'persistentvolumes', false, true, ['pv']),
  builtin('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, true, ['pvc']),
  builtin('', 'v1', 'Endpoints', 'endpoints', true, false, ['ep']),
  builtin('', 'v1', 'Event', 'events', true, false, ['ev']),
  builtin('', 'v1', 'ReplicationController', 'replicationcontrollers', true, true, ['rc'], SCALABLE),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, true, ['deploy'], SCALABLE),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets', true, true, ['sts'], SCALABLE),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets', true, true, ['ds'], ALL),
  builtin('apps', 'v1', 'ReplicaSet', 'replicasets', true, true, ['rs'], SCALABLE),
  builtin('batch', 'v1', 'Job', 'jobs', true, true, [], ALL),
  builtin('batch', 'v1', 'CronJob', 'cronjobs', true, true, ['cj'], ALL),
  builtin(RBAC, 'v1', 'Role', 'roles', true, false),
  builtin(RBAC, 'v1', 'RoleBinding', 'rolebindings', true, false),
  builtin(RBAC, 'v1', 'ClusterRole', 'clusterroles', false, false),
  builtin(RBAC, 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false, false),
  builtin('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, true, ['ing']),
  builtin('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, false, ['netpol']),
  builtin('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, false, ['sc']),
  builtin('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, true, ['pdb']),
  builtin('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, true, ['hpa'], ALL),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, true, ['crd', 'crds']),
]

export const CRD_API_VERSION = 'apiextensions.k8s.io/v1'

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) }
}

export function joinApiVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version
}

/** The resource types a CRD object serves (one per served version). */
export function typesOfCrd(crd: any): ResourceType[] {
  const spec = crd?.spec ?? {}
  const names = spec.names ?? {}
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : []
  return versions
    .filter((v) => v && v.served !== false && typeof v.name === 'string')
    .map((v) => ({
      group: String(spec.group ?? ''),
      version: v.name,
      kind: String(names.kind ?? ''),
      plural: String(names.plural ?? ''),
      singular: String(names.singular ?? String(names.kind ?? '').toLowerCase()),
      shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
      namespaced: spec.scope !== 'Cluster',
      statusSubresource: Boolean(v.subresources?.status),
      ...(typeof v.subresources?.scale?.specReplicasPath === 'string' && typeof v.subresources.scale.statusReplicasPath === 'string'
        ? {
            scale: {
              specReplicasPath: v.subresources.scale.specReplicasPath,
              statusReplicasPath: v.subresources.scale.statusReplicasPath,
              ...(typeof v.subresources.scale.labelSelectorPath === 'string' ? { labelSelectorPath: v.subresources.scale.labelSelectorPath } : {}),
            },
          }
        : {}),
      verbs: ALL_VERBS,
      categories: Array.isArray(names.categories) ? names.categories.map(String) : [],
      schema: v.schema?.openAPIV3Schema,
      ...(typeof crd?.metadata?.annotations?.[MODEL_ANNOTATION] === 'string' ? { modelPackage: crd.metadata.annotations[MODEL_ANNOTATION] } : {}),
      custom: true,
    }))
}

/** Problems that make a CRD unacceptable, as Status causes (empty when it is fine). */
export function crdProblems(crd: any): { field: string; message: string; reason: string }[] {
  const problems: { field: string; message: string; reason: string }[] = []
  const spec = crd?.spec
  const need = (ok: unknown, field: string) => {
    if (!ok) problems.push({ field, message: 'Required value', reason: 'FieldValueRequired' })
  }
  need(spec?.group, 'spec.group')
  need(spec?.names?.plural, 'spec.names.plural')
  need(spec?.names?.kind, 'spec.names.kind')
  need(spec?.scope, 'spec.scope')
  need(Array.isArray(spec?.versions) && spec.versions.length > 0, 'spec.versions')
  if (spec?.scope && spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    problems.push({ field: 'spec.scope', message: `Unsupported value: "${spec.scope}": supported values: "Cluster", "Namespaced"`, reason: 'FieldValueNotSupported' })
  if (spec?.group && spec?.names?.plural && crd.metadata?.name !== `${spec.names.plural}.${spec.group}`)
    problems.push({ field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group`, reason: 'FieldValueInvalid' })
  for (const [i, v] of (Array.isArray(spec?.versions) ? spec.versions : []).entries()) {
    if (!v?.schema?.openAPIV3Schema) problems.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required', reason: 'FieldValueRequired' })
  }
  return problems
}
