// The verbs on resources: get, list, create, update, patch (merge, JSON, strategic, apply), delete,
// each returning the HTTP code and body a real API server would.
import { parse as parseYaml } from 'yaml'
import { ApiError, type KObject, type Store } from '../store.ts'
import { joinApiVersion, type ResourceType } from './kinds.ts'
import { checkApplied, checkBody, checkPatched, directiveOf } from './field-validation.ts'
import { jsonPatch, mergePatch } from './patch.ts'
import { scaleOf, withScale } from './scale.ts'
import { fieldSelector, labelSelector } from './selectors.ts'
import { successStatus } from './status.ts'
import type { Target } from './routes.ts'

export interface Call {
  store: Store
  type: ResourceType
  target: Target
  query: URLSearchParams
  /** The field manager: `fieldManager` from the query, else the client's user agent (as a real server does). */
  manager: string
  dryRun: boolean
}

export interface Reply {
  code: number
  body: unknown
  /** Warnings for the client (`Warning: 299 - "..."` headers), e.g. the unknown fields a Warn request dropped. */
  warnings?: string[]
}

const apiVersionOf = (t: ResourceType) => joinApiVersion(t.group, t.version)
const refOf = (c: Call, name: string) => ({ apiVersion: apiVersionOf(c.type), kind: c.type.kind, namespace: c.type.namespaced ? c.target.namespace : undefined, name })
const write = <T>(c: Call, fn: () => T): T => (c.dryRun ? c.store.dryRun(fn) : fn())

function current(c: Call): KObject {
  const obj = c.store.get(refOf(c, c.target.name!))
  if (!obj) throw c.store.notFound(c.type, c.target.name)
  return obj
}

export function matcher(c: Pick<Call, 'query' | 'type'>): (o: KObject) => boolean {
  const labels = labelSelector(c.query.get('labelSelector'))
  const fields = fieldSelector(c.query.get('fieldSelector'), c.type)
  return (o) => labels(o) && fields(o)
}

export function getOne(c: Call): Reply {
  const obj = current(c)
  return { code: 200, body: c.target.subresource === 'scale' ? scaleOf(c.type, obj) : obj }
}

/** A write to `/scale`: the object's desired replicas change (nothing else), the reply is the new Scale. */
function writeScale(c: Call, scale: unknown): Reply {
  const next = withScale(c.type, current(c), scale)
  const stored = write(c, () => c.store.update(next, c.manager, 'scale'))
  return { code: 200, body: scaleOf(c.type, stored) }
}

export function list(c: Call): Reply {
  const match = matcher(c)
  const items = c.store.list(apiVersionOf(c.type), c.type.kind, c.target.namespace).filter(match)
  return { code: 200, body: { kind: `${c.type.kind}List`, apiVersion: apiVersionOf(c.type), metadata: { resourceVersion: c.store.resourceVersion }, items } }
}

/** Checks a request body names the right kind, namespace and name, and fills in what it left out. */
function conform(c: Call, body: unknown, nameFromUrl?: string): KObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'BadRequest', 'the body of the request was not a JSON object')
  const obj = body as KObject
  obj.metadata ??= { name: '' }
  if (obj.kind && obj.kind !== c.type.kind) throw new ApiError(400, 'BadRequest', `the kind "${obj.kind}" of the body does not match the resource "${c.type.plural}"`)
  obj.kind = c.type.kind
  obj.apiVersion = apiVersionOf(c.type)
  if (c.type.namespaced) {
    if (obj.metadata.namespace && c.target.namespace && obj.metadata.namespace !== c.target.namespace)
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')
    obj.metadata.namespace = c.target.namespace
  }
  if (nameFromUrl !== undefined) {
    if (!obj.metadata.name) obj.metadata.name = nameFromUrl
    if (obj.metadata.name !== nameFromUrl) throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL')
  }
  return obj
}

export function create(c: Call, body: unknown): Reply {
  if (c.target.subresource) throw new ApiError(405, 'MethodNotAllowed', `POST is not supported on ${c.type.plural}/${c.target.subresource}`)
  const directive = directiveOf(c.query, 'CreateOptions')
  const obj = conform(c, body)
  const warnings = checkBody(obj, c.type, directive)
  if (!obj.metadata.name && typeof obj.metadata.generateName === 'string') {
    obj.metadata.name = obj.metadata.generateName + Math.random().toString(36).slice(2, 7)
  }
  // With a status subresource, status is the controllers' business: a create cannot set it.
  if (c.type.statusSubresource) delete obj.status
  if (c.type.kind === 'Namespace' && !c.type.group) obj.status = { phase: 'Active' }
  return { code: 201, body: write(c, () => c.store.create(obj, c.manager)), warnings }
}

