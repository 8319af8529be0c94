// Validation against upstream schemas shipped as model classes: the built-in kinds against the
// Kubernetes OpenAPI schemas of `kubernetes-models`, and the custom kinds of CRDs the sandbox
// installs from `@kubernetes-models/*` (Gateway API, Traefik, cert-manager) against the schemas of
// those projects' CRDs. One compiled validator per kind, loaded the first time that kind is
// written, so a sandbox that never sees a CronJob never loads its schema. For a built-in kind, a
// value of the wrong JSON type is refused with 400 BadRequest, as the API server's decoder does;
// other violations with 422 Invalid and one cause per field (custom kinds: type errors too, as the
// CRD validation of a real server reports them).
import { createRequire } from 'node:module'
import { ApiError, type KObject } from '../store.ts'
import type { ResourceType } from './kinds.ts'
import type { Cause } from './schema.ts'

interface AjvError { instancePath: string; keyword: string; params: Record<string, any>; message?: string }
type Validate = (data: unknown) => void

const load = createRequire(import.meta.url)
const validators = new Map<string, Validate | null>()

/** The module of the model class holding a type's upstream schema (undefined: none). */
export function modelModule(type: Pick<ResourceType, 'group' | 'version' | 'kind' | 'custom' | 'modelPackage'>): string | undefined {
  if (!type.custom) return `kubernetes-models/${type.group ? `${type.group}/` : ''}${type.version}/${type.kind}`
  // Only the model packages: the annotation that names one must not load just any module.
  return type.modelPackage?.startsWith('@kubernetes-models/') ? `${type.modelPackage}/${type.group}/${type.version}/${type.kind}` : undefined
}

/** Whether a package ships a model (an upstream schema) for this custom kind. */
export function hasModel(modelPackage: string, group: string, version: string, kind: string): boolean {
  try {
    load.resolve(`${modelPackage}/${group}/${version}/${kind}`)
    return true
  } catch {
    return false
  }
}

/** The model class's validate() for a type, or null when there is none. */
function validatorFor(type: ResourceType): Validate | null {
  const module = modelModule(type)
  if (!module) return null
  const id = module
  if (!validators.has(id)) {
    let fn: Validate | null = null
    try {
      const mod = load(module)
      const Model = mod[type.kind]
      fn = (data) => new Model(data).validate()
    } catch {
      fn = null
    }
    validators.set(id, fn)
  }
  return validators.get(id)!
}

/** `/spec/template/spec/containers/0` → `spec.template.spec.containers[0]` */
export function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (child !== undefined) parts.push(child)
  let out = ''
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p
  return out
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v))

function valueAt(obj: unknown, instancePath: string): unknown {
  let v: any = obj
  for (const p of instancePath.split('/').slice(1)) v = v?.[p.replace(/~1/g, '/').replace(/~0/g, '~')]
  return v
}

function causeOf(obj: KObject, e: AjvError): Cause {
  switch (e.keyword) {
    case 'type': {
      const got = valueAt(obj, e.instancePath)
      const gotType = Array.isArray(got) ? 'array' : got === null ? 'null' : typeof got === 'number' && Number.isInteger(got) ? 'integer' : typeof got
      const field = fieldPath(e.instancePath)
      return { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: "${gotType}": ${field} in body must be of type ${e.params.type}: "${gotType}"` }
    }
    case 'required':
      return { field: fieldPath(e.instancePath, e.params.missingProperty), reason: 'FieldValueRequired', message: 'Required value' }
    case 'enum':
      return { field: fieldPath(e.instancePath), reason: 'FieldValueNotSupported', message: `Unsupported value: ${show(valueAt(obj, e.instancePath))}: supported values: ${(e.params.allowedValues ?? []).map(show).join(', ')}` }
    default:
      return { field: fieldPath(e.instancePath), reason: 'FieldValueInvalid', message: `Invalid value: ${show(valueAt(obj, e.instancePath))}: ${e.message ?? e.keyword}` }
  }
}

const GO_TYPES: Record<string, string> = { integer: 'int64', number: 'float64', string: 'string', boolean: 'bool', object: 'map', array: 'slice' }

/**
 * The causes a real API server gives for an object its upstream schema refuses (empty when it is
 * fine or there is no model). For a built-in kind, a value of the wrong JSON type throws the
 * decoder's 400 BadRequest instead.
 */
export function modelCauses(obj: KObject, type: ResourceType): Cause[] {
  const validate = validatorFor(type)
  if (!validate) return []
  try {
    validate(obj)
    return []
  } catch (err) {
    const errors: AjvError[] = (err as { errors?: AjvError[] }).errors ?? []
    if (!errors.length) throw err
    const wrongType = errors.find((e) => e.keyword === 'type')
    if (wrongType && !type.custom) {
      const got = valueAt(obj, wrongType.instancePath)
      const gotType = Array.isArray(got) ? 'array' : got === null ? 'null' : typeof got
      throw new ApiError(400, 'BadRequest', `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: json: cannot unmarshal ${gotType} into Go struct field ${fieldPath(wrongType.instancePath)} of type ${GO_TYPES[String(wrongType.params.type)] ?? wrongType.params.type}`)
    }
    return errors.map((e) => causeOf(obj, e))
  }
}
