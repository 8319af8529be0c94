// Image Updater's per-image settings, validated the way the real controller does: `allow-tags` must
// be `regexp:<re>` or `any` (anything else logs "Invalid match option syntax" or "Unknown match
// function" and then matches no tag at all); the regexp compiles with Go's rules (RE2, through
// re2js): a lookahead, lookbehind, backreference or possessive quantifier logs "Could not compile
// regexp" and matches no tag, where JavaScript would have taken it; strategies `semver` (default),
// `newest-build`, `alphabetical`, `digest`, with `latest` and `name` as deprecated aliases and an
// unknown value falling back to semver.
import { RE2JS } from 're2js'

export type Strategy = 'semver' | 'newest-build' | 'alphabetical' | 'digest'
export interface TagInfo { tag: string; builtAt: Date; digest?: string }
export interface Parsed<T> { value: T; warning?: string }

export function parseAllowTags(option: string | undefined): Parsed<(tag: string) => boolean> {
  if (option === undefined || option === '' || option.toLowerCase() === 'any') return { value: () => true }
  const colon = option.indexOf(':')
  if (colon < 0) return { value: () => false, warning: `Invalid match option syntax '${option}', ignoring` }
  const [fn, re] = [option.slice(0, colon), option.slice(colon + 1)]
  if (fn.toLowerCase() !== 'regexp') return { value: () => false, warning: `Unknown match function: ${fn}` }
  try {
    // Go's regexp.MatchString: a match anywhere in the tag (anchors are the filter's own)
    const compiled = RE2JS.compile(re)
    return { value: (tag) => compiled.test(tag) }
  } catch {
    return { value: () => false, warning: `Could not compile regexp '${re}'` }
  }
}

export function parseIgnoreTags(option: string | undefined): (tag: string) => boolean {
  const globs = (option ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  const res = globs.map((g) => new RegExp('^' + g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$'))
  return (tag) => res.some((re) => re.test(tag))
}

export function parseStrategy(option: string | undefined): Parsed<Strategy> {
  switch (option ?? '') {
    case '': case 'semver': return { value: 'semver' }
    case 'newest-build': return { value: 'newest-build' }
    case 'alphabetical': return { value: 'alphabetical' }
    case 'digest': return { value: 'digest' }
    case 'latest': return { value: 'newest-build', warning: '"latest" strategy has been renamed to "newest-build". Please switch to the new convention as support for the old naming convention will be removed in future versions.' }
    case 'name': return { value: 'alphabetical', warning: '"name" strategy has been renamed to "alphabetical". Please switch to the new convention as support for the old naming convention will be removed in future versions.' }
    default: return { value: 'semver', warning: `Unknown sort option ${option} -- using semver` }
  }
}

interface Semver { major: number; minor: number; patch: number; pre: string }
export function parseSemver(tag: string): Semver | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(tag)
  return m ? { major: +m[1], minor: +(m[2] ?? 0), patch: +(m[3] ?? 0), pre: m[4] ?? '' } : undefined
}

function compareSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || (a.pre === b.pre ? 0 : a.pre === '' ? 1 : b.pre === '' ? -1 : a.pre < b.pre ? -1 : 1)
}

/** Semver constraints as written in image-list (`~1.2`, `^1`, `1.x`, `>=1.0.0`); undefined = any. */
export function semverConstraint(constraint: string | undefined): (v: Semver) => boolean {
  if (!constraint) return (v) => v.pre === ''
  const m = /^(~|\^|>=|>|<=|<|=)?\s*v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(constraint.trim())
  if (!m) return () => false
  const [, op = '', maj, min, pat] = m
  const num = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? undefined : +s)
  const base = { major: num(maj) ?? 0, minor: num(min) ?? 0, patch: num(pat) ?? 0, pre: '' }
  return (v) => {
    if (v.pre) return false
    const c = compareSemver(v, base)
    switch (op) {
      case '>=': return c >= 0
      case '>': return c > 0
      case '<=': return c <= 0
      case '<': return c < 0
      case '~': return c >= 0 && v.major === base.major && (min === undefined || v.minor === base.minor)
      case '^': return c >= 0 && v.major === base.major
      default:
        return (num(maj) === undefined || v.major === num(maj)) && (num(min) === undefined || v.minor === num(min)) && (num(pat) === undefined || v.patch === num(pat))
    }
  }
}

/**
 * The tag the updater would move to, or undefined when none is allowed. `constraint` is the part after
 * `:` in image-list (semver constraint; for digest the tag to follow).
 */
export function selectTag(tags: TagInfo[], opts: { strategy: Strategy; allow: (t: string) => boolean; ignore?: (t: string) => boolean; constraint?: string }): TagInfo | undefined {
  const allowed = tags.filter((t) => opts.allow(t.tag) && !(opts.ignore?.(t.tag) ?? false))
  switch (opts.strategy) {
    case 'newest-build':
      return [...allowed].sort((a, b) => b.builtAt.getTime() - a.builtAt.getTime() || (a.tag < b.tag ? 1 : -1))[0]
    case 'alphabetical':
      return [...allowed].sort((a, b) => (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0))[0]
    case 'digest':
      return allowed.find((t) => t.tag === (opts.constraint ?? 'latest'))
    case 'semver': {
      const fits = semverConstraint(opts.constraint)
      const versions = allowed.map((t) => ({ t, v: parseSemver(t.tag) })).filter((x): x is { t: TagInfo; v: Semver } => !!x.v && fits(x.v))
      versions.sort((a, b) => compareSemver(b.v, a.v))
      return versions[0]?.t
    }
  }
}

export interface ImageSpec { alias: string; image: string; constraint?: string }

/** `image-list`: `[alias=]image[:constraint]`, comma separated. */
export function parseImageList(list: string): ImageSpec[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const eq = entry.indexOf('=')
    const alias = eq >= 0 ? entry.slice(0, eq) : ''
    const ref = eq >= 0 ? entry.slice(eq + 1) : entry
    const { name, tag } = splitImage(ref)
    return { alias: alias || name.split('/').at(-1)!, image: name, constraint: tag }
  })
}

/** `ghcr.io/a/b:tag` → name and tag (a port's colon is not a tag). */
export function splitImage(ref: string): { name: string; tag?: string } {
  const at = ref.indexOf('@')
  const noDigest = at >= 0 ? ref.slice(0, at) : ref
  const colon = noDigest.lastIndexOf(':')
  if (colon > noDigest.lastIndexOf('/')) return { name: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) }
  return { name: noDigest }
}
