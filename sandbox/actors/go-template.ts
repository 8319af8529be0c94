// A small Go text/template renderer for ESO `target.template.data`: `{{ .field }}`, string and number
// literals, pipelines (`a | f`), parentheses, trim markers (`{{-`/`-}}`) and the sprig functions the
// setup uses (printf, b64enc, b64dec, upper, lower, trim, quote, toString). Like ESO (missingkey=error),
// an unknown field is an error, not an empty string.

type Value = string | number | boolean | Record<string, unknown> | undefined

export class TemplateError extends Error {}

const funcs: Record<string, (...args: Value[]) => Value> = {
  printf: (format: Value, ...args: Value[]) => goSprintf(String(format), args),
  b64enc: (s) => Buffer.from(String(s)).toString('base64'),
  b64dec: (s) => Buffer.from(String(s), 'base64').toString('utf8'),
  upper: (s) => String(s).toUpperCase(),
  lower: (s) => String(s).toLowerCase(),
  trim: (s) => String(s).trim(),
  quote: (s) => JSON.stringify(String(s)),
  toString: (s: Value) => String(s),
}

/** Go's fmt verbs used in templates: %s %v %d %q %%. */
export function goSprintf(format: string, args: Value[]): string {
  let i = 0
  return format.replace(/%([svdq%])/g, (_m, verb: string) => {
    if (verb === '%') return '%'
    if (i >= args.length) return `%!${verb}(MISSING)`
    const arg = args[i++]
    return verb === 'q' ? JSON.stringify(String(arg)) : String(arg)
  })
}

function tokenize(expr: string): string[] {
  const tokens: string[] = []
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||\(|\)|[^\s|()]+)/gy
  let m: RegExpExecArray | null
  let end = 0
  while ((m = re.exec(expr))) {
    tokens.push(m[1])
    end = re.lastIndex
  }
  if (expr.slice(end).trim()) throw new TemplateError(`unexpected "${expr.slice(end).trim()}" in template`)
  return tokens
}

function evalPipeline(tokens: string[], pos: { i: number }, data: Record<string, unknown>): Value {
  let value: Value = undefined
  let first = true
  for (;;) {
    const args: Value[] = []
    let fn: string | undefined
    while (pos.i < tokens.length && tokens[pos.i] !== '|' && tokens[pos.i] !== ')') {
      const tok = tokens[pos.i++]
      if (tok === '(') {
        args.push(evalPipeline(tokens, pos, data))
        if (tokens[pos.i++] !== ')') throw new TemplateError('unclosed left paren')
      } else if (fn === undefined && args.length === 0 && /^[A-Za-z_]\w*$/.test(tok) && !['true', 'false'].includes(tok)) {
        if (!funcs[tok]) throw new TemplateError(`function "${tok}" not defined`)
        fn = tok
      } else args.push(operand(tok, data))
    }
    if (!first) args.push(value)
    if (fn) value = funcs[fn](...args)
    else {
      if (args.length !== 1) throw new TemplateError(`can't give argument to non-function ${String(args[0])}`)
      value = args[0]
    }
    first = false
    if (tokens[pos.i] !== '|') return value
    pos.i++
  }
}

function operand(tok: string, data: Record<string, unknown>): Value {
  if (tok.startsWith('"')) return JSON.parse(tok)
  if (tok.startsWith('`')) return tok.slice(1, -1)
  if (/^-?\d+(\.\d+)?$/.test(tok)) return Number(tok)
  if (tok === 'true' || tok === 'false') return tok === 'true'
  if (tok === '.') return data as Record<string, unknown>
  if (tok.startsWith('.')) {
    let cur: unknown = data
    for (const key of tok.slice(1).split('.')) {
      if (cur === null || typeof cur !== 'object' || !(key in (cur as object)))
        throw new TemplateError(`map has no entry for key "${key}"`)
      cur = (cur as Record<string, unknown>)[key]
    }
    return cur as Value
  }
  throw new TemplateError(`function "${tok}" not defined`)
}

/** Renders a template against `data` (ESO: the secret's keys). Throws TemplateError like Go would. */
export function renderGoTemplate(template: string, data: Record<string, unknown>): string {
  let out = ''
  let rest = template
  for (;;) {
    const open = rest.indexOf('{{')
    if (open < 0) return out + rest
    let text = rest.slice(0, open)
    let body = rest.slice(open + 2)
    const close = body.indexOf('}}')
    if (close < 0) throw new TemplateError('unclosed action')
    let inner = body.slice(0, close)
    rest = body.slice(close + 2)
    if (inner.startsWith('- ')) { text = text.trimEnd(); inner = inner.slice(1) }
    if (inner.endsWith(' -')) { rest = rest.trimStart(); inner = inner.slice(0, -1) }
    out += text
    if (inner.trim().startsWith('/*')) continue
    const tokens = tokenize(inner)
    if (tokens.length === 0) throw new TemplateError('missing value for command')
    const pos = { i: 0 }
    const value = evalPipeline(tokens, pos, data)
    if (pos.i < tokens.length) throw new TemplateError(`unexpected "${tokens[pos.i]}" in operand`)
    out += value === undefined ? '<no value>' : typeof value === 'object' ? JSON.stringify(value) : String(value)
  }
}
