// Label and field selectors as `kubectl get -l` / `--field-selector` send them.
import { ApiError, type KObject } from '../store.ts'

export type Matcher = (obj: KObject) => boolean

/** Splits on commas that are not inside `in (a,b)` parentheses. */
function terms(selector: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of selector) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.map((t) => t.trim()).filter(Boolean)
}

export function labelSelector(selector: string | null): Matcher {
  if (!selector) return () => true
  const tests = terms(selector).map((term): ((labels: Record<string, string>) => boolean) => {
    let m: RegExpMatchArray | null
    if ((m = term.match(/^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      const [, key, op, value] = m as unknown as [string, string, string, string]
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value
    }
    if ((m = term.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const [, key, op, list] = m as unknown as [string, string, string, string]
      const values = list.split(',').map((v) => v.trim())
      return op === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l) || !values.includes(l[key]!)
    }
    if ((m = term.match(/^!\s*(\S+)$/))) {
      const key = m[1]!
      return (l) => !(key in l)
    }
    if (/^[A-Za-z0-9._/-]+$/.test(term)) return (l) => term in l
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: invalid label selector "${selector}"`)
  })
  return (obj) => tests.every((t) => t(obj.metadata.labels ?? {}))
}

/**
 * The field labels the API server accepts in a field selector, beyond metadata.name and
 * metadata.namespace (every kind): each built-in kind registers its own few (its strategy's
 * GetAttrs); a custom resource has none. Anything else is refused, so a selector that works here
 * works on a cluster. Keys are `group/Kind`; a label maps to the field it reads.
 */
const FIELD_LABELS: Record<string, Record<string, string>> = {
  '/Pod': Object.fromEntries(['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'].map((l) => [l, l])),
  '/Event': {
    ...Object.fromEntries(['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'type'].map((l) => [l, l])),
    source: 'source.component',
  },
  '/Secret': { type: 'type' },
  '/Namespace': { 'status.phase': 'status.phase' },
  '/Node': { 'spec.unschedulable': 'spec.unschedulable' },
  '/ReplicationController': { 'status.replicas': 'status.replicas' },
  'apps/ReplicaSet': { 'status.replicas': 'status.replicas' },
  'batch/Job': { 'status.successful': 'status.succeeded' },
}

/** `type` (group, kind, plural) checks each label the way the API server does; without it any path is read. */
export function fieldSelector(selector: string | null, type?: { group: string; kind: string; version: string; plural: string }): Matcher {
  if (!selector) return () => true
  const known: Record<string, string> | undefined = type ? { 'metadata.name': 'metadata.name', 'metadata.namespace': 'metadata.namespace', ...(FIELD_LABELS[`${type.group}/${type.kind}`] ?? {}) } : undefined
  const tests = terms(selector).map((term) => {
    const m = term.match(/^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/)
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector: "${term}"`)
    const [, label, op, value] = m as unknown as [string, string, string, string]
    const path = known ? known[label] : label
    if (path === undefined)
      throw new ApiError(400, 'BadRequest', `Unable to find "${type!.group}/${type!.version}, Resource=${type!.plural}" that match label selector "", field selector "${selector}": field label not supported: ${label}`)
    const read = (obj: KObject) => {
      let cur: any = obj
      for (const k of path.split('.')) cur = cur?.[k]
      return cur === undefined || cur === null ? '' : String(cur)
    }
    return op === '!=' ? (o: KObject) => read(o) !== value : (o: KObject) => read(o) === value
  })
  return (obj) => tests.every((t) => t(obj))
}
