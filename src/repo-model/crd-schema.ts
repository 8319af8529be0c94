// An object checked against a CRD's structural schema as the API server checks it on apply (what
// Argo CD's sync meets): types, required fields, enums, patterns, bounds, fields the schema does not
// declare (refused under strict field validation, which kubectl apply asks for), and the
// x-kubernetes-validations rules (the CEL subset the Image Updater CRDs use: has(), size(), ==,
// comparisons, !, &&, ||, +, ?:). The ImageUpdater CRDs of each app version are in manifests/crds/.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

export interface Schema {
  type?: string
  properties?: Record<string, Schema>
  additionalProperties?: Schema | boolean
  items?: Schema
  required?: string[]
  enum?: unknown[]
  pattern?: string
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  nullable?: boolean
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-int-or-string'?: boolean
  'x-kubernetes-validations'?: { rule: string; message?: string }[]
}

const CRD_DIR = join(import.meta.dirname, '..', '..', 'manifests', 'crds')

/** The app version whose CRD a chart minor installs (chart 1.0.x = app 1.0.x, ...): the files in manifests/crds/. */
export const IMAGE_UPDATER_CRD_FILES: Record<string, string> = {
  '1.0': 'imageupdaters-app-v1.0.2.yaml',
  '1.1': 'imageupdaters-app-v1.1.1.yaml',
  '1.2': 'imageupdaters-app-v1.2.2.yaml',
}

const schemas = new Map<string, Schema>()

/** The openAPIV3Schema of the ImageUpdater CRD the chart's app minor installs. */
export function imageUpdaterSchema(appMinor: string): { schema: Schema; file: string } {
  const file = IMAGE_UPDATER_CRD_FILES[appMinor]
  if (!file) throw new Error(`no ImageUpdater CRD for app ${appMinor} in manifests/crds`)
  let schema = schemas.get(file)
  if (!schema) {
    const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8'))
    const version = (crd.spec.versions as any[]).find((v) => v.storage) ?? crd.spec.versions[0]
    schema = version.schema.openAPIV3Schema as Schema
    schemas.set(file, schema)
  }
  return { schema, file }
}

