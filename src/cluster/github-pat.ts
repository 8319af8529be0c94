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
  const pat = await promptHidden(`GitHub token for ${ctx.settings.githubUsername} (read:packages, contents:write; input hidden): `)
  if (!pat) throw new SetupError('no GitHub token given', 'set GITHUB_PAT in .env or type the token when asked')
  const bad = patCharacterProblem(pat)
  if (bad) throw new SetupError(bad.cause.replace('GITHUB_PAT', 'the token typed'), 'type the token exactly as GitHub shows it (ghp_… or github_pat_…), or set GITHUB_PAT in .env')
  asked.set(ctx, pat)
  return pat
}
