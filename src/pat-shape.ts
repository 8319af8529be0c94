// The shape of a GitHub token, checked before it goes anywhere: a typo at the hidden prompt must not
// silently replace the secret in Vault. Only the shape is checked here (no network); the scopes are
// the GitHub API's business (src/cluster/github-pat.ts).
import { SetupError } from './errors.ts'

/** Classic (ghp_) and the other 40-character kinds (OAuth gho_, user-to-server ghu_, server-to-server ghs_, refresh ghr_). */
const CLASSIC = /^gh[pousr]_[A-Za-z0-9]{36}$/
/** Fine-grained: github_pat_ + 22 + _ + 59 (93 characters in all). */
const FINE_GRAINED = /^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/

export const SHAPE_OVERRIDE_FLAG = '--any-token-shape'

/**
 * What in `pat` no GitHub token has (letters, digits and _ only) and would break the
 * dockerconfigjson built from it: a paste gone wrong. Undefined when there is nothing of the kind.
 */
export function badTokenCharacters(pat: string): string | undefined {
  return /["\\]/.test(pat) ? 'a quote or backslash' : /[\r\n]/.test(pat) ? 'a line break' : /[\s\x00-\x1f\x7f]/.test(pat) ? 'a space or control character' : undefined
}

export function looksLikeGithubToken(pat: string): boolean {
  return CLASSIC.test(pat) || FINE_GRAINED.test(pat)
}

/**
 * Throws when the token cannot be stored: characters that would break the dockerconfigjson built
 * from it (always), or a shape no GitHub token has (unless `anyShape`, the explicit override).
 * The message names the length and the prefix kind, never the token.
 */
export function checkPatShape(pat: string, source: string, anyShape: boolean): void {
  const bad = badTokenCharacters(pat)
  if (bad)
    throw new SetupError(
      `the GitHub token from ${source} contains ${bad}, which no GitHub token has and which would break the pull secret built from it; nothing was stored`,
      source === 'the prompt' ? 'run again and paste the token alone (copy it again from GitHub if unsure)' : 'set GITHUB_PAT in .env to the token alone, on one line, without quotes inside it',
    )
  // a fine-grained token of any length is refused by task 1 with its own cause (ghcr.io takes classic tokens only)
  if (anyShape || looksLikeGithubToken(pat) || pat.startsWith('github_pat_')) return
  const prefix = /^(gh[a-z]_|github_pat_)/.exec(pat)?.[1]
  throw new SetupError(
    `the GitHub token from ${source} does not look like a GitHub token (${pat.length} characters${prefix ? `, starts with ${prefix}` : ', no ghp_/github_pat_ prefix'}; expected ghp_ + 36 letters and digits, or github_pat_ + 82); nothing was stored`,
    `${source === 'the prompt' ? 'run again and paste the whole token' : 'set GITHUB_PAT in .env to the whole token'} (GitHub → Settings → Developer settings → Personal access tokens); if your token really has another shape, add ${SHAPE_OVERRIDE_FLAG}`,
  )
}
