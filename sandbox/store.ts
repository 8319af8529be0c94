// The sandbox's in-memory object store: what etcd plus the API server's storage layer do for a real
// cluster (uids, resourceVersions, generations, CRD-served kinds, schema validation, watch events).
// Both the HTTP API (sandbox/apiserver) and the simulated controllers (sandbox/actors) use it.
import { randomUUID } from 'node:crypto'
import { builtinTypes, CRD_API_VERSION, crdProblems, joinApiVersion, splitApiVersion, typesOfCrd, type ResourceType } from './apiserver/kinds.ts'
import { validateCustomObject } from './apiserver/schema.ts'
import { modelCauses } from './apiserver/model-schema.ts'
import { recordUpdate, serverSideApply, sameContent, showPath } from './apiserver/fields.ts'

export type { ResourceType } from './apiserver/kinds.ts'

export interface ObjectRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

export interface KObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
    creationTimestamp?: string
    deletionTimestamp?: string
    managedFields?: unknown[]
    [k: string]: unknown
  }
  [k: string]: any
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  object: KObject
}

export interface StatusCause {
  field: string
  message: string
  reason?: string
}

/** An API error that becomes a `Status` object (code, reason, message, details.causes). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes?: StatusCause[],
    readonly details?: { name?: string; group?: string; kind?: string; retryAfterSeconds?: number },
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

interface Stored {
  obj: KObject
  type: ResourceType
}

const HISTORY_LIMIT = 5000
const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io'
/** Field managers of the sandbox's own controllers (their writes skip the upstream schema check). */
export const CONTROLLER_MANAGERS = new Set(['kube-controller-manager', 'k3s', 'external-secrets'])
const clone = <T>(v: T): T => structuredClone(v)
const finalizersOf = (o: KObject): string[] => (Array.isArray(o.metadata.finalizers) ? (o.metadata.finalizers as string[]) : [])

export class Store {
  private readonly objects = new Map<string, Stored>()
  private readonly listeners = new Set<(e: WatchEvent) => void>()
  private readonly pending: WatchEvent[] = []
  private delivering = false
  private rv = 0
  /** True while a dryRun=All request runs: everything is checked, nothing is stored or announced. */
  private dry = false
  /** The served types, recomputed after any CRD changes. */
  private typeCache: ResourceType[] | undefined
  /** Recent events with their resourceVersion, so a watch can resume after a given version. */
  private readonly history: { rv: number; event: WatchEvent }[] = []

