// /openapi/v3: the index of group-version documents and the documents themselves, with what kubectl
// reads from them. `kubectl apply` (and create, replace) first checks that the PATCH operation of
// the kind (found by its x-kubernetes-group-version-kind) takes a `fieldValidation` parameter; if so,
// it leaves validation to the server (fieldValidation=Strict), otherwise it downloads the schemas to
// validate itself and fails when it cannot. Custom kinds carry their CRD's schema, so
// `kubectl explain` works for them. /openapi/v2 is not served: kubectl only falls back to it when
// v3 is missing.
import { createHash } from 'node:crypto'
import { VERSION_INFO } from './discovery.ts'
import type { ResourceType } from './kinds.ts'

const groupVersionPath = (t: ResourceType) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`)
const hashOf = (doc: unknown) => createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase()

/** The name a real server gives a custom kind's schema: reversed group, version, kind. */
const schemaName = (t: ResourceType) => [...t.group.split('.').reverse(), t.version, t.kind].join('.')

const queryParameter = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } })
const WRITE_PARAMETERS = [
  queryParameter('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParameter('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  queryParameter('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn or Strict.'),
]

function operations(t: ResourceType, item: boolean) {
  const gvk = { group: t.group, version: t.version, kind: t.kind }
  const op = (action: string, parameters: unknown[] = []) => ({
    operationId: `${action}${t.kind}`,
    parameters,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  })
  if (!item) return { get: op('list'), post: op('post', WRITE_PARAMETERS), delete: op('deletecollection') }
  return {
    get: op('get'),
    put: op('put', WRITE_PARAMETERS),
    patch: op('patch', [...WRITE_PARAMETERS, queryParameter('force', 'Force is going to "force" Apply requests.')]),
    delete: op('delete'),
  }
}

/** The OpenAPI v3 document of one group-version (undefined when nothing serves it). */
export function groupVersionDocument(types: ResourceType[], path: string) {
  const mine = types.filter((t) => groupVersionPath(t) === path)
  if (mine.length === 0) return undefined
  const paths: Record<string, unknown> = {}
  const schemas: Record<string, unknown> = {}
  for (const t of mine) {
    const collection = `/${path}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`
    paths[collection] = operations(t, false)
    paths[`${collection}/{name}`] = operations(t, true)
    if (t.schema) schemas[schemaName(t)] = { ...t.schema, 'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }] }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion }, paths, components: { schemas } }
}

/** /openapi/v3: every served group-version, with a hash that changes when its document does. */
export function openApiIndex(types: ResourceType[]) {
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const path of new Set(types.map(groupVersionPath))) {
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(groupVersionDocument(types, path))}` }
  }
  return { paths }
}
