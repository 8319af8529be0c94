// The GitHub token for task 1: from GITHUB_PAT (.env), else a hidden prompt on a terminal.
// Kept per Ctx so the re-plan after apply does not ask twice; never printed, logged or saved.
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { patCharacterProblem } from '../settings.ts'

const asked = new WeakMap<Ctx, string>()

/** Reads a line from the terminal without echoing it (prompt on stderr: stdout belongs to the renderer). */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    let muted = false
    const out = new Writable({
      write(chunk, _enc, cb) {
        if (!muted) process.stderr.write(chunk)
        cb()
      },
    })
    const rl = createInterface({ input: process.stdin, output: out, terminal: true })
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer.trim())
    })
    muted = true
  })
}

export async function githubPat(ctx: Ctx): Promise<string> {
  const fromEnv = ctx.secrets.githubPat()
  if (fromEnv) return fromEnv
  const cached = asked.get(ctx)
  if (cached) return cached
  if (!process.stdin.isTTY)
    throw new SetupError('GITHUB_PAT is not set and there is no terminal to ask for it', 'set GITHUB_PAT in .env (chmod 600 .env), or run on a terminal to be asked')
  const pat = await promptHidden(`GitHub token for ${ctx.settings.githubUsername} (classic, read:packages and repo; input hidden): `)
  if (!pat) throw new SetupError('no GitHub token given', 'set GITHUB_PAT in .env or type the token when asked')
  const bad = patCharacterProblem(pat)
  if (bad) throw new SetupError(bad.cause.replace('GITHUB_PAT', 'the token typed'), 'type the token exactly as GitHub shows it (ghp_… or github_pat_…), or set GITHUB_PAT in .env')
  asked.set(ctx, pat)
  return pat
}

const NEW_CLASSIC_TOKEN = 'https://github.com/settings/tokens/new?scopes=read:packages,repo&description=argocd-image-updater'

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