  constructor(opts: { namespaces?: string[] } = {}) {
    for (const name of opts.namespaces ?? ['default', 'kube-system', 'kube-public']) {
      this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } })
    }
  }

  // ---------- resource types ----------

  /** Every type served now: the built-ins plus the kinds of the CRDs in the store. */
  types(): ResourceType[] {
    this.typeCache ??= [
      ...builtinTypes(),
      ...[...this.objects.values()].filter((s) => s.type.kind === 'CustomResourceDefinition').flatMap((s) => typesOfCrd(s.obj)),
    ]
    return [...this.typeCache]
  }

  /** The type for an apiVersion+kind, or undefined when nothing serves it (e.g. its CRD is absent). */
  typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion)
    return this.types().find((t) => t.group === group && t.version === version && t.kind === kind)
  }

  /** The type for a URL's group/version/plural (also accepts the singular and short names). */
  typeOfResource(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types().find((t) => t.group === group && t.version === version && (t.plural === resource || t.singular === resource || t.shortNames.includes(resource)))
  }

  private requireType(apiVersion: string, kind: string): ResourceType {
    const t = this.typeOf(apiVersion, kind)
    if (!t) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (no kind "${kind}" is served in version "${apiVersion}")`, undefined, {
        group: splitApiVersion(apiVersion).group,
        kind,
      })
    }
    return t
  }

  // ---------- reads ----------

  get resourceVersion(): string {
    return String(this.rv)
  }

  get(ref: ObjectRef): KObject | undefined {
    const type = this.typeOf(ref.apiVersion, ref.kind)
    if (!type) return undefined
    const s = this.objects.get(this.key(type, ref.namespace, ref.name))
    return s ? this.present(s, type) : undefined
  }

  /**
   * The object for reading only, not copied: the controllers compare every object they manage on
   * every cycle, and a deep copy each time was most of an idle sandbox's CPU. Only the top level is
   * new (the apiVersion of the view); change nothing below it.
   */
  peek(ref: ObjectRef): Readonly<KObject> | undefined {
    const type = this.typeOf(ref.apiVersion, ref.kind)
    const s = type && this.objects.get(this.key(type, ref.namespace, ref.name))
    return s ? { ...s.obj, apiVersion: joinApiVersion(type.group, type.version) } : undefined
  }

  /** `where` sees the stored object (read it, never change it) and picks before anything is copied. */
  list(apiVersion: string, kind: string, namespace?: string, where?: (stored: Readonly<KObject>) => boolean): KObject[] {
    const type = this.typeOf(apiVersion, kind)
    if (!type) return []
    return [...this.objects.values()]
      .filter((s) => s.type.group === type.group && s.type.kind === type.kind && (!namespace || !type.namespaced || s.obj.metadata.namespace === namespace) && (!where || where(s.obj)))
      .sort((a, b) => `${a.obj.metadata.namespace ?? ''}/${a.obj.metadata.name}`.localeCompare(`${b.obj.metadata.namespace ?? ''}/${b.obj.metadata.name}`))
      .map((s) => this.present(s, type))
  }

  /** The object as seen through `type`'s version (a CRD may serve several versions of one stored object). */
  private present(s: Stored, type: ResourceType): KObject {
    const out = clone(s.obj)
    out.apiVersion = joinApiVersion(type.group, type.version)
    return out
  }

  // ---------- writes ----------

  create(obj: KObject, fieldManager?: string): KObject {
    const type = this.requireType(obj.apiVersion, obj.kind)
    const next = this.prepare(clone(obj), type, fieldManager)
    const key = this.key(type, next.metadata.namespace, next.metadata.name)
    if (this.objects.has(key)) throw this.alreadyExists(type, next.metadata.name)
    next.metadata.uid = randomUUID()
    next.metadata.generation = 1
    next.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    delete next.metadata.deletionTimestamp
    recordUpdate(undefined, next, fieldManager)
    return this.commit(key, next, type, 'ADDED')
  }

  /** Replaces an object; `subresource` (e.g. `scale`) only marks the managedFields entry of the write. */
  update(obj: KObject, fieldManager?: string, subresource?: string): KObject {
    const type = this.requireType(obj.apiVersion, obj.kind)
    const key = this.key(type, obj.metadata?.namespace, obj.metadata?.name)
    const current = this.objects.get(key)
    if (!current) throw this.notFound(type, obj.metadata?.name)
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.obj.metadata.resourceVersion) throw this.conflict(type, obj.metadata.name)
    return this.replace(current, clone(obj), type, fieldManager, subresource)
  }

  upsert(obj: KObject, fieldManager?: string): KObject {
    const type = this.requireType(obj.apiVersion, obj.kind)
    const current = this.objects.get(this.key(type, obj.metadata?.namespace, obj.metadata?.name))
    if (!current) return this.create(obj, fieldManager)
    const next = clone(obj)
    delete next.metadata.resourceVersion
    return this.replace(current, next, type, fieldManager)
  }

  updateStatus(ref: ObjectRef, status: unknown, fieldManager?: string): KObject {
    const type = this.requireType(ref.apiVersion, ref.kind)
    const current = this.objects.get(this.key(type, ref.namespace, ref.name))
    if (!current) throw this.notFound(type, ref.name)
    const next = clone(current.obj)
    next.apiVersion = ref.apiVersion
    next.status = clone(status)
    return this.replace(current, next, type, fieldManager, 'status')
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`): creates when missing, merges the applied
   * fields, records the manager's Apply entry in managedFields, refuses changes to fields another
   * manager owns unless `force`. A no-op apply writes nothing (the resourceVersion stays).
   */
  apply(applied: KObject, fieldManager: string, opts: { force?: boolean; subresource?: 'status' } = {}): KObject {
    const type = this.requireType(applied.apiVersion, applied.kind)
    const key = this.key(type, applied.metadata?.namespace, applied.metadata?.name)
    const current = this.objects.get(key)
    const currentView = current ? this.present(current, type) : undefined
    const { obj, conflicts } = serverSideApply(currentView, clone(applied), fieldManager, opts.force ?? false, opts.subresource)
    if (conflicts.length > 0) {
      const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', field: showPath(c.path), message: `conflict with "${c.manager}": ${showPath(c.path)}` }))
      throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${causes.map((c) => c.message).join(', ')}`, causes, {
        name: applied.metadata.name,
        group: type.group,
        kind: type.plural,
      })
    }
    if (!current) {
      const next = this.prepare(obj as KObject, type, fieldManager)
      next.metadata.uid = randomUUID()
      next.metadata.generation = 1
      next.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      return this.commit(key, next, type, 'ADDED')
    }
    const next = this.prepare(obj as KObject, type, fieldManager)
    this.bumpGeneration(current.obj, next)
    if (sameContent(next, currentView!)) return currentView!
    return this.commitReplace(key, current, next, type)
  }

  /**
   * Deletes an object. With finalizers it only gets a deletionTimestamp (a MODIFIED event) and goes
   * away when the last finalizer is removed. A Namespace takes its objects with it; a CRD its objects.
   */
  delete(ref: ObjectRef): KObject | undefined {
    const type = this.typeOf(ref.apiVersion, ref.kind)
    if (!type) return undefined
    const key = this.key(type, ref.namespace, ref.name)
    const current = this.objects.get(key)
    if (!current) return undefined
    // The API server deletes a CRD's objects first and keeps the CRD (Terminating, with its
    // customresourcecleanup finalizer) while one of them waits for its own finalizers: an
    // ImageUpdater whose controller is gone keeps its CRD too.
    if (type.kind === 'CustomResourceDefinition' && !this.dry && !current.obj.metadata.deletionTimestamp) {
      const served = typesOfCrd(current.obj)
      const instances = [...this.objects.values()].filter((o) => served.some((t) => t.group === o.type.group && t.kind === o.type.kind && o.type.custom))
      for (const o of instances) this.delete({ apiVersion: joinApiVersion(o.type.group, o.type.version), kind: o.type.kind, namespace: o.obj.metadata.namespace, name: o.obj.metadata.name })
      if (this.instancesOf(current.obj).length) {
        const next = this.present(current, type)
        next.metadata.finalizers = [...new Set([...finalizersOf(next), CRD_CLEANUP_FINALIZER])]
        next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
        return this.commit(key, next, type, 'MODIFIED')
      }
    }
    const finalizers = current.obj.metadata.finalizers
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      if (current.obj.metadata.deletionTimestamp) return this.present(current, type)
      const next = this.present(current, type)
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      return this.commitReplace(key, current, next, type)
    }
    return this.remove(key, current, type)
  }

  private remove(key: string, current: Stored, type: ResourceType): KObject {
    if (this.dry) return this.present(current, type)
    if (type.kind === 'Namespace' && type.group === '') {
      for (const [k, s] of [...this.objects]) if (s.type.namespaced && s.obj.metadata.namespace === current.obj.metadata.name) this.remove(k, s, s.type)
    }
    if (type.kind === 'CustomResourceDefinition') {
      const served = typesOfCrd(current.obj)
      for (const [k, s] of [...this.objects]) if (served.some((t) => t.group === s.type.group && t.kind === s.type.kind && s.type.custom)) this.remove(k, s, s.type)
    }
    this.objects.delete(key)
    if (type.kind === 'CustomResourceDefinition') this.typeCache = undefined
    const gone = this.present(current, type)
    gone.metadata.resourceVersion = String(++this.rv)
    this.emit({ type: 'DELETED', object: gone })
    // the last object of a Terminating CRD is gone: the CRD goes too
    if (type.custom) {
      for (const [k, c] of [...this.objects]) {
        if (c.type.kind !== 'CustomResourceDefinition' || !c.obj.metadata.deletionTimestamp || !finalizersOf(c.obj).includes(CRD_CLEANUP_FINALIZER)) continue
        if (!typesOfCrd(c.obj).some((t) => t.group === type.group && t.kind === type.kind) || this.instancesOf(c.obj).length) continue
        const next = clone(c.obj)
        const left = finalizersOf(next).filter((f) => f !== CRD_CLEANUP_FINALIZER)
        next.metadata.finalizers = left
        if (left.length) this.commit(k, next, c.type, 'MODIFIED')
        else this.remove(k, { obj: next, type: c.type }, c.type)
      }
    }
    return clone(gone)
  }

  /** The objects of the kinds a CRD serves. */
  private instancesOf(crd: KObject): Stored[] {
    const served = typesOfCrd(crd)
    return [...this.objects.values()].filter((o) => served.some((t) => t.group === o.type.group && t.kind === o.type.kind && o.type.custom))
  }

  /** Runs `write` as a dry run (`dryRun=All`): it validates and returns the result but stores nothing. */
  dryRun<T>(write: () => T): T {
    this.dry = true
    try {
      return write()
    } finally {
      this.dry = false
    }
  }

  /** Subscribes to every change of every kind, in commit order. Returns the unsubscribe function. */
  watch(listener: (e: WatchEvent) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /**
   * The events after `resourceVersion` still in history, or undefined when that version is too
   * old (a real server answers 410 Gone, and clients relist).
   */
  eventsSince(resourceVersion: string): WatchEvent[] | undefined {
    const since = Number(resourceVersion)
    if (!Number.isFinite(since)) return undefined
    if (since >= this.rv) return []
    const oldest = this.history[0]?.rv
    if (oldest === undefined || oldest > since + 1) return undefined
    return this.history.filter((h) => h.rv > since).map((h) => clone(h.event))
  }

  // ---------- internals ----------

  private key(type: ResourceType, namespace: string | undefined, name: string | undefined): string {
    return `${type.group}/${type.kind}/${type.namespaced ? (namespace ?? '') : ''}/${name ?? ''}`
  }

  /**
   * Checks and normalises an object about to be stored (shared by create, update and apply). The
   * upstream schemas check every write through the API and every Argo CD sync; the sandbox's own
   * controllers (no field manager, or one of CONTROLLER_MANAGERS) build valid objects and skip that
   * check, which keeps big schemas such as Pod's from loading at every start.
   */
  private prepare(obj: KObject, type: ResourceType, fieldManager?: string): KObject {
    if (!obj.metadata || typeof obj.metadata.name !== 'string' || obj.metadata.name === '') {
      throw new ApiError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, [
        { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
      ], { kind: type.kind, group: type.group })
    }
    const name = obj.metadata.name
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      throw this.invalid(type, name, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` }])
    }
    if (type.namespaced) {
      const ns = obj.metadata.namespace
      if (!ns) throw new ApiError(400, 'BadRequest', 'the namespace of the object does not match the namespace on the request')
      if (!this.objects.has(this.key(builtinTypes()[0]!, undefined, ns))) {
        throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, undefined, { name: ns, kind: 'namespaces' })
      }
    } else delete obj.metadata.namespace
    obj.apiVersion = joinApiVersion(type.group, type.version)
    if (type.kind === 'Secret' && type.group === '') normaliseSecret(obj)
    if (type.kind === 'CustomResourceDefinition') {
      const problems = crdProblems(obj)
      if (problems.length) throw this.invalid(type, name, problems)
      if (!Array.isArray(obj.status?.conditions)) obj.status = crdStatus(obj)
    }
    if (type.custom) {
      const { obj: pruned, causes } = validateCustomObject(obj, type.schema)
      if (fieldManager !== undefined && !CONTROLLER_MANAGERS.has(fieldManager)) causes.push(...modelCauses(pruned, type))
      if (causes.length) throw this.invalid(type, name, causes)
      return pruned
    }
    const causes = fieldManager !== undefined && !CONTROLLER_MANAGERS.has(fieldManager) ? modelCauses(obj, type) : []
    if (causes.length) throw this.invalid(type, name, causes)
    return obj
  }

  private replace(current: Stored, next: KObject, type: ResourceType, fieldManager?: string, subresource?: string): KObject {
    const key = this.key(type, next.metadata.namespace ?? current.obj.metadata.namespace, next.metadata.name)
    if (type.namespaced && !next.metadata.namespace) next.metadata.namespace = current.obj.metadata.namespace
    if (!('status' in next) && 'status' in current.obj) next.status = clone(current.obj.status)
    const prepared = this.prepare(next, type, fieldManager)
    for (const k of ['uid', 'creationTimestamp', 'generation'] as const) prepared.metadata[k] = current.obj.metadata[k] as never
    if (current.obj.metadata.deletionTimestamp) prepared.metadata.deletionTimestamp = current.obj.metadata.deletionTimestamp
    this.bumpGeneration(current.obj, prepared)
    recordUpdate(this.present(current, type), prepared, fieldManager, subresource)
    if (sameContent(prepared, this.present(current, type))) return this.present(current, type)
    return this.commitReplace(key, current, prepared, type)
  }

  private bumpGeneration(prev: KObject, next: KObject): void {
    const body = (o: KObject) => {
      const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o
      return JSON.stringify(rest)
    }
    next.metadata.generation = (prev.metadata.generation ?? 1) + (body(prev) === body(next) ? 0 : 1)
  }

  private commitReplace(key: string, current: Stored, next: KObject, type: ResourceType): KObject {
    const finalizers = next.metadata.finalizers
    if (next.metadata.deletionTimestamp && (!Array.isArray(finalizers) || finalizers.length === 0)) {
      return this.remove(key, { obj: next, type }, type)
    }
    return this.commit(key, next, type, 'MODIFIED')
  }

  private commit(key: string, obj: KObject, type: ResourceType, eventType: 'ADDED' | 'MODIFIED'): KObject {
    if (this.dry) return this.present({ obj, type }, type)
    obj.metadata.resourceVersion = String(++this.rv)
    const stored: Stored = { obj, type }
    this.objects.set(key, stored)
    if (type.kind === 'CustomResourceDefinition') this.typeCache = undefined
    const view = this.present(stored, type)
    this.emit({ type: eventType, object: view })
    return clone(view)
  }

  /** Delivers events in commit order even when a listener writes while being notified. */
  private emit(event: WatchEvent): void {
    this.history.push({ rv: Number(event.object.metadata.resourceVersion), event })
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT)
    this.pending.push(event)
    if (this.delivering) return
    this.delivering = true
    try {
      while (this.pending.length) {
        const e = this.pending.shift()!
        for (const l of [...this.listeners]) {
          try {
            l(clone(e))
          } catch {
            // a failing listener must not break the write that triggered it
          }
        }
      }
    } finally {
      this.delivering = false
    }
  }

  notFound(type: ResourceType, name: string | undefined): ApiError {
    const what = type.group ? `${type.plural}.${type.group}` : type.plural
    return new ApiError(404, 'NotFound', `${what} "${name ?? ''}" not found`, undefined, { name, group: type.group, kind: type.plural })
  }

  alreadyExists(type: ResourceType, name: string): ApiError {
    const what = type.group ? `${type.plural}.${type.group}` : type.plural
    return new ApiError(409, 'AlreadyExists', `${what} "${name}" already exists`, undefined, { name, group: type.group, kind: type.plural })
  }

  conflict(type: ResourceType, name: string): ApiError {
    const what = type.group ? `${type.plural}.${type.group}` : type.plural
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`, undefined, {
      name,
      group: type.group,
      kind: type.plural,
    })
  }

  invalid(type: ResourceType, name: string, causes: StatusCause[]): ApiError {
    const what = type.group ? `${type.kind}.${type.group}` : type.kind
    const list = causes.map((c) => `${c.field}: ${c.message}`)
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`
    return new ApiError(422, 'Invalid', `${what} "${name}" is invalid: ${summary}`, causes, { name, group: type.group, kind: type.kind })
  }
}

/** Secrets store `stringData` as base64 `data`, like a real API server. */
function normaliseSecret(obj: KObject): void {
  if (obj.stringData && typeof obj.stringData === 'object') {
    obj.data = { ...(obj.data ?? {}) }
    for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) obj.data[k] = Buffer.from(String(v)).toString('base64')
    delete obj.stringData
  }
  obj.type ??= 'Opaque'
}

/** A CRD the sandbox accepts is established at once. */
function crdStatus(crd: KObject): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const names = crd.spec.names
  return {
    acceptedNames: { kind: names.kind, plural: names.plural, singular: names.singular ?? names.kind.toLowerCase(), listKind: names.listKind ?? `${names.kind}List`, ...(names.shortNames ? { shortNames: names.shortNames } : {}) },
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
    ],
    storedVersions: (crd.spec.versions as any[]).filter((v) => v.storage).map((v) => v.name),
  }
}

export { CRD_API_VERSION }
