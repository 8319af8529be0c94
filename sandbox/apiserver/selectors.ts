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

export function fieldSelector(selector: string | null): Matcher {
  if (!selector) return () => true
  const tests = terms(selector).map((term) => {
    const m = term.match(/^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/)
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector: "${term}"`)
    const [, path, op, value] = m as unknown as [string, string, string, string]
    const read = (obj: KObject) => {
      let cur: any = obj
      for (const k of path.split('.')) cur = cur?.[k]
      return cur === undefined || cur === null ? '' : String(cur)
    }
    return op === '!=' ? (o: KObject) => read(o) !== value : (o: KObject) => read(o) === value
  })
  return (obj) => tests.every((t) => t(obj))
}
