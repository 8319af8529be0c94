// The GitHub token for task 1: GITHUB_PAT (.env or environment), else asked on the terminal, and
// asked early (before the Kubernetes client loads) so a token pasted at once is not echoed. Either
// way its shape is checked before anything is stored. Never printed, logged or saved; once asked it
// lives in ctx.secrets so every redaction covers it.
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { checkPatShape } from './pat-shape.ts'
import { canAsk, promptHidden, questionsClosed } from './token-prompt.ts'

const asked = new WeakSet<object>()

function source(ctx: Ctx): string {
  return asked.has(ctx.secrets) ? 'the prompt' : 'GITHUB_PAT'
}

/** True when task 1 would have to ask (no GITHUB_PAT); dry-run never asks. */
export function tokenNeedsAsking(ctx: Ctx): boolean {
  return !ctx.dryRun && !ctx.secrets.githubPat()
}

/** Asks for the token (hidden) and keeps it in ctx.secrets; refuses an empty or misshapen one. */
export async function askGithubToken(ctx: Ctx): Promise<string> {
  if (questionsClosed())
    throw new SetupError('GITHUB_PAT is not set, and no question is asked once the task list is drawn', 'set GITHUB_PAT in .env (chmod 600 .env), or run again on a terminal: the token is asked before the list starts')
  if (!canAsk())
    throw new SetupError('GITHUB_PAT is not set and there is no terminal to ask for it', 'set GITHUB_PAT in .env (chmod 600 .env), or run on a terminal to be asked')
  const pat = await promptHidden(`GitHub token for ${ctx.settings.githubUsername} (classic, read:packages and repo; input hidden): `)
  if (!pat) throw new SetupError('no GitHub token given; nothing was stored', 'run again and paste the token when asked, or set GITHUB_PAT in .env')
  checkPatShape(pat, 'the prompt', Boolean(ctx.anyTokenShape))
  const { vaultToken } = ctx.secrets
  ctx.secrets = { githubPat: () => pat, vaultToken }
  asked.add(ctx.secrets)
  return pat
}

/** The token task 1 stores: checked, asked for when missing; undefined only in dry-run (never asks). */
export async function githubToken(ctx: Ctx): Promise<string | undefined> {
  const pat = ctx.secrets.githubPat()
  if (!pat) return ctx.dryRun ? undefined : askGithubToken(ctx)
  checkPatShape(pat, source(ctx), Boolean(ctx.anyTokenShape))
  return pat
}
