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
  /** Only for custom kinds: the openAPIV3Schema of this version, used to validate and prune. */
  schema?: Schema
  custom: boolean
}

const builtin = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  statusSubresource: boolean,
  shortNames: string[] = [],
): ResourceType => ({ group, version, kind, plural, singular: kind.toLowerCase(), shortNames, namespaced, statusSubresource, custom: false })

export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, true, ['ns']),
  builtin('', 'v1', 'Pod', 'pods', true, true, ['po']),
  builtin('', 'v1', 'Secret', 'secrets', true, false),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, false, ['cm']),
  builtin('', 'v1', 'Service', 'services', true, true, ['svc']),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', true, false, ['sa']),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, true, ['deploy']),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true, false),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true, false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false, false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false, false),
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
      schema: v.schema?.openAPIV3Schema,
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
