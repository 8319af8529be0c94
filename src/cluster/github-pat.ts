// What GitHub says about the token task 1 stores (its kind and scopes); the token itself comes from
// src/github-token.ts (GITHUB_PAT, else asked early, shape-checked). Never printed, logged or saved.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'

/** Where a classic token with the scopes the setup needs is created. */
export const NEW_CLASSIC_TOKEN = 'https://github.com/settings/tokens/new?scopes=read:packages,repo&description=argocd-image-updater'

/** ghcr.io takes a classic personal access token only: a fine-grained one (github_pat_) is refused there. */
export function fineGrainedProblem(token: string): SetupError | undefined {
  if (!token.startsWith('github_pat_')) return undefined
  return new SetupError(
    'GITHUB_PAT is a fine-grained token (github_pat_…): ghcr.io does not accept fine-grained tokens, so Image Updater could not read the tags',
    `create a classic personal access token with read:packages and repo (${NEW_CLASSIC_TOKEN}), put it in GITHUB_PAT and rerun: npx tsx scripts/run.ts --from 1`,
  )
}

/**
 * The scopes a classic token needs, from X-OAuth-Scopes: read:packages (write:packages implies it)
 * for ghcr.io, repo (public_repo for a public repository) for the write-back. Returns what it saw.
 */
export function checkTokenScopes(token: string, scopes: string[] | undefined, opts: { privateRepo: boolean }): string[] {
  const fine = fineGrainedProblem(token)
  if (fine) throw fine
  if (scopes === undefined) return ['token scopes: not reported by GitHub (not a classic token?); ghcr.io needs a classic token with read:packages']
  const has = (s: string) => scopes.includes(s)
  const missing: string[] = []
  if (!has('read:packages') && !has('write:packages')) missing.push('read:packages (ghcr.io pulls)')
  if (!has('repo') && !(has('public_repo') && !opts.privateRepo)) missing.push(opts.privateRepo ? 'repo (git write-back to a private repository)' : 'repo or public_repo (git write-back)')
  if (missing.length)
    throw new SetupError(
      `GITHUB_PAT lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' and ')} (it has: ${scopes.join(', ') || 'none'})`,
      `edit the token at https://github.com/settings/tokens to add ${missing.map((m) => m.split(' ')[0]).join(' and ')} (or create one: ${NEW_CLASSIC_TOKEN}), then rerun: npx tsx scripts/run.ts --from 1`,
    )
  return [`token scopes: ${scopes.join(', ')}`]
}
