// Field ownership (metadata.managedFields) and server-side apply.
// Simplifications, on purpose: lists are atomic (owned and replaced as a whole, as CRD lists without
// x-kubernetes-list-type are), and ownership is tracked per manager+operation+subresource.

export type Path = string[]

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: Record<string, unknown>
  subresource?: string
}

export interface ApplyConflict {
  manager: string
  path: Path
}

const isPlainObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Metadata the server owns: never part of anyone's field set. */
const SERVER_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'selfLink'])

/** Leaf paths of an object: scalars, lists and empty maps are leaves. */
export function leafPaths(obj: Record<string, any>): Path[] {
  const out: Path[] = []
  const walk = (v: unknown, path: Path) => {
    if (isPlainObject(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, k])
    } else out.push(path)
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SERVER_META.has(mk)) walk(mv, ['metadata', mk])
      continue
    }
    walk(v, [k])
  }
  return out
}

export const pathKey = (p: Path) => JSON.stringify(p)
export const showPath = (p: Path) => '.' + p.join('.')

export function getAt(obj: unknown, path: Path): unknown {
  let cur: any = obj
  for (const k of path) {
    if (!isPlainObject(cur)) return undefined
    cur = cur[k]
  }
  return cur
}

function setAt(obj: Record<string, any>, path: Path, value: unknown): void {
  let cur = obj
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {}
    cur = cur[k]
  }
  const key = path[path.length - 1]!
  if (isEmptyMap(value) && isPlainObject(cur[key])) return // applying `{}` onto a map changes nothing
  cur[key] = structuredClone(value)
}

const isEmptyMap = (v: unknown) => isPlainObject(v) && Object.keys(v).length === 0

/** Whether applying `applied` at a path leaves `current` as it is. */
const unchanged = (current: unknown, applied: unknown) => deepEqual(current, applied) || (isEmptyMap(applied) && isPlainObject(current))

/** Deletes the leaf and any map left empty above it. */
function deleteAt(obj: Record<string, any>, path: Path): void {
  const parents: Record<string, any>[] = []
  let cur: any = obj
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(cur[k])) return
    parents.push(cur)
    cur = cur[k]
  }
  delete cur[path[path.length - 1]!]
  for (let i = parents.length - 1; i >= 0; i--) {
    const key = path[i]!
    if (isPlainObject(parents[i]![key]) && Object.keys(parents[i]![key]).length === 0 && i > 0) delete parents[i]![key]
  }
}

export function toFieldsV1(paths: Path[]): Record<string, unknown> {
  const root: Record<string, any> = {}
  for (const p of paths) {
    let cur = root
    for (const k of p) cur = cur[`f:${k}`] ??= {}
  }
  return root
}

export function fromFieldsV1(fields: unknown): Path[] {
  const out: Path[] = []
  const walk = (node: unknown, path: Path) => {
    const keys = isPlainObject(node) ? Object.keys(node).filter((k) => k.startsWith('f:')) : []
    if (keys.length === 0) {
      if (path.length) out.push(path)
      return
    }
    for (const k of keys) walk((node as any)[k], [...path, k.slice(2)])
  }
  walk(fields, [])
  return out
}

const deepEqual = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
  return v
}

/** Whether two paths overlap (one is a prefix of the other). */
const overlaps = (a: Path, b: Path) => a.length <= b.length ? a.every((k, i) => b[i] === k) : b.every((k, i) => a[i] === k)

/**
 * Whether `inner` is `outer` or lies inside it. Owning a map that contains a field (e.g. after
 * applying `data: {}`) is not owning the field: only the field itself or what is inside it counts.
 */
const within = (inner: Path, outer: Path) => inner.length >= outer.length && outer.every((k, i) => inner[i] === k)

function entries(obj: Record<string, any>): ManagedFieldsEntry[] {
  return Array.isArray(obj.metadata?.managedFields) ? structuredClone(obj.metadata.managedFields) : []
}

/** Drops paths that no longer exist in `obj` from every entry, and entries left empty. */
function tidy(list: ManagedFieldsEntry[], obj: Record<string, any>): ManagedFieldsEntry[] {
  return list
    .map((e) => ({ ...e, fieldsV1: toFieldsV1(fromFieldsV1(e.fieldsV1).filter((p) => getAt(obj, p) !== undefined)) }))
    .filter((e) => Object.keys(e.fieldsV1).length > 0)
}

const sameEntry = (e: ManagedFieldsEntry, manager: string, operation: string, subresource?: string) =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '')

