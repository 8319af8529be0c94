// Checks on the Secrets ESO renders, reporting only key names and match/no-match: values are never
// part of any message.
import type { KObj } from './kube.ts'

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')

/** Problems with a kubernetes.io/dockerconfigjson Secret for `registry` (empty: fine). */
export function dockerConfigProblems(secret: KObj, registry: string, username: string, pat?: string): string[] {
  if (secret.type !== 'kubernetes.io/dockerconfigjson') return [`type is ${secret.type ?? 'unset'}, expected kubernetes.io/dockerconfigjson`]
  const raw = secret.data?.['.dockerconfigjson']
  if (typeof raw !== 'string') return ['key .dockerconfigjson is missing']
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> }
  try {
    config = JSON.parse(b64(raw))
  } catch {
    return ['.dockerconfigjson is not JSON (was the whole JSON base64-encoded in the template? only `auth` should be)']
  }
  const key = Object.keys(config.auths ?? {}).find((k) => k === registry || k.replace(/^https?:\/\//, '').split('/')[0] === registry)
  if (!key) return [`.dockerconfigjson has no auths entry for ${registry} (entries: ${Object.keys(config.auths ?? {}).join(', ') || 'none'})`]
  const auth = config.auths![key].auth
  if (!auth) return [`auths["${key}"] has no auth field`]
  const decoded = b64(auth)
  const colon = decoded.indexOf(':')
  if (colon < 0) return [`auths["${key}"].auth does not decode to user:token`]
  const problems: string[] = []
  if (decoded.slice(0, colon) !== username) problems.push(`auths["${key}"].auth user is not ${username}`)
  const token = decoded.slice(colon + 1)
  if (!token) problems.push(`auths["${key}"].auth has an empty token`)
  else if (pat !== undefined && token !== pat) problems.push(`auths["${key}"].auth token differs from GITHUB_PAT`)
  return problems
}

/** Problems with the git write-back Secret (`username`, `password`). */
export function gitCredsProblems(secret: KObj, username: string, pat?: string): string[] {
  const data: Record<string, string> = secret.data ?? {}
  const missing = ['username', 'password'].filter((k) => typeof data[k] !== 'string')
  if (missing.length) return [`keys missing: ${missing.join(', ')} (has: ${Object.keys(data).join(', ') || 'none'})`]
  const problems: string[] = []
  if (b64(data.username) !== username) problems.push(`username is not ${username}`)
  const password = b64(data.password)
  if (!password) problems.push('password is empty')
  else if (pat !== undefined && password !== pat) problems.push('password differs from GITHUB_PAT')
  return problems
}
