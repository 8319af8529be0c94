// Vault, through exec in the Vault pod. Only these command lines are ever run, and no secret is ever
// on one: the Vault token and the GitHub token travel on stdin (`vault login -`, `pat=-`).
//   vault status -format=json
//   vault token lookup -format=json
//   vault login -no-print -
//   vault kv get -format=json <path>
//   vault kv put -format=json <path> username=<user> pat=-
//   vault kv metadata delete <path> (a retirement)
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { forgetRunReads, runReads } from '../run-reads.ts'
import type { ExecResult } from './kube.ts'
import { vaultCluster } from './vault-cluster.ts'

export interface VaultStatus {
  initialized: boolean
  sealed: boolean
}

export interface KvSecret {
  data: Record<string, string>
  version?: number
  /** when this version was written (Vault's created_time) */
  createdTime?: string
}

function firstLine(r: ExecResult): string {
  return (r.stderr || r.stdout).trim().split('\n').find((l) => l.trim()) ?? `exit code ${r.exitCode}`
}

/**
 * Runs one vault command in the Vault pod (its first container). A command that finds Vault sealed
 * (the CLI's "* Vault is sealed", from the API's 503) stops with the unseal fix, whatever it was
 * for: a sealed Vault is not a missing login or a missing secret. (`vault status` reports sealed
 * in its JSON instead, which vaultStatus reads.)
 */
async function vault(ctx: Ctx, command: string[], stdin?: string): Promise<ExecResult> {
  // Vault may run on another cluster than Argo CD (src/cluster/vault-cluster.ts)
  const { kube: k, context } = await vaultCluster(ctx)
  const { vaultNamespace: ns, vaultPod: pod } = ctx.settings
  const podObj = await k.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod })
  if (!podObj)
    throw new SetupError(
      `pod ${ns}/${pod} does not exist${context ? ` (kube context ${context}, the cluster Vault runs on)` : ''}`,
      `check VAULT_NAMESPACE and VAULT_POD in .env (kubectl ${context ? `--context ${context} ` : ''}get pods -A | grep vault)${context ? ', and VAULT_KUBE_CONTEXT' : ''}`,
    )
  const container: string | undefined = podObj.spec?.containers?.[0]?.name
  const exec = () => k.exec(ns, pod, container, command, stdin)
  let r: ExecResult
  if (isRead(command)) r = await runReads(ctx).once(`vault exec ${context ?? ''} ${command.join(' ')}`, exec)
  else {
    // a login or a write: what this run read from Vault before (and anything else) is read again
    forgetRunReads(ctx)
    try {
      r = await exec()
    } finally {
      forgetRunReads(ctx)
    }
  }
  if (r.exitCode !== 0 && /\bVault is sealed\b/.test(`${r.stderr}\n${r.stdout}`)) throw new SetupError(`Vault is sealed (${command.slice(0, 3).join(' ')})`, unsealFix(ctx, context))
  return r
}

/**
 * The commands that only read: one run sends each once (task 1's plan asks what its prepare asked),
 * until it changes something (src/run-reads.ts).
 */
function isRead(command: string[]): boolean {
  const [, verb, sub] = command
  return verb === 'status' || (verb === 'token' && sub === 'lookup') || (verb === 'kv' && sub === 'get')
}

export async function vaultStatus(ctx: Ctx): Promise<VaultStatus> {
  // `vault status` exits 2 when sealed, still printing the JSON
  const r = await vault(ctx, ['vault', 'status', '-format=json'])
  try {
    const s = JSON.parse(r.stdout)
    return { initialized: Boolean(s.initialized), sealed: Boolean(s.sealed) }
  } catch {
    throw new SetupError(`vault status failed in ${ctx.settings.vaultNamespace}/${ctx.settings.vaultPod}: ${firstLine(r)}`, 'check that the Vault pod runs Vault and is reachable (kubectl -n vault logs vault-0)')
  }
}

/** `context`: the kube context of Vault's cluster when it is not KUBE_CONTEXT's. */
export function unsealFix(ctx: Ctx, context?: string): string {
  return `unseal it: kubectl ${context ? `--context ${context} ` : ''}-n ${ctx.settings.vaultNamespace} exec -it ${ctx.settings.vaultPod} -- vault operator unseal`
}

