// What server-side printing (table.ts) needs to turn objects into cells: ages written the way the
// API server writes them ("45s", "3m12s", "5h", "12d"), and the JSONPath subset CRDs use in
// additionalPrinterColumns (`.status.sync.status`, `.items[0]`, `.list[*].name`,
// `.status.conditions[?(@.type=="Ready")].status`).

/** A duration in milliseconds as Kubernetes prints ages (apimachinery's HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  const years = Math.floor(hours / 24 / 365)
  const days = Math.floor(hours / 24) % 365
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`
  return `${years}y`
}

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; op: '==' | '!='; value: string } }

function parse(path: string): Step[] {
  const steps: Step[] = []
  const text = path.trim().replace(/^\{(.*)\}$/, '$1').replace(/^\$/, '')
  let i = 0
  while (i < text.length) {
    if (text[i] === '.') {
      const m = /^\.([A-Za-z0-9_\-\/]+)/.exec(text.slice(i))
      if (!m) throw new Error(`unsupported JSONPath ${path}`)
      steps.push({ field: m[1]! })
      i += m[0].length
    } else if (text[i] === '[') {
      const end = text.indexOf(']', i)
      if (end < 0) throw new Error(`unsupported JSONPath ${path}`)
      const inner = text.slice(i + 1, end).trim()
      const filter = /^\?\(@((?:\.[A-Za-z0-9_\-]+)+)\s*(==|!=)\s*["']([^"']*)["']\)$/.exec(inner)
      if (inner === '*') steps.push({ all: true })
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) })
      else if (/^['"].*['"]$/.test(inner)) steps.push({ field: inner.slice(1, -1) })
      else if (filter) steps.push({ filter: { path: filter[1]!.split('.').filter(Boolean), op: filter[2] as '==' | '!=', value: filter[3]! } })
      else throw new Error(`unsupported JSONPath ${path}`)
      i = end + 1
    } else throw new Error(`unsupported JSONPath ${path}`)
  }
  return steps
}

const field = (v: unknown, name: string): unknown => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[name] : undefined)

/** The values `path` selects in `obj` (none when it selects nothing or is outside the subset). */
export function jsonPathValues(obj: unknown, path: string): unknown[] {
  let steps: Step[]
  try {
    steps = parse(path)
  } catch {
    return []
  }
  let current: unknown[] = [obj]
  for (const step of steps) {
    const next: unknown[] = []
    for (const v of current) {
      if ('field' in step) next.push(field(v, step.field))
      else if ('index' in step) {
        if (Array.isArray(v)) next.push(v[step.index < 0 ? v.length + step.index : step.index])
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v)
        else if (v && typeof v === 'object') next.push(...Object.values(v))
      } else if (Array.isArray(v)) {
        const { path: p, op, value } = step.filter
        next.push(...v.filter((item) => (String(p.reduce<unknown>((x, k) => field(x, k), item)) === value) === (op === '==')))
      }
    }
    current = next.filter((v) => v !== undefined && v !== null)
  }
  return current
}
