// Renders the static templates in manifests/: `${name}` and `${name|json}` placeholders and
// `#?flag` conditional lines (see manifests/README.md).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const MANIFESTS_DIR = join(import.meta.dirname, '..', '..', 'manifests')

export type TemplateVars = Record<string, string>

export function renderTemplate(text: string, vars: TemplateVars, flags: Record<string, boolean> = {}, name = 'template'): string {
  const lines = text.split('\n').flatMap((line) => {
    const m = /\s*#\?(\w+)\s*$/.exec(line)
    if (!m) return [line]
    if (!(m[1] in flags)) throw new Error(`${name}: unknown flag #?${m[1]}`)
    return flags[m[1]] ? [line.slice(0, m.index)] : []
  })
  return lines.join('\n').replace(/\$\{(\w+)(\|json)?\}/g, (_, key: string, json?: string) => {
    if (!(key in vars)) throw new Error(`${name}: no value for \${${key}}`)
    return json ? JSON.stringify(vars[key]) : vars[key]
  })
}

export function renderManifest(rel: string, vars: TemplateVars, flags: Record<string, boolean> = {}): string {
  return renderTemplate(readFileSync(join(MANIFESTS_DIR, rel), 'utf8'), vars, flags, `manifests/${rel}`)
}