export async function requireUnsealed(ctx: Ctx): Promise<void> {
  const s = await vaultStatus(ctx)
  const { context } = await vaultCluster(ctx)
  if (!s.initialized) throw new SetupError('Vault is not initialized', `initialize it: kubectl ${context ? `--context ${context} ` : ''}-n ${ctx.settings.vaultNamespace} exec -it ${ctx.settings.vaultPod} -- vault operator init`)
  if (s.sealed) throw new SetupError('Vault is sealed', unsealFix(ctx, context))
}

export async function isLoggedIn(ctx: Ctx): Promise<boolean> {
  return (await vault(ctx, ['vault', 'token', 'lookup', '-format=json'])).exitCode === 0
}

/**
 * Makes sure the pod's vault CLI has a token: already logged in, or logs in with VAULT_TOKEN on
 * stdin. Returns false (without logging in) in dry-run when a login would be needed.
 */
export async function ensureLogin(ctx: Ctx): Promise<boolean> {
  if (await isLoggedIn(ctx)) return true
  const token = ctx.secrets.vaultToken()
  if (!token)
    throw new SetupError(
      `the vault CLI in ${ctx.settings.vaultNamespace}/${ctx.settings.vaultPod} is not logged in`,
      `set VAULT_TOKEN in .env (it is passed on stdin), or log in once: kubectl -n ${ctx.settings.vaultNamespace} exec -it ${ctx.settings.vaultPod} -- vault login`,
    )
  if (ctx.dryRun) return false
  let r = await vault(ctx, ['vault', 'login', '-no-print', '-'], token)
  // the token goes on the exec's stdin, which can arrive incomplete (kubernetes/kubernetes#112834):
  // a refused login is tried once more before VAULT_TOKEN is blamed
  if (r.exitCode !== 0) r = await vault(ctx, ['vault', 'login', '-no-print', '-'], token)
  if (r.exitCode !== 0) throw new SetupError(`vault login with VAULT_TOKEN failed: ${firstLine(r)}`, 'check VAULT_TOKEN in .env (a valid token with write access to the KV path)')
  ctx.log('logged in to Vault with VAULT_TOKEN (on stdin)')
  return true
}

/** The secret at `path`, or undefined when there is none. Values stay in memory, never in output. */
export async function kvGet(ctx: Ctx, path: string): Promise<KvSecret | undefined> {
  const r = await vault(ctx, ['vault', 'kv', 'get', '-format=json', path])
  if (r.exitCode !== 0) {
    if (/no value found|not found/i.test(r.stderr + r.stdout)) return undefined
    throw new SetupError(`vault kv get ${path} failed: ${firstLine(r)}`, 'check VAULT_PATH and that the token may read it (vault policy)')
  }
  const parsed = JSON.parse(r.stdout)
  return { data: parsed?.data?.data ?? {}, version: parsed?.data?.metadata?.version, createdTime: parsed?.data?.metadata?.created_time }
}

/** Writes username and pat; the pat goes on stdin (`pat=-`). */
export async function kvPutGithub(ctx: Ctx, path: string, username: string, pat: string): Promise<void> {
  const r = await vault(ctx, ['vault', 'kv', 'put', '-format=json', path, `username=${username}`, 'pat=-'], pat)
  if (r.exitCode !== 0) throw new SetupError(`vault kv put ${path} failed: ${firstLine(r)}`, 'check that the KV v2 engine is mounted at the path prefix and the token may write it')
}

/** Removes the key with every version (`vault kv metadata delete`), as a retirement does. */
export async function kvDestroy(ctx: Ctx, path: string): Promise<void> {
  const r = await vault(ctx, ['vault', 'kv', 'metadata', 'delete', path])
  if (r.exitCode !== 0) throw new SetupError(`vault kv metadata delete ${path} failed: ${firstLine(r)}`, 'check that the token may delete metadata at that path (vault policy: delete on <mount>/metadata/...)')
}
