// Server-side field validation of built-in kinds (the `fieldValidation` query parameter): a field the
// kind does not declare is refused (Strict, what kubectl sends by default), dropped with a warning
// (Warn, the server's default) or dropped silently (Ignore), with the status and message shapes of
// the API server's handlers: a create or update is a 400 "strict decoding error", a merge, strategic
// merge or JSON patch a 422 on `patch`, and a server-side apply a 500 "field not declared in schema"
// whatever the directive (the typed apply refuses unknown fields itself).
//
// The fields each kind declares come from the model classes of `@kubernetes/client-node` (generated
// from the Kubernetes OpenAPI; their attribute maps name every field and its type), so a typo at any
// depth, `spec.template.spec.containers[0].imagePullPolicyy` included, is found.
import * as k8s from '@kubernetes/client-node'
import { ApiError, type KObject } from '../store.ts'
import type { ResourceType } from './kinds.ts'

export type Directive = 'Ignore' | 'Warn' | 'Strict'

interface Attribute {
  baseName: string
  type: string
}

const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>
const attributeCache = new Map<string, Map<string, Attribute> | null>()

/** The declared fields of a client-node model class by JSON name (null: not a model, e.g. `string`, `IntOrString`). */
function attributesOf(typeName: string): Map<string, Attribute> | null {
  if (!attributeCache.has(typeName)) {
    const model = models[typeName]
    const list = typeof model?.getAttributeTypeMap === 'function' ? model.getAttributeTypeMap() : null
    attributeCache.set(typeName, list ? new Map(list.map((a) => [a.baseName, a])) : null)
  }
  return attributeCache.get(typeName)!
}

/** The model class of a built-in kind: `V1Deployment`, `V2HorizontalPodAutoscaler`, `CoreV1Event`. */
function modelOf(type: ResourceType): string | undefined {
  if (type.custom) return undefined
  const version = type.version.charAt(0).toUpperCase() + type.version.slice(1)
  return [`${version}${type.kind}`, `Core${version}${type.kind}`].find((name) => attributesOf(name) !== null)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A found field: the decoder's path (`spec.containers[0].x`) and the typed apply's (`.spec.containers[name="c"].x`). */
interface Unknown {
  path: string
  applyPath: string
}

/** The lists a typed apply addresses by key rather than index (x-kubernetes-list-map-keys), the common ones. */
const LIST_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
}

interface Walk {
  found: Unknown[]
  drop: boolean
  /** Paths already in the stored object, taken as known (only the sandbox's own writes can put one there). */
  stored: Set<string>
}

function walk(value: unknown, typeName: string, at: Unknown, w: Walk, field?: string): void {
  let m: RegExpMatchArray | null
  if ((m = typeName.match(/^Array<(.+)>$/))) {
    if (!Array.isArray(value)) return
    const key = field ? LIST_KEYS[field] : undefined
    value.forEach((item, i) => {
      const id = key && isObject(item) && typeof item[key] === 'string' ? `[${key}=${JSON.stringify(item[key])}]` : `[${i}]`
      walk(item, m![1]!, { path: `${at.path}[${i}]`, applyPath: `${at.applyPath}${id}` }, w)
    })
    return
  }
  if ((m = typeName.match(/^\{ \[key: string\]: (.+); \}$/))) {
    if (!isObject(value)) return
    for (const [k, v] of Object.entries(value)) walk(v, m[1]!, { path: at.path ? `${at.path}.${k}` : k, applyPath: `${at.applyPath}.${k}` }, w)
    return
  }
  const attributes = attributesOf(typeName)
  if (!attributes || !isObject(value)) return
  for (const key of Object.keys(value)) {
    const here = { path: at.path ? `${at.path}.${key}` : key, applyPath: `${at.applyPath}.${key}` }
    const attribute = attributes.get(key)
    if (!attribute) {
      if (w.stored.has(here.path)) continue
      w.found.push(here)
      if (w.drop) delete value[key]
    } else walk(value[key], attribute.type, here, w, key)
  }
}

/**
 * The fields of `obj` its built-in kind does not declare, in document order (none for custom kinds);
 * `drop` deletes them from `obj`. Fields `stored` (the object before the write) has at the same path
 * count as known: a real server never stores an unknown field, only the sandbox's own writes can.
 */
