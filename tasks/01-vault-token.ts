// Task 1: the GitHub token into Vault (KV v2, `username` and `pat`), written through exec in the
// Vault pod with the token on stdin (`pat=-`), never on a command line. Nothing is written when
// Vault already holds the same values; the comparison never prints them.
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { fineGrainedProblem, githubPat } from '../src/cluster/github-pat.ts'
import { ensureLogin, isLoggedIn, kvGet, kvPutGithub, patShapeWarning, requireUnsealed } from '../src/cluster/vault.ts'
import { SetupError } from '../src/errors.ts'
import { checkToken } from '../src/cluster/write-back-proof.ts'

export const task: Task = {
  id: 1,
  title: 'Store the GitHub token in Vault',
  scope: 'cluster',
  async prepare(ctx) {
    await githubPat(ctx)
    // a logged-out Vault CLI with no VAULT_TOKEN would stop task 1 after task 0 has written
    if (!ctx.secrets.vaultToken() && !(await isLoggedIn(ctx))) await ensureLogin(ctx)
  },
  async plan(ctx) {
    const path = ctx.settings.vaultPath
    const username = ctx.settings.githubUsername
    const pat = await githubPat(ctx)
    const warning = patShapeWarning(pat)
    if (warning) ctx.log(warning)
    const fineGrained = fineGrainedProblem(pat)
    if (fineGrained) throw fineGrained
    // A token about to go into Vault is checked first (a fine-grained one, or missing scopes, would
    // only show in Image Updater's log); one Vault already holds costs no API call on a rerun.
    const checked = async () => ctx.log(await checkToken(ctx, pat))
    await requireUnsealed(ctx)
    const loggedIn = await ensureLogin(ctx)
    const summary = `vault kv put ${path} (username, pat from stdin)`
    const put = {
      summary,
      async apply() {
        await ensureLogin(ctx)
        await kvPutGithub(ctx, path, username, pat)
        const back = await kvGet(ctx, path)
        const fields = Object.keys(back?.data ?? {}).sort()
        if (!back || !fields.includes('username') || !fields.includes('pat'))
          throw new SetupError(`reading ${path} back after the write shows fields [${fields.join(', ')}]`, 'check the KV engine at that path is version 2 and the token may read it')
        ctx.log(`${path}: version ${back.version ?? '?'}, fields ${fields.join(', ')}`)
      },
    }
    // dry-run and not logged in: Vault cannot be read, so the write stays pending
    if (!loggedIn) {
      await checked()
      return [{ ...put, summary: `${summary} (after vault login with VAULT_TOKEN; current value not readable)` }]
    }
    const current = await kvGet(ctx, path)
    if (current && current.data.username === username && current.data.pat === pat) {
      ctx.log(`${path} already holds username and pat (version ${current.version ?? '?'})`)
      return []
    }
    await checked()
    return [put]
  },
}
export default task
await runIfMain(import.meta, task)
