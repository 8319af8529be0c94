// The `/scale` subresource of Deployments, StatefulSets, ReplicaSets, ReplicationControllers and
// custom kinds whose CRD declares one: an autoscaling/v1 Scale built from the object (what
// `kubectl scale` and HPAs read), and writes to it (PUT, or a merge/JSON patch of the Scale) that
// change only the object's desired replicas, as the API server's ScaleREST does.
import { ApiError, type KObject } from '../store.ts'
import type { ResourceType } from './kinds.ts'

/** `.spec.replicas` → ['spec', 'replicas'] (the simple JSON paths CRDs use for scale). */
const segments = (path: string) => path.replace(/^\./, '').split('.').filter(Boolean)

function readPath(obj: unknown, path: string): unknown {
  let cur: any = obj
  for (const k of segments(path)) cur = cur?.[k]
  return cur
}

function writePath(obj: Record<string, any>, path: string, value: unknown): void {
  const keys = segments(path)
  let cur = obj
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {}
    cur = cur[k]
  }
  cur[keys[keys.length - 1]!] = value
}

/** A metav1.LabelSelector as the string a real server puts in Scale.status.selector (`app=x,tier in (a,b)`). */
export function selectorString(selector: any): string {
  const requirements: [string, string][] = []
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) requirements.push([key, `${key}=${value}`])
  for (const e of Array.isArray(selector?.matchExpressions) ? selector.matchExpressions : []) {
    const key = String(e?.key ?? '')
    const values = (Array.isArray(e?.values) ? e.values.map(String) : []).sort()
    if (e?.operator === 'In') requirements.push([key, `${key} in (${values.join(',')})`])
    else if (e?.operator === 'NotIn') requirements.push([key, `${key} notin (${values.join(',')})`])
    else if (e?.operator === 'Exists') requirements.push([key, key])
    else if (e?.operator === 'DoesNotExist') requirements.push([key, `!${key}`])
  }
  return requirements
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, text]) => text)
    .join(',')
}

function selectorOf(type: ResourceType, obj: KObject): string {
  if (type.custom) {
    const path = type.scale?.labelSelectorPath
    const value = path ? readPath(obj, path) : undefined
    return typeof value === 'string' ? value : ''
  }
  // a ReplicationController's selector is a plain map; the apps kinds' a LabelSelector
  if (type.kind === 'ReplicationController') return selectorString({ matchLabels: obj.spec?.selector ?? {} })
  return selectorString(obj.spec?.selector)
}

/** The Scale of an object (its type must have `scale`). */
export function scaleOf(type: ResourceType, obj: KObject): KObject {
  const scale = type.scale!
  const desired = readPath(obj, scale.specReplicasPath)
  const current = readPath(obj, scale.statusReplicasPath)
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, ...(namespace ? { namespace } : {}), uid, resourceVersion, creationTimestamp },
    // the API server defaults a built-in workload's replicas to 1; a custom object without them has 0
    spec: { replicas: typeof desired === 'number' ? desired : type.custom ? 0 : 1 },
    status: { replicas: typeof current === 'number' ? current : 0, selector: selectorOf(type, obj) },
  }
}

/**
 * The object with the replicas of a Scale written by a client: checks the Scale (kind, name,
 * replicas ≥ 0, as ValidateScale does) and carries its resourceVersion as the precondition.
 */
export function withScale(type: ResourceType, obj: KObject, scale: unknown): KObject {
  const s = scale as { kind?: unknown; metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { replicas?: unknown } }
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new ApiError(400, 'BadRequest', 'the body of the request was not a JSON object')
  if (s.kind !== undefined && s.kind !== 'Scale') throw new ApiError(400, 'BadRequest', `wrong object passed to Scale update: kind "${String(s.kind)}"`)
  const name = obj.metadata.name
  if (s.metadata?.name !== undefined && s.metadata.name !== name) throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL')
  const replicas = s.spec?.replicas ?? 0
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    throw new ApiError(400, 'BadRequest', `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas} into Go struct field ScaleSpec.spec.replicas of type int32`)
  }
  if (replicas < 0) {
    throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`, [
      { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` },
    ], { name, group: 'autoscaling', kind: 'Scale' })
  }
  const next = structuredClone(obj)
  writePath(next, type.scale!.specReplicasPath, replicas)
  if (typeof s.metadata?.resourceVersion === 'string' && s.metadata.resourceVersion) next.metadata.resourceVersion = s.metadata.resourceVersion
  else delete next.metadata.resourceVersion
  return next
}
