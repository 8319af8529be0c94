// Task 1: the GitHub token into Vault (KV v2, `username` and `pat`), written through exec in the
// Vault pod with the token on stdin (`pat=-`), never on a command line. Nothing is written when
// Vault already holds the same values; the comparison never prints them. A token of the wrong shape
// is refused before anything is stored, and replacing a different token says which version it
// replaces (and asks, on a terminal).
import { runIfMain } from '../src/run-alone.ts'
import type { Ctx } from '../src/context.ts'
import type { Task } from '../src/task.ts'
import { fineGrainedProblem } from '../src/cluster/github-pat.ts'
import { githubToken } from '../src/github-token.ts'
import { ensureLogin, isLoggedIn, kvGet, kvPutGithub, requireUnsealed, type KvSecret } from '../src/cluster/vault.ts'
import { SetupError } from '../src/errors.ts'
import { checkToken } from '../src/cluster/write-back-proof.ts'
import { canAsk, confirm } from '../src/token-prompt.ts'
import { refreshAndProve, rotationPlan, staleReaders } from '../src/lifecycle/rotation.ts'

/** Whether the secret Vault holds has exactly these values (compared in memory, never printed). */
const holds = (secret: KvSecret, username: string, pat: string) => secret.data.username === username && secret.data.pat === pat

