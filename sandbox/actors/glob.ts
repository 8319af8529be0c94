// Argo CD's Directory `include`/`exclude` patterns: globs with `{a,b}` alternatives, matched against
// the file's path relative to the app path. Like Argo CD (gobwas/glob without separators), `*`
// also crosses `/`, so `*.yaml` matches files in subfolders once `recurse` lists them.

function escape(ch: string): string {
  return /[\\^$.+()|{}[\]*?]/.test(ch) ? `\\${ch}` : ch
}

/** Compiles one glob into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  let depth = 0
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]
    if (ch === '*') out += '.*'
    else if (ch === '?') out += '.'
    else if (ch === '{') { depth++; out += '(?:' }
    else if (ch === '}' && depth > 0) { depth--; out += ')' }
    else if (ch === ',' && depth > 0) out += '|'
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) { out += '\\['; continue }
      let body = glob.slice(i + 1, end)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      out += `[${body.replace(/\\/g, '\\\\')}]`
      i = end
    } else if (ch === '\\' && i + 1 < glob.length) out += escape(glob[++i])
    else out += escape(ch)
  }
  return new RegExp(`^${out}$`)
}

export function globMatch(glob: string, path: string): boolean {
  return globToRegExp(glob).test(path)
}

/** Whether a manifest file (path relative to the app path) is part of a Directory source. */
export function directoryIncludes(relPath: string, opts: { include?: string; exclude?: string; recurse?: boolean }): boolean {
  if (!/\.(ya?ml|json)$/.test(relPath)) return false
  if (!opts.recurse && relPath.includes('/')) return false
  if (opts.include && !globMatch(opts.include, relPath)) return false
  if (opts.exclude && globMatch(opts.exclude, relPath)) return false
  return true
}
