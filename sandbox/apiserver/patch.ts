// JSON merge patch (RFC 7386) and JSON patch (RFC 6902), the patch types a real server takes
// besides server-side apply. Strategic merge patch is treated as a merge patch (lists replaced).
import { ApiError } from '../store.ts'

const isPlainObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch)
  const out: Record<string, any> = isPlainObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder') || k.startsWith('$deleteFromPrimitiveList') || k === '$retainKeys') continue
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

interface Operation {
  op: string
  path: string
  value?: unknown
  from?: string
}

const pointer = (p: string): string[] => {
  if (p === '') return []
  if (!p.startsWith('/')) throw new ApiError(422, 'Invalid', `invalid JSON pointer "${p}"`)
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parentOf(doc: any, path: string[], op: Operation): { parent: any; key: string } {
  let cur = doc
  for (const k of path.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(k)] : cur?.[k]
    if (cur === undefined || cur === null || typeof cur !== 'object') {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${op.path}"`)
    }
  }
  return { parent: cur, key: path[path.length - 1]! }
}

function read(doc: any, p: string, op: Operation): unknown {
  let cur = doc
  for (const k of pointer(p)) {
    cur = Array.isArray(cur) ? cur[Number(k)] : cur?.[k]
    if (cur === undefined) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${op.path}"`)
  }
  return cur
}

function add(doc: any, p: string, value: unknown, op: Operation): any {
  const path = pointer(p)
  if (path.length === 0) return structuredClone(value)
  const { parent, key } = parentOf(doc, path, op)
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key)
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new ApiError(422, 'Invalid', `add operation index out of bounds: "${op.path}"`)
    parent.splice(i, 0, structuredClone(value))
  } else parent[key] = structuredClone(value)
  return doc
}

function remove(doc: any, p: string, op: Operation): any {
  const path = pointer(p)
  const { parent, key } = parentOf(doc, path, op)
  if (Array.isArray(parent)) {
    const i = Number(key)
    if (!(i >= 0 && i < parent.length)) throw new ApiError(422, 'Invalid', `remove operation does not apply: doc is missing path: "${op.path}"`)
    parent.splice(i, 1)
  } else {
    if (!(key in parent)) throw new ApiError(422, 'Invalid', `remove operation does not apply: doc is missing path: "${op.path}"`)
    delete parent[key]
  }
  return doc
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json patch must be a list of operations')
  let doc: any = structuredClone(target)
  for (const op of ops as Operation[]) {
    switch (op.op) {
      case 'add':
        doc = add(doc, op.path, op.value, op)
        break
      case 'remove':
        doc = remove(doc, op.path, op)
        break
      case 'replace':
        read(doc, op.path, op)
        doc = add(remove(doc, op.path, op), op.path, op.value, op)
        break
      case 'move': {
        const v = read(doc, op.from ?? '', op)
        doc = add(remove(doc, op.from ?? '', op), op.path, v, op)
        break
      }
      case 'copy':
        doc = add(doc, op.path, read(doc, op.from ?? '', op), op)
        break
      case 'test':
        if (JSON.stringify(read(doc, op.path, op)) !== JSON.stringify(op.value))
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${op.path} failed`)
        break
      default:
        throw new ApiError(400, 'BadRequest', `unknown json patch operation "${op.op}"`)
    }
  }
  return doc
}