/**
 * Records an Update by `manager` on `next` (mutated): it takes ownership of every leaf it changed.
 * Without a manager the write is anonymous (the sandbox's own controllers) and only tidies.
 */
export function recordUpdate(prev: Record<string, any> | undefined, next: Record<string, any>, manager: string | undefined, subresource?: string): void {
  let list = prev ? entries(prev) : []
  if (manager) {
    const changed = leafPaths(next).filter((p) => !prev || !deepEqual(getAt(prev, p), getAt(next, p)))
    if (changed.length > 0) {
      list = list.map((e) => ({ ...e, fieldsV1: toFieldsV1(fromFieldsV1(e.fieldsV1).filter((p) => !changed.some((c) => within(p, c)))) }))
      const mine = list.find((e) => sameEntry(e, manager, 'Update', subresource))
      const owned = [...(mine ? fromFieldsV1(mine.fieldsV1) : []), ...changed]
      const entry: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion: next.apiVersion, time: new Date().toISOString(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(owned), ...(subresource ? { subresource } : {}) }
      list = mine ? list.map((e) => (e === mine ? entry : e)) : [...list, entry]
    }
  }
  next.metadata.managedFields = tidy(list, next)
  if (next.metadata.managedFields.length === 0) delete next.metadata.managedFields
}

/**
 * Server-side apply of `applied` by `manager` onto `current` (undefined when creating).
 * Returns the merged object with its managedFields, or the conflicts when another manager owns a
 * field whose value the apply changes and `force` is false.
 */
export function serverSideApply(
  current: Record<string, any> | undefined,
  applied: Record<string, any>,
  manager: string,
  force: boolean,
  subresource?: string,
): { obj: Record<string, any>; conflicts: ApplyConflict[] } {
  const base: Record<string, any> = current ? structuredClone(current) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata?.name, ...(applied.metadata?.namespace ? { namespace: applied.metadata.namespace } : {}) } }
  let list = current ? entries(current) : []
  const mine = list.find((e) => sameEntry(e, manager, 'Apply', subresource))
  const previouslyMine = mine ? fromFieldsV1(mine.fieldsV1) : []
  const paths = leafPaths(applied)

  const conflicts: ApplyConflict[] = []
  for (const p of paths) {
    if (unchanged(getAt(base, p), getAt(applied, p))) continue
    for (const e of list) {
      if (e === mine) continue
      if (fromFieldsV1(e.fieldsV1).some((q) => within(q, p))) conflicts.push({ manager: e.manager, path: p })
    }
  }
  if (conflicts.length > 0 && !force) return { obj: base, conflicts }

  // Take the fields: forced ones leave their old owners; equal values stay shared.
  const taken = paths.filter((p) => !unchanged(getAt(base, p), getAt(applied, p)))
  list = list.map((e) => (e === mine ? e : { ...e, fieldsV1: toFieldsV1(fromFieldsV1(e.fieldsV1).filter((q) => !taken.some((p) => within(q, p)))) }))

  // Fields this manager applied before and omits now are removed, unless someone else still owns them.
  const appliedKeys = new Set(paths.map(pathKey))
  const others = list.filter((e) => e !== mine).flatMap((e) => fromFieldsV1(e.fieldsV1))
  for (const p of previouslyMine) {
    const stillApplied = paths.some((q) => {
      if (q.length >= p.length) return overlaps(p, q) // p itself or something inside it
      return overlaps(p, q) && !isEmptyMap(getAt(applied, q)) // an ancestor that replaces p wholesale
    })
    if (appliedKeys.has(pathKey(p)) || stillApplied) continue
    if (others.some((q) => within(q, p))) continue
    deleteAt(base, p)
  }
  for (const p of paths) setAt(base, p, getAt(applied, p))
  if (applied.apiVersion) base.apiVersion = applied.apiVersion

  const entry: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion: base.apiVersion, time: new Date().toISOString(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths), ...(subresource ? { subresource } : {}) }
  list = mine ? list.map((e) => (e === mine ? entry : e)) : [...list, entry]
  base.metadata.managedFields = tidy(list, base)
  if (base.metadata.managedFields.length === 0) delete base.metadata.managedFields
  return { obj: base, conflicts: [] }
}

/** Whether two objects are the same apart from managedFields timestamps. */
export function sameContent(a: Record<string, any>, b: Record<string, any>): boolean {
  const strip = (o: Record<string, any>) => {
    const c = structuredClone(o)
    for (const e of c.metadata?.managedFields ?? []) delete e.time
    return c
  }
  return deepEqual(strip(a), strip(b))
}