/** "replaces version 3 written 2026-11-24 23:56 UTC", or undefined when Vault holds these values or nothing. */
export function replacement(current: KvSecret | undefined, username: string, pat: string): string | undefined {
  if (!current || holds(current, username, pat)) return undefined
  const when = current.createdTime && !Number.isNaN(Date.parse(current.createdTime)) ? ` written ${new Date(current.createdTime).toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''
  const what = current.data.pat === pat ? 'a different username' : 'a different token'
  return `replaces version ${current.version ?? '?'}${when} (Vault holds ${what} there)`
}

async function currentValue(ctx: Ctx): Promise<KvSecret | undefined> {
  return kvGet(ctx, ctx.settings.vaultPath)
}

/**
 * Without GITHUB_PAT: the secret Vault holds when it has a token for GITHUB_USERNAME (nothing for
 * task 1 to write, nothing to ask), else undefined. A Vault that cannot be read yet (dry run, not
 * logged in) holds nothing as far as this knows.
 */
async function heldToken(ctx: Ctx): Promise<KvSecret | undefined> {
  // a sealed Vault is named as such, not as a failed login
  await requireUnsealed(ctx)
  if (!(await isLoggedIn(ctx))) {
    if (!ctx.secrets.vaultToken() || ctx.dryRun) return undefined
    await ensureLogin(ctx)
  }
  const current = await currentValue(ctx)
  return current?.data.username === ctx.settings.githubUsername && current.data.pat ? current : undefined
}

export const task: Task = {
  id: 1,
  title: 'Store the GitHub token in Vault',
  scope: 'cluster',
  async prepare(ctx) {
    let pat = ctx.secrets.githubPat()
    if (!pat) {
      // no GITHUB_PAT: asked only when task 1 has something to write, so a converged rerun (Vault
      // holds a token for this user) and a dry run ask nothing; a question is asked here or never
      if (await heldToken(ctx)) return
      if (ctx.dryRun) return // the plan says task 1 will ask
      pat = await githubToken(ctx)
      if (!pat) return
    }
    const loggedIn = await isLoggedIn(ctx)
    // a logged-out Vault CLI with no VAULT_TOKEN would stop task 1 after task 0 has written:
    // ensureLogin stops the run now, with its fix
    if (!loggedIn && !ctx.secrets.vaultToken()) await ensureLogin(ctx)
    if (ctx.dryRun || !loggedIn) return
    const replaces = replacement(await currentValue(ctx), ctx.settings.githubUsername, pat)
    if (!replaces) return
    const line = `${ctx.settings.vaultPath}: task 1 ${replaces}`
    if (ctx.yes || !canAsk()) {
      ctx.note?.(line)
      return
    }
    process.stderr.write(`! ${line}\n`)
    if (!(await confirm('Replace the token stored in Vault?')))
      throw new SetupError(
        `kept the token Vault holds at ${ctx.settings.vaultPath}; nothing was stored`,
        'run again and answer y to replace it, or pass --skip 1 to keep the stored token',
      )
  },
  async plan(ctx) {
    const path = ctx.settings.vaultPath
    const username = ctx.settings.githubUsername
    const held = ctx.secrets.githubPat() ? undefined : await heldToken(ctx)
    if (held) {
      ctx.log(`${path} already holds username and pat for ${username} (version ${held.version ?? '?'}); GITHUB_PAT is not set, so that token is kept`)
      return []
    }
    const pat = await githubToken(ctx)
    if (pat) {
      const fineGrained = fineGrainedProblem(pat)
      if (fineGrained) throw fineGrained
    }
    // A token about to go into Vault is checked first (a fine-grained one, or missing scopes, would
    // only show in Image Updater's log); one Vault already holds costs no API call on a rerun.
    const checked = async () => {
      if (pat) ctx.log(await checkToken(ctx, pat))
    }
    if (!pat) {
      await requireUnsealed(ctx)
      return [{ summary: `vault kv put ${path} (username, pat from stdin): task 1 will ask for the GitHub token (GITHUB_PAT is not set)`, async apply() {} }]
    }
    // a sealed Vault stops here too: every vault command that finds it sealed says so (vault.ts)
    const loggedIn = await ensureLogin(ctx)
    const summary = `vault kv put ${path} (username, pat from stdin)`
    // ExternalSecrets already reading the path are refreshed now and the token proven (src/lifecycle/rotation.ts)
    const then = await rotationPlan(ctx)
    const put = (note?: string) => ({
      summary: [summary, note, then].filter(Boolean).join('; '),
      async apply() {
        await ensureLogin(ctx)
        // The token travels on the exec's stdin, and exec stdin can arrive incomplete
        // (kubernetes/kubernetes#112834): what Vault holds afterwards is compared with what was
        // sent (in memory, never printed), and written once more when it differs.
        for (let attempt = 1; ; attempt++) {
          await kvPutGithub(ctx, path, username, pat)
          const back = await kvGet(ctx, path)
          const fields = Object.keys(back?.data ?? {}).sort()
          if (!back || !fields.includes('username') || !fields.includes('pat'))
            throw new SetupError(`reading ${path} back after the write shows fields [${fields.join(', ')}]`, 'check the KV engine at that path is version 2 and the token may read it')
          if (holds(back, username, pat)) {
            ctx.log(`${path}: version ${back.version ?? '?'}, fields ${fields.join(', ')}`)
            for (const line of await refreshAndProve(ctx, pat)) ctx.log(line)
            return
          }
          if (attempt >= 2)
            throw new SetupError(
              `reading ${path} back after writing it twice shows other values than were sent (version ${back.version ?? '?'}): the token goes to the vault CLI on the exec's stdin, which did not arrive whole`,
              `rerun: task 1 writes it again (npx tsx scripts/run.ts --from 1); if it keeps happening, check the Vault pod (kubectl -n ${ctx.settings.vaultNamespace} logs ${ctx.settings.vaultPod}) and the API server`,
            )
          ctx.log(`${path}: version ${back.version ?? '?'} does not hold what was sent (the exec's stdin arrived incomplete); writing it again`)
        }
      },
    })
    // dry-run and not logged in: Vault cannot be read, so the write stays pending
    if (!loggedIn) {
      await checked()
      return [put('after vault login with VAULT_TOKEN; current value not readable')]
    }
    const current = await currentValue(ctx)
    const replaces = replacement(current, username, pat)
    if (current && !replaces) {
      ctx.log(`${path} already holds username and pat (version ${current.version ?? '?'})`)
      // stored by a run that stopped before ESO refreshed: the Secrets still hold the older token
      const stale = await staleReaders(ctx, pat)
      if (!stale.length) return []
      return [{
        summary: `force ESO to refresh ${stale.join(', ')} now (force-sync: the Secrets hold an older token than Vault) and prove the token works`,
        async apply() {
          for (const line of await refreshAndProve(ctx, pat)) ctx.log(line)
        },
      }]
    }
    await checked()
    return [put(replaces)]
  },
}
export default task
await runIfMain(import.meta, task)