/** For kinds with a status subresource: main writes keep the status, /status writes change only it. */
function scopeToEndpoint(c: Call, before: KObject, after: KObject): KObject {
  if (c.target.subresource === 'status') {
    const out = structuredClone(before)
    if ('status' in after) out.status = after.status
    else delete out.status
    out.metadata.resourceVersion = after.metadata?.resourceVersion
    return out
  }
  if (c.type.statusSubresource) {
    if ('status' in before) after.status = structuredClone(before.status)
    else delete after.status
  }
  return after
}

export function update(c: Call, body: unknown): Reply {
  if (c.target.subresource === 'scale') return writeScale(c, body)
  const directive = directiveOf(c.query, 'UpdateOptions')
  const obj = conform(c, body, c.target.name)
  const before = current(c)
  const warnings = checkBody(obj, c.type, directive, before)
  const next = scopeToEndpoint(c, before, obj)
  if (!next.metadata.resourceVersion) delete next.metadata.resourceVersion
  return { code: 200, body: write(c, () => c.store.update(next, c.manager)), warnings }
}

/** A merge, strategic merge or JSON patch applied to `target`. */
function patched(target: unknown, contentType: string, patchBody: unknown): unknown {
  if (contentType === 'application/json-patch+json') return jsonPatch(target, patchBody)
  if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') return mergePatch(target, patchBody)
  throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`)
}

export function patch(c: Call, contentType: string, raw: string): Reply {
  const directive = directiveOf(c.query, 'PatchOptions')
  if (contentType === 'application/apply-patch+yaml' && c.target.subresource !== 'scale') return apply(c, raw)
  let patchBody: unknown
  try {
    patchBody = contentType === 'application/apply-patch+yaml' ? parseYaml(raw) : JSON.parse(raw)
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `error decoding patch: ${(e as Error).message}`)
  }
  const before = current(c)
  // a patch of /scale is a patch of the Scale (an apply of one is merged like a merge patch here)
  if (c.target.subresource === 'scale') return writeScale(c, patched(scaleOf(c.type, before), contentType === 'application/apply-patch+yaml' ? 'application/merge-patch+json' : contentType, patchBody))
  const after = patched(before, contentType, patchBody)
  const obj = conform(c, after, c.target.name)
  const warnings = checkPatched(obj, c.type, directive, contentType, patchBody, before)
  const next = scopeToEndpoint(c, before, obj)
  // A patch only carries a resourceVersion when the client asks for the optimistic check.
  const asked = (patchBody as any)?.metadata?.resourceVersion ?? (Array.isArray(patchBody) ? (patchBody as any[]).find((op) => op?.path === '/metadata/resourceVersion')?.value : undefined)
  if (asked) next.metadata.resourceVersion = String(asked)
  else delete next.metadata.resourceVersion
  return { code: 200, body: write(c, () => c.store.update(next, c.manager)), warnings }
}

function apply(c: Call, raw: string): Reply {
  const manager = c.query.get('fieldManager')
  if (!manager) {
    throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', [
      { reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' },
    ])
  }
  let body: unknown
  try {
    body = parseYaml(raw)
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `error decoding YAML: ${(e as Error).message}`)
  }
  const obj = conform(c, body, c.target.name)
  if (!(body as any).apiVersion || !(body as any).kind) {
    throw new ApiError(400, 'BadRequest', 'invalid object type: apiVersion and kind must be set in an apply patch')
  }
  checkApplied(obj, c.type)
  if (c.target.subresource === 'status') {
    const scoped: KObject = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) }, status: obj.status }
    if (!current(c)) throw c.store.notFound(c.type, c.target.name)
    return { code: 200, body: write(c, () => c.store.apply(scoped, manager, { force: c.query.get('force') === 'true', subresource: 'status' })) }
  }
  if (c.type.statusSubresource) delete obj.status
  const existed = c.store.get(refOf(c, obj.metadata.name)) !== undefined
  const result = write(c, () => c.store.apply(obj, manager, { force: c.query.get('force') === 'true' }))
  return { code: existed ? 200 : 201, body: result }
}

export function remove(c: Call): Reply {
  if (c.target.subresource) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
  if (!c.target.name) return removeCollection(c)
  const before = current(c)
  const gone = write(c, () => c.store.delete(refOf(c, c.target.name!)))
  if (gone?.metadata.deletionTimestamp && c.store.get(refOf(c, c.target.name!))) return { code: 200, body: gone }
  return { code: 200, body: successStatus({ name: before.metadata.name, group: c.type.group, kind: c.type.plural, uid: before.metadata.uid }) }
}

function removeCollection(c: Call): Reply {
  const match = matcher(c)
  const items = c.store.list(apiVersionOf(c.type), c.type.kind, c.target.namespace).filter(match)
  write(c, () => items.forEach((o) => c.store.delete({ ...refOf(c, o.metadata.name), namespace: o.metadata.namespace })))
  return { code: 200, body: { kind: `${c.type.kind}List`, apiVersion: apiVersionOf(c.type), metadata: { resourceVersion: c.store.resourceVersion }, items } }
}