export function unknownFields(obj: unknown, type: ResourceType, opts: { drop?: boolean; stored?: unknown } = {}): Unknown[] {
  const model = modelOf(type)
  if (!model) return []
  const stored = new Set(opts.stored === undefined ? [] : unknownFields(structuredClone(opts.stored), type).map((u) => u.path))
  const w: Walk = { found: [], drop: opts.drop ?? false, stored }
  walk(obj, model, { path: '', applyPath: '' }, w)
  return w.found
}

/** The `fieldValidation` of a request ('' is the server's default, Warn); anything else is refused as the API server refuses it. */
export function directiveOf(query: URLSearchParams, options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): Directive {
  const value = query.get('fieldValidation') ?? ''
  if (value === '') return 'Warn'
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value
  const message = `Unsupported value: ${JSON.stringify(value)}: supported values: "", "Ignore", "Strict", "Warn"`
  throw new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: fieldValidation: ${message}`, [{ reason: 'FieldValueNotSupported', field: 'fieldValidation', message }], {
    group: 'meta.k8s.io',
    kind: options,
  })
}

const strictError = (found: Unknown[]) => `strict decoding error: ${found.map((u) => `unknown field ${JSON.stringify(u.path)}`).join(', ')}`

/** The warnings a Warn request gets, one per dropped field (sent as `Warning: 299 - "..."` headers). */
const warningsOf = (found: Unknown[], directive: Directive) => (directive === 'Warn' ? found.map((u) => `unknown field ${JSON.stringify(u.path)}`) : [])

/**
 * A create or update body: Strict refuses unknown fields (400, as the decoder does), Warn and Ignore
 * drop them from `obj`. Returns the warnings to send.
 */
export function checkBody(obj: KObject, type: ResourceType, directive: Directive, stored?: KObject): string[] {
  const found = unknownFields(obj, type, { drop: directive !== 'Strict', stored })
  if (found.length === 0) return []
  if (directive === 'Strict') throw new ApiError(400, 'BadRequest', `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${strictError(found)}`)
  return warningsOf(found, directive)
}

/** Go's `%+v` of a decoded JSON value (how the strategic merge patch handler shows a patch). */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`
  return String(v)
}

/** JSON with the keys sorted at every level, as Go marshals a map (the JSON and merge patch handlers' patched object). */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/**
 * The result of a merge, strategic merge or JSON patch: Strict refuses unknown fields with the
 * handlers' 422 on `patch` (the strategic merge handler shows the patch, the others the patched
 * object), Warn and Ignore drop them from `patched`. Returns the warnings to send.
 */
export function checkPatched(patched: KObject, type: ResourceType, directive: Directive, contentType: string, patchBody: unknown, stored: KObject): string[] {
  const found = unknownFields(patched, type, { drop: directive !== 'Strict', stored })
  if (found.length === 0) return []
  if (directive === 'Strict') {
    const shown = contentType === 'application/strategic-merge-patch+json' ? goValue(patchBody) : sortedJson(patched)
    const message = `Invalid value: ${JSON.stringify(shown)}: ${strictError(found)}`
    throw new ApiError(422, 'Invalid', ` "" is invalid: patch: ${message}`, [{ reason: 'FieldValueInvalid', field: 'patch', message }])
  }
  return warningsOf(found, directive)
}

/** A server-side apply: a field the kind does not declare fails the typed apply, a 500 with no reason (any directive). */
export function checkApplied(applied: KObject, type: ResourceType): void {
  const found = unknownFields(applied, type)
  if (found.length === 0) return
  const gvk = `${type.group}/${type.version}, Kind=${type.kind}`
  const where = `${applied.metadata?.namespace ?? ''}/${applied.metadata?.name ?? ''}`
  const errors = found.map((u) => `${u.applyPath}: field not declared in schema`)
  const text = errors.length === 1 ? errors[0] : ['errors:', ...errors.map((e) => `  ${e}`)].join('\n')
  throw new ApiError(500, '', `failed to create typed patch object (${where}; ${gvk}): ${text}`)
}
