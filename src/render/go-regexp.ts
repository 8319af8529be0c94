// Tag filters as Image Updater compiles them: with Go's regexp package (RE2 syntax; re2js is its
// JavaScript port, with the same parser and messages). What JavaScript accepts and Go refuses
// (lookaround, backreferences, possessive quantifiers, atomic groups) makes the controller log
// "Could not compile regexp" and then match no tag at all, a run that looks green and never updates.
// Such a filter is named with the construct Go refuses and, where one can be derived, a rewrite Go
// accepts that allows the same tags.
import { RE2JS } from 're2js'

export interface GoRegexpProblem {
  /** the construct Go refuses, as the user would name it, e.g. "a lookahead `(?=`" ('' for a plain syntax error) */
  construct: string
  /** Go's own message ("error parsing regexp: ...") */
  error: string
  /** a filter Go accepts allowing the same tags, when one can be derived */
  rewrite?: string
  /** what to take out when no rewrite can be derived */
  remove?: string
}

function goError(re: string): string | undefined {
  try {
    RE2JS.compile(re)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/** One unit a quantifier applies to: a character class, an escape, `.` or a plain character. */
const ATOM = String.raw`(?:\[(?:\\.|[^\]\\])+\]|\\[dDwWsS]|\\.|[^()[\]{}*+?|^$\\])`

/**
 * Rewrites that allow the same tags:
 * - a lookahead that only demands a minimum count of the run that follows it to the end (of the
 *   filter or a group): `(?=A{n})A+$` (or `A*`) is `A{n,}$`; `(?=A)A+` is `A+`;
 * - a possessive quantifier `X++` or an atomic group `(?>X)` only forbid backtracking, which RE2 never
 *   needs: `X+` and `(?:X)` (a pattern that relied on it to fail could match no tag anyway);
 * - `\Z` (end of text) is `\z` in Go.
 */
const MIN_COUNT_LOOKAHEAD = String.raw`\(\?=(${ATOM})\{(\d+)(?:,\d*)?\}\)\1[+*](?=\$|\)|$)`
const REWRITES: { test: RegExp; apply: (re: string) => string }[] = [
  { test: new RegExp(MIN_COUNT_LOOKAHEAD), apply: (re) => re.replace(new RegExp(MIN_COUNT_LOOKAHEAD, 'g'), (_m, atom: string, n: string) => `${atom}{${n},}`) },
  { test: new RegExp(String.raw`\(\?=(${ATOM})\)\1\+`), apply: (re) => re.replace(new RegExp(String.raw`\(\?=(${ATOM})\)\1\+`, 'g'), (_m, atom: string) => `${atom}+`) },
  { test: /([*+?}])\+/, apply: (re) => re.replace(/([*+?}])\+/g, '$1') },
  { test: /\(\?>/, apply: (re) => re.replace(/\(\?>/g, '(?:') },
  { test: /\\Z/, apply: (re) => re.replace(/\\Z/g, '\\z') },
]

/** The construct Go's message points at, named, and what to take out (and why) when nothing can be rewritten. */
function nameConstruct(error: string): { construct: string; remove: string } {
  const at = /: `([^`]*)`/.exec(error)?.[1] ?? ''
  const lookaround = 'Go has no lookaround'
  if (at.startsWith('(?=')) return { construct: 'a lookahead `(?=`', remove: `the lookahead (?=...) (${lookaround}: match the characters themselves)` }
  if (at.startsWith('(?!')) return { construct: 'a negative lookahead `(?!`', remove: `the negative lookahead (?!...) (${lookaround}: list the tags to skip in ignore-tags instead)` }
  if (at.startsWith('(?<=') || at.startsWith('(?<!')) return { construct: `a ${at.startsWith('(?<!') ? 'negative ' : ''}lookbehind \`${at.slice(0, 4)}\``, remove: `the lookbehind ${at.slice(0, 4)}...) (${lookaround}: match the text before it itself)` }
  if (/^\\[1-9]/.test(at)) return { construct: `a backreference \`${at.slice(0, 2)}\``, remove: `the backreference ${at.slice(0, 2)} (Go has no backreferences: spell the repeated part out)` }
  if (at.startsWith('\\k')) return { construct: 'a named backreference `\\k<...>`', remove: 'the named backreference \\k<...> (Go has no backreferences: spell the repeated part out)' }
  if (/^[*+?}]\+$/.test(at)) return { construct: `a possessive quantifier \`${at}\``, remove: `the second + of ${at}` }
  if (at.startsWith('(?>')) return { construct: 'an atomic group `(?>`', remove: 'the > of (?>...) (write the plain group (?:...))' }
  if (at.startsWith('(?(')) return { construct: 'a conditional `(?(`', remove: 'the conditional (?(...)...) (Go has none: use alternatives a|b)' }
  if (/invalid repeat count/.test(error)) return { construct: `a repeat count over 1000 \`${at}\``, remove: `the repeat count ${at} (Go allows at most 1000)` }
  // a plain mistake (an unclosed bracket...), which no engine would take
  return { construct: '', remove: `what Go names: ${error.replace(/^error parsing regexp: /, '')}` }
}

/** Why Go's regexp refuses `re` (undefined: it compiles), with a rewrite Go accepts where one can be derived. */
export function goRegexpProblem(re: string): GoRegexpProblem | undefined {
  const error = goError(re)
  if (error === undefined) return undefined
  const { construct, remove } = nameConstruct(error)
  // apply what can be rewritten until Go takes it (or nothing more applies)
  let rewrite = re
  for (let round = 0; round < REWRITES.length * 2 && goError(rewrite) !== undefined; round++) {
    const step = REWRITES.find((r) => r.test.test(rewrite))
    if (!step) break
    rewrite = step.apply(rewrite)
  }
  return goError(rewrite) === undefined ? { construct, error, rewrite } : { construct, error, remove }
}

/** A sentence for a refusal: what Go refuses in `re`, and what the controller then does. */
export function goRegexpCause(re: string, problem: GoRegexpProblem): string {
  if (!problem.construct) return `"${re}" does not compile: ${problem.error.replace(/^error parsing regexp: /, '')} (Go's regexp, which Image Updater compiles tag filters with)`
  return `"${re}" uses ${problem.construct}, which Go's regexp (RE2) refuses: Image Updater logs "Could not compile regexp" and then matches no tag at all`
}
