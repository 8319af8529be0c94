// Proof, before task 7 pushes or writes to the cluster, that Image Updater's git write-back can work:
// Image Updater reads its git credentials only when it commits, so a token that cannot push, an SSH
// repoURL with a username/password Secret, or a protected branch otherwise show up only at the first
// real update, long after the setup said "done". Each failure is a SetupError with cause and fix.
import { parseYaml } from '../yaml-parse.ts'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { readRepoFile } from '../files.ts'
import { repoFacts, secretFile } from '../repo-facts.ts'
import { checkTokenScopes, fineGrainedProblem, NEW_CLASSIC_TOKEN as TOKEN_URL } from './github-pat.ts'
import { githubApiOff, githubGet, parseRepoUrl } from './github-api.ts'

/** Keys the write-back ExternalSecret puts in its Secret (template keys, else data[].secretKey). */
export function writeBackSecretKeys(text: string): { name: string; keys: string[] } | undefined {
  for (const doc of parseYaml(text)) {
    const o = doc.toJS() as any
    if (o?.kind !== 'ExternalSecret' || o.spec?.target?.template?.type === 'kubernetes.io/dockerconfigjson') continue
    const templated = Object.keys(o.spec?.target?.template?.data ?? {})
    const keys = templated.length ? templated : (o.spec?.data ?? []).map((d: { secretKey?: string }) => d.secretKey).filter(Boolean)
    return { name: o.spec?.target?.name ?? o.metadata?.name, keys }
  }
  return undefined
}

/** The repoURL's scheme against the Secret's shape: https needs username and password, SSH needs sshPrivateKey. */
export function schemeProblem(repoUrl: string, secret: { name: string; keys: string[] }, file: string): SetupError | undefined {
  const parsed = parseRepoUrl(repoUrl)
  const ssh = parsed ? parsed.ssh : /^(git@|ssh:)/.test(repoUrl)
  if (ssh && !secret.keys.includes('sshPrivateKey'))
    return new SetupError(
      `the GitOps repoURL ${repoUrl} is SSH, but the write-back Secret ${secret.name} (${file}) holds ${secret.keys.join(', ') || 'no keys'}: Image Updater needs sshPrivateKey for an SSH URL`,
      parsed ? `use the https URL: set GITOPS_REPO_URL=https://${parsed.host}/${parsed.owner}/${parsed.repo}.git in .env (Argo CD must have credentials for it), then rerun: npx tsx scripts/run.ts --from 2` : 'use an https repoURL (set GITOPS_REPO_URL in .env), then rerun: npx tsx scripts/run.ts --from 2',
    )
  if (!ssh && !(secret.keys.includes('username') && secret.keys.includes('password')))
    return new SetupError(`the write-back Secret ${secret.name} (${file}) holds ${secret.keys.join(', ') || 'no keys'}, but an https repoURL needs username and password`, 'rerun task 2 to write the ExternalSecrets again: npx tsx scripts/run.ts --only 2')
  return undefined
}

// Rules that refuse a direct push of Image Updater's commit (GitHub repository rulesets).
const BLOCKING_RULES = new Set(['pull_request', 'required_status_checks', 'update', 'required_signatures', 'required_deployments', 'merge_queue'])

/** Why branch protection (classic) refuses a direct push by `username`, or undefined. */
export function protectionProblem(p: any, username: string): string | undefined {
  if (p?.required_pull_request_reviews) return 'requires pull request reviews'
  if ((p?.required_status_checks?.contexts ?? []).length || (p?.required_status_checks?.checks ?? []).length) return 'requires status checks'
  if (p?.lock_branch?.enabled) return 'is locked'
  if (p?.required_signatures?.enabled) return 'requires signed commits'
  const r = p?.restrictions
  if (r && !(r.users ?? []).some((u: { login?: string }) => u.login?.toLowerCase() === username.toLowerCase())) return `allows pushes only from ${[...(r.users ?? []).map((u: any) => u.login), ...(r.teams ?? []).map((t: any) => `team ${t.slug}`)].join(', ') || 'nobody'}`
  return undefined
}

/**
 * Task 1's check of the token before it goes into Vault: refuses a fine-grained token (ghcr.io does
 * not take one) and a classic token without read:packages and repo/public_repo (X-OAuth-Scopes of
 * one authenticated call: the GitOps repository's, or /user when it is not on GitHub).
 */
export async function checkToken(ctx: Ctx, token: string): Promise<string> {
  const fine = fineGrainedProblem(token)
  if (fine) throw fine
  const off = githubApiOff(ctx)
  if (off) return `token scope check ${off}`
  const repo = parseRepoUrl((await repoFacts(ctx)).repoUrl)
  const path = repo?.host === 'github.com' ? `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}` : '/user'
  const res = await githubGet(ctx, path, token)
  if (typeof res === 'string') return `token scope check ${res}`
  if (res.status === 401) throw badCredentials()
  if (res.status !== 200) return `token scope check skipped: GitHub answered ${res.status} for ${path}`
  return checkTokenScopes(token, res.scopes, { privateRepo: path === '/user' || res.body?.private !== false }).join('; ')
}