/** Every reason the object is invalid against the schema, as `path: reason`. */
export function schemaProblems(value: unknown, schema: Schema, path = ''): string[] {
  const out: string[] = []
  check(value, schema, path, out, true)
  return out
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function check(value: unknown, schema: Schema, path: string, out: string[], root = false): void {
  const at = path || '.'
  if (value === null) {
    if (!schema.nullable && schema.type) out.push(`${at}: must be ${schema.type}, not null`)
    return
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !Number.isInteger(value)) out.push(`${at}: must be an integer or a string, found ${typeName(value)}`)
  } else if (schema.type) {
    const actual = typeName(value)
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer')
    if (!ok) {
      out.push(`${at}: must be ${schema.type === 'object' ? 'a map' : schema.type === 'array' ? 'a list' : `a ${schema.type}`}, found ${actual === 'object' ? 'a map' : actual === 'array' ? 'a list' : `${actual} ${JSON.stringify(value)}`}`)
      return
    }
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) out.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`)
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) out.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`)
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push(`${at}: shorter than ${schema.minLength}`)
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${at}: longer than ${schema.maxLength}`)
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at}: below ${schema.minimum}`)
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${at}: above ${schema.maximum}`)
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(`${at}: needs at least ${schema.minItems} item(s)`)
    if (schema.maxItems !== undefined && value.length > schema.maxItems) out.push(`${at}: holds more than ${schema.maxItems} item(s)`)
    if (schema.items) value.forEach((v, i) => check(v, schema.items!, `${path}[${i}]`, out))
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>
    for (const r of schema.required ?? []) if (obj[r] === undefined) out.push(`${path ? `${path}.` : ''}${r}: required`)
    const props = schema.properties ?? {}
    for (const [k, v] of Object.entries(obj)) {
      const child = path ? `${path}.${k}` : k
      // metadata follows the API server's own rules (ObjectMeta), not the CRD's schema
      if (root && k === 'metadata') continue
      if (props[k]) check(v, props[k]!, child, out)
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') check(v, schema.additionalProperties, child, out)
      // metadata is checked by the API server's own rules, apiVersion and kind by the route
      else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true && !(root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')))
        out.push(`${child}: unknown field (the CRD does not declare it)`)
    }
  }
  for (const v of schema['x-kubernetes-validations'] ?? []) {
    let result: unknown
    try {
      result = evalCel(v.rule, value)
    } catch {
      continue // a rule outside the subset read here is left to the API server
    }
    if (result !== true) out.push(`${at}: ${v.message ?? `fails the rule ${v.rule}`}`)
  }
}

// ---- the CEL subset of the CRD rules: a tokenizer and a precedence-climbing evaluator

type Tok = { t: 'num' | 'id' | 'op' | 'str'; v: string }

function tokens(src: string): Tok[] {
  const out: Tok[] = []
  const re = /\s*(?:(\d+)|([A-Za-z_][\w]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(&&|\|\||==|!=|<=|>=|[-+!?:().<>]))/gy
  let m: RegExpExecArray | null
  let pos = 0
  while (pos < src.length) {
    re.lastIndex = pos
    m = re.exec(src)
    if (!m || m[0].length === 0) {
      if (/^\s*$/.test(src.slice(pos))) break
      throw new Error(`CEL: cannot read ${src.slice(pos)}`)
    }
    pos = re.lastIndex
    if (m[1]) out.push({ t: 'num', v: m[1] })
    else if (m[2]) out.push({ t: 'id', v: m[2] })
    else if (m[3]) out.push({ t: 'str', v: m[3].slice(1, -1) })
    else out.push({ t: 'op', v: m[4]! })
  }
  return out
}

/** A runtime error of CEL (a missing key, a wrong type): it spreads, except where && / || / ?: do not need the value. */
const ERR = Symbol('cel-error')

export function evalCel(rule: string, self: unknown): unknown {
  const toks = tokens(rule)
  let i = 0
  const peek = () => toks[i]
  const eat = (v?: string) => {
    const t = toks[i++]
    if (!t || (v !== undefined && t.v !== v)) throw new Error(`CEL: expected ${v}`)
    return t
  }
  const selectPath = (): string[] => {
    const t = eat()
    if (t.v !== 'self') throw new Error('CEL: only self is known')
    const path: string[] = []
    while (peek()?.v === '.') (eat('.'), path.push(eat().v))
    return path
  }
  const resolve = (path: string[]): unknown => {
    let cur: unknown = self
    for (const p of path) {
      if (!cur || typeof cur !== 'object' || !(p in (cur as object))) return ERR
      cur = (cur as Record<string, unknown>)[p]
    }
    return cur
  }
  const bool = (v: unknown): boolean | typeof ERR => (typeof v === 'boolean' ? v : ERR)
  const primary = (): unknown => {
    const t = peek()
    if (!t) throw new Error('CEL: unexpected end')
    if (t.v === '(') {
      eat('(')
      const v = ternary()
      eat(')')
      return v
    }
    if (t.v === '!') {
      eat('!')
      const v = bool(primary())
      return v === ERR ? ERR : !v
    }
    if (t.v === '-') {
      eat('-')
      const v = primary()
      return typeof v === 'number' ? -v : ERR
    }
    if (t.t === 'num') return Number(eat().v)
    if (t.t === 'str') return eat().v
    if (t.v === 'true' || t.v === 'false') return eat().v === 'true'
    if (t.v === 'has') {
      eat('has'), eat('(')
      const path = selectPath()
      eat(')')
      return resolve(path) !== ERR
    }
    if (t.v === 'size') {
      eat('size'), eat('(')
      const v = ternary()
      eat(')')
      if (Array.isArray(v) || typeof v === 'string') return v.length
      if (v && typeof v === 'object') return Object.keys(v).length
      return ERR
    }
    if (t.v === 'self') return resolve(selectPath())
    throw new Error(`CEL: unknown ${t.v}`)
  }
  const LEVELS = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-']]
  const binary = (level: number): unknown => {
    if (level >= LEVELS.length) return primary()
    let left = binary(level + 1)
    while (peek() && LEVELS[level]!.includes(peek()!.v)) {
      const op = eat().v
      const right = binary(level + 1)
      if (op === '&&' || op === '||') {
        const [l, r] = [bool(left), bool(right)]
        const decides = op === '&&' ? false : true
        // CEL's logic is commutative: a side that decides wins over an error on the other
        left = l === decides || r === decides ? decides : l === ERR || r === ERR ? ERR : !decides
        continue
      }
      if (left === ERR || right === ERR) {
        left = ERR
        continue
      }
      if (op === '==') left = JSON.stringify(left) === JSON.stringify(right)
      else if (op === '!=') left = JSON.stringify(left) !== JSON.stringify(right)
      else if (typeof left !== 'number' || typeof right !== 'number') left = ERR
      else if (op === '<') left = left < right
      else if (op === '<=') left = left <= right
      else if (op === '>') left = left > right
      else if (op === '>=') left = left >= right
      else if (op === '+') left = left + right
      else left = left - right
    }
    return left
  }
  const ternary = (): unknown => {
    const value = binary(0)
    if (peek()?.v !== '?') return value
    eat('?')
    const a = ternary()
    eat(':')
    const b = ternary()
    const cond = bool(value)
    return cond === ERR ? ERR : cond ? a : b
  }
  const v = ternary()
  if (i !== toks.length) throw new Error('CEL: trailing tokens')
  return v
}
