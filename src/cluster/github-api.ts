// One authenticated GitHub API call at a time, the token in a header (never on a command line or in
// a URL). The base URL is the GITHUB_API_URL setting, so tests point it at a local fake server;
// `off` (or --offline) skips every call, and an unreachable API is reported as skipped, not failed.
import type { Ctx } from '../context.ts'

export interface GithubResponse {
  status: number
  /** X-OAuth-Scopes of a classic token; undefined for fine-grained tokens and apps */
  scopes?: string[]
  /** GitHub-Authentication-Token-Expiration of a token with an expiry (`2026-12-31 00:00:00 UTC`) */
  expiresAt?: string
  body: any
}

/** Why the API is not asked (offline), or undefined when it is. */
export function githubApiOff(ctx: Ctx): string | undefined {
  if (ctx.offline) return 'skipped (--offline)'
  if (ctx.settings.githubApiUrl.trim().toLowerCase() === 'off') return 'skipped (GITHUB_API_URL=off)'
  return undefined
}

const cache = new WeakMap<Ctx, Map<string, Promise<GithubResponse | string>>>()

/**
 * GET `path` from the GitHub API with the token. Resolves with the response, or with a string that
 * says why the check is skipped (no network). Answers are kept per run: tasks 1 and 7 ask the same.
 */
export function githubGet(ctx: Ctx, path: string, token: string, timeoutMs = 10_000): Promise<GithubResponse | string> {
  const off = githubApiOff(ctx)
  if (off) return Promise.resolve(off)
  let perCtx = cache.get(ctx)
  if (!perCtx) cache.set(ctx, (perCtx = new Map()))
  const known = perCtx.get(path)
  if (known) return known
  const base = ctx.settings.githubApiUrl.replace(/\/+$/, '')
  const answer = (async () => {
    try {
      const res = await fetch(`${base}${path}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'image-updater-setup' },
        signal: AbortSignal.timeout(timeoutMs),
      })
      const scopesHeader = res.headers.get('x-oauth-scopes')
      const text = await res.text()
      let body: unknown = undefined
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        body = undefined
      }
      const expires = res.headers.get('github-authentication-token-expiration') ?? undefined
      return { status: res.status, scopes: scopesHeader === null ? undefined : scopesHeader.split(',').map((s) => s.trim()).filter(Boolean), ...(expires ? { expiresAt: expires } : {}), body }
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      return `skipped (GitHub API at ${base} not reachable: ${cause})`
    }
  })()
  perCtx.set(path, answer)
  return answer
}

/** `https://github.com/o/r.git`, `git@github.com:o/r`, `ssh://git@github.com/o/r.git` → host, owner, repo. */
export function parseRepoUrl(url: string): { host: string; owner: string; repo: string; ssh: boolean } | undefined {
  const m =
    /^(?:https?:\/\/)(?:[^@/]+@)?([^/:]+)(?::\d+)?\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url.trim()) ??
    /^(?:ssh:\/\/)?[^@/]+@([^/:]+)(?::\d+)?[:/]([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url.trim())
  if (!m) return undefined
  return { host: m[1].toLowerCase(), owner: m[2], repo: m[3], ssh: !/^https?:/.test(url.trim()) }
}
