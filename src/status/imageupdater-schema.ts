// An ImageUpdater checked against the CRD of the Image Updater release that runs: a required field
// missing (spec.namespace up to 1.1.0), a field that release does not know (useAnnotations before
// 1.1, spec.namespace from 1.2: the API server drops it on the next write, and the controller
// never sees it), a value outside an enum, a wrong type. Only the schema's structure is read:
// properties, required, items, enum, type.
import { IMAGE_UPDATER_SPEC_SCHEMAS } from './imageupdater-crds.ts'
import type { KObj } from '../cluster/kube.ts'

interface Schema {
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  enum?: unknown[]
  'x-kubernetes-preserve-unknown-fields'?: boolean
}

/** The bundled release whose CRD applies to `version` (same minor; else none). */
export function schemaRelease(version: string | undefined): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '')
  if (!m) return undefined
  return Object.keys(IMAGE_UPDATER_SPEC_SCHEMAS).find((v) => v.startsWith(`${m[1]}.${m[2]}.`))
}

const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v)

function check(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (value === undefined || value === null) return
  const t = typeOf(value)
  if (schema.type && schema.type !== t && !(schema.type === 'number' && t === 'integer')) {
    out.push(`${path} is ${t}, the CRD wants ${schema.type}`)
    return
  }
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path} is ${JSON.stringify(value)}, not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`)
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => check(v, schema.items!, `${path}[${i}]`, out))
  if (t !== 'object') return
  const obj = value as Record<string, unknown>
  for (const r of schema.required ?? []) if (obj[r] === undefined) out.push(`${path}.${r} is required`)
  if (!schema.properties || schema['x-kubernetes-preserve-unknown-fields']) return
  for (const [k, v] of Object.entries(obj)) {
    const sub = schema.properties[k]
    if (!sub) out.push(`${path}.${k} is not a field of this release (dropped, never read)`)
    else check(v, sub, `${path}.${k}`, out)
  }
}

/** What is wrong with the ImageUpdater's spec for the release `version` (empty: valid, or no CRD bundled for it). */
export function imageUpdaterSchemaProblems(iu: KObj, version: string | undefined): string[] {
  const release = schemaRelease(version)
  if (!release) return []
  const out: string[] = []
  if (!iu.spec) return ['spec is missing']
  check(iu.spec, IMAGE_UPDATER_SPEC_SCHEMAS[release] as Schema, 'spec', out)
  return out
}
