// Validation, defaulting and pruning of custom objects against a CRD's structural openAPIV3Schema,
// the subset a real API server enforces that matters here: types, required, minItems, enum,
// defaults, null pruning and the pruning of unknown fields (unless x-kubernetes-preserve-unknown-fields).

export interface Schema {
  type?: string
  properties?: Record<string, Schema>
  additionalProperties?: Schema | boolean
  items?: Schema
  required?: string[]
  minItems?: number
  maxItems?: number
  enum?: unknown[]
  default?: unknown
  nullable?: boolean
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-int-or-string'?: boolean
  'x-kubernetes-embedded-resource'?: boolean
  [k: string]: unknown
}

export interface Cause {
  field: string
  message: string
  reason: string
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v))

function typeMatches(value: unknown, schema: Schema): string | undefined {
  if (schema['x-kubernetes-int-or-string']) {
    return Number.isInteger(value) || typeof value === 'string' ? undefined : 'integer-or-string'
  }
  switch (schema.type) {
    case undefined:
      return undefined
    case 'object':
      return isPlainObject(value) ? undefined : 'object'
    case 'array':
      return Array.isArray(value) ? undefined : 'array'
    case 'string':
      return typeof value === 'string' ? undefined : 'string'
    case 'integer':
      return Number.isInteger(value) ? undefined : 'integer'
    case 'number':
      return typeof value === 'number' ? undefined : 'number'
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'boolean'
    default:
      return undefined
  }
}

/**
 * Returns a pruned and defaulted copy of `value` and the validation causes found.
 * `path` is the dotted field path used in causes (e.g. `spec.applicationRefs[0]`).
 */
export function validateAndPrune(value: unknown, schema: Schema | undefined, path: string, causes: Cause[]): unknown {
  if (!schema) return value
  const wrongType = typeMatches(value, schema)
  if (wrongType) {
    const got = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'number' && Number.isInteger(value) ? 'integer' : typeof value
    causes.push({
      field: path,
      reason: 'FieldValueTypeInvalid',
      message: `Invalid value: "${got}": ${path} in body must be of type ${wrongType}: "${got}"`,
    })
    return value
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    causes.push({
      field: path,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(', ')}`,
    })
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      causes.push({
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${value.length}: ${path} in body should have at least ${schema.minItems} items`,
      })
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      causes.push({ field: path, reason: 'TooMany', message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` })
    return value.map((item, i) => validateAndPrune(item, schema.items, `${path}[${i}]`, causes))
  }
  if (isPlainObject(value)) return objectValue(value, schema, path, causes)
  return value
}

function objectValue(value: Record<string, unknown>, schema: Schema, path: string, causes: Cause[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const props = schema.properties ?? {}
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true
  const extra = isPlainObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined
  const child = (key: string) => (path ? `${path}.${key}` : key)
  for (const [key, v] of Object.entries(value)) {
    const sub = props[key] ?? extra
    if (v === null && !(sub?.nullable ?? false) && !(preserve && !props[key])) continue // nulls are pruned
    if (sub) out[key] = validateAndPrune(v, sub, child(key), causes)
    else if (preserve || schema.additionalProperties === true) out[key] = v
    // else: unknown field, pruned like a structural schema does
  }
  for (const [key, sub] of Object.entries(props)) {
    if (!(key in out) && sub.default !== undefined) out[key] = structuredClone(sub.default)
  }
  for (const key of schema.required ?? []) {
    if (!(key in out)) causes.push({ field: child(key), reason: 'FieldValueRequired', message: 'Required value' })
  }
  return out
}

/**
 * Validates a whole custom object: apiVersion, kind and metadata are the server's own business
 * (never pruned); everything else goes through the schema.
 */
export function validateCustomObject<T extends Record<string, unknown>>(obj: T, schema: Schema | undefined): { obj: T; causes: Cause[] } {
  const causes: Cause[] = []
  if (!schema) return { obj, causes }
  const { apiVersion, kind, metadata, ...rest } = obj
  const restSchema: Schema = { ...schema, properties: { ...(schema.properties ?? {}) } }
  delete restSchema.properties!.apiVersion
  delete restSchema.properties!.kind
  delete restSchema.properties!.metadata
  restSchema.required = (schema.required ?? []).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k))
  const pruned = validateAndPrune(rest, { ...restSchema, type: 'object' }, '', causes) as Record<string, unknown>
  return { obj: { apiVersion, kind, metadata, ...pruned } as unknown as T, causes }
}
