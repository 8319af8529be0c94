// The GitHub token the write-back uses, as the cluster holds it (the git-creds Secret's password),
// asked about once: GitHub answers with its expiry (GitHub-Authentication-Token-Expiration) and, for
// a classic token, its scopes. The token stays in memory, in the Authorization header only.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { githubApiOff, githubGet } from '../cluster/github-api.ts'
import { checkTokenScopes } from '../cluster/github-pat.ts'
import type { ClusterView } from './read.ts'
import type { OutsideFacts } from './judge.ts'

/** `2026-12-31 00:00:00 UTC` (GitHub's header) → ISO 8601. */
export function expiryIso(header: string): string {
  const t = Date.parse(header.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/, '$1T$2Z'))
  return Number.isNaN(t) ? header : new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')
}

export async function githubTokenFacts(ctx: Ctx, view: ClusterView): Promise<OutsideFacts['github']> {
  const entry = [...view.secrets.values()].find((s) => s.ref.gitCreds && s.secret)
  if (!entry) return undefined
  const secret = `Secret ${entry.ref.namespace}/${entry.ref.name}`
  const off = githubApiOff(ctx)
  if (off) return { secret, skipped: off }
  const raw = entry.secret!.data?.password
  if (typeof raw !== 'string') return { secret, skipped: 'skipped (no password key)' }
  const token = Buffer.from(raw, 'base64').toString('utf8').trim()
  const res = await githubGet(ctx, '/user', token)
  if (typeof res === 'string') return { secret, skipped: res }
  let scopeProblem: string | undefined
  if (res.status === 200 && res.scopes !== undefined)
    try {
      // /user does not say whether the GitOps repository is private: public_repo is taken as enough
      checkTokenScopes(token, res.scopes, { privateRepo: false })
    } catch (err) {
      scopeProblem = err instanceof SetupError ? err.message.replace(/^GITHUB_PAT /, 'it ') : String(err)
    }
  return { secret, status: res.status, scopes: res.scopes, ...(res.expiresAt ? { expiresAt: expiryIso(res.expiresAt) } : {}), ...(scopeProblem ? { scopeProblem } : {}) }
}