const badCredentials = () =>
  new SetupError('GitHub rejected GITHUB_PAT (401 Bad credentials): it is expired, revoked or mistyped', `create a classic token with read:packages and repo (${TOKEN_URL}), put it in GITHUB_PAT and rerun: npx tsx scripts/run.ts --from 1`)

/**
 * The write-back checks; returns what was checked (or skipped, and why) for the task output.
 * Throws a SetupError at the first check that fails.
 */
export async function proveWriteBack(ctx: Ctx): Promise<string[]> {
  const s = ctx.settings
  const facts = await repoFacts(ctx)
  const said: string[] = []
  const file = await secretFile(ctx)
  const text = await readRepoFile(ctx, file)
  const secret = text === null ? undefined : writeBackSecretKeys(text)
  if (!secret) throw new SetupError(`${file} has no write-back ExternalSecret`, 'run task 2 first: npx tsx scripts/run.ts --only 2')
  const scheme = schemeProblem(facts.repoUrl, secret, file)
  if (scheme) throw scheme
  said.push(`write-back: ${facts.repoUrl} and Secret ${secret.name} (${secret.keys.join(', ')}) match`)

  const repo = parseRepoUrl(facts.repoUrl)
  if (!repo || repo.host !== 'github.com') return [...said, `write-back push check skipped: ${repo?.host ?? facts.repoUrl} is not github.com; the first image update will show whether the token can push`]
  const off = githubApiOff(ctx)
  if (off) return [...said, `write-back push and token scope checks ${off}`]
  // never asked here: this runs inside the task list, where a question cannot be seen (and a
  // converged rerun must not ask for a token Vault already holds)
  const token = ctx.secrets.githubPat()
  if (!token) return [...said, 'write-back push check skipped: no GITHUB_PAT in this run (set it in .env to have it checked)']

  const repoPath = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`
  const res = await githubGet(ctx, repoPath, token)
  if (typeof res === 'string') return [...said, `write-back push check ${res}`]
  if (res.status === 401) throw badCredentials()
  if (res.status === 404 || res.status === 403)
    throw new SetupError(`the token of ${s.githubUsername} cannot see ${repo.owner}/${repo.repo} on GitHub (${res.status})`, `give the token the repo scope (${TOKEN_URL}) or access to that repository, put it in GITHUB_PAT and rerun: npx tsx scripts/run.ts --from 1`)
  if (res.status !== 200) return [...said, `write-back push check skipped: GitHub answered ${res.status} for ${repoPath}`]
  said.push(...checkTokenScopes(token, res.scopes, { privateRepo: res.body?.private !== false }))
  if (res.body?.permissions?.push !== true)
    throw new SetupError(
      `the token of ${s.githubUsername} cannot push to ${repo.owner}/${repo.repo} (GitHub permissions.push is false): Image Updater's write-back would fail at the first update`,
      `use a token of an account with write access to ${repo.owner}/${repo.repo}, with the repo scope (${TOKEN_URL}); put it in GITHUB_PAT and rerun: npx tsx scripts/run.ts --from 1`,
    )
  said.push(`write-back: the token can push to ${repo.owner}/${repo.repo}`)

  const branchPath = `${repoPath}/branches/${encodeURIComponent(s.branch)}`
  const branch = await githubGet(ctx, branchPath, token)
  if (typeof branch !== 'string' && branch.status === 200 && branch.body?.protected) {
    const protection = await githubGet(ctx, `${branchPath}/protection`, token)
    if (typeof protection !== 'string' && protection.status === 200) {
      const why = protectionProblem(protection.body, s.githubUsername)
      if (why)
        throw new SetupError(
          `branch ${s.branch} of ${repo.owner}/${repo.repo} is protected and ${why}: Image Updater's direct push of .argocd-source-*.yaml would be refused`,
          `allow ${s.githubUsername} to push to ${s.branch} directly (Settings → Branches), or let Image Updater write to another branch, then rerun: npx tsx scripts/run.ts --from 7`,
        )
    } else said.push(`write-back: branch ${s.branch} is protected; its rules are not readable with this token (needs admin), so a refused push shows only at the first update`)
  }
  const rules = await githubGet(ctx, `${repoPath}/rules/branches/${encodeURIComponent(s.branch)}`, token)
  if (typeof rules !== 'string' && rules.status === 200 && Array.isArray(rules.body)) {
    const blocking = rules.body.map((r: { type?: string }) => r.type).filter((t: unknown): t is string => typeof t === 'string' && BLOCKING_RULES.has(t))
    if (blocking.length)
      throw new SetupError(
        `branch ${s.branch} of ${repo.owner}/${repo.repo} has ruleset rules that refuse a direct push (${[...new Set(blocking)].join(', ')})`,
        `add ${s.githubUsername} to the ruleset's bypass list (Settings → Rules), or let Image Updater write to another branch, then rerun: npx tsx scripts/run.ts --from 7`,
      )
  }
  said.push(`write-back: branch ${s.branch} accepts a direct push`)
  return said
}
