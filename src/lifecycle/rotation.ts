// A token stored in Vault reaches the cluster only when ESO refreshes the ExternalSecrets that read
// it, which it does every refreshInterval (1h by default). After task 1 writes, every ExternalSecret
// in the cluster that reads the Vault path gets a new `force-sync` annotation, the task waits until
// ESO has synced each one after the write (status.refreshTime not older than the annotation, and
// status.syncedResourceVersion moved on), checks the Secrets hold the new token (compared in memory,
// never printed), and proves the token works where it is used: a healthy Image Updater cycle after
// the refresh (it lists the registry's tags with the new pull secret) and, with the GitHub API on,
// push permission on the GitOps repo (src/cluster/write-back-proof.ts). Only then is task 1 done.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { kube, type KObj, type Kube } from '../cluster/kube.ts'
import { forceRefresh, awaitHealthyCycle, managedImageCount } from '../cluster/verify.ts'
import { analyzeLog, describeCycle } from '../cluster/controller-log.ts'
import { dockerConfigProblems, gitCredsProblems } from '../cluster/secret-checks.ts'
import { proveWriteBack } from '../cluster/write-back-proof.ts'
import { PULL_SECRET_REGISTRY } from '../repo-facts.ts'
import { IMAGE_UPDATER_API } from '../cluster/our-resources.ts'

const ES_API = 'external-secrets.io/v1'

/**
 * `secret/homelab/github`, `homelab/github` and `secret/data/homelab/github` are one KV v2 path to
 * ESO with a store at `path: secret` (FIELD-NOTES): compared without the mount and `data/`.
 */
export function sameVaultKey(key: string, vaultPath: string): boolean {
  const norm = (k: string) => k.replace(/^\/+/, '').replace(/^secret\//, '').replace(/^data\//, '')
  return norm(key) === norm(vaultPath)
}

/** The Vault keys an ExternalSecret reads (data[].remoteRef.key, dataFrom[].extract.key). */
export function esKeys(es: KObj): string[] {
  return [
    ...(es.spec?.data ?? []).map((d: { remoteRef?: { key?: string } }) => String(d.remoteRef?.key ?? '')),
    ...(es.spec?.dataFrom ?? []).map((d: { extract?: { key?: string } }) => String(d.extract?.key ?? '')),
  ].filter(Boolean)
}

/** ExternalSecrets in the cluster (every namespace) that read the Vault path. */
export async function externalSecretsReading(k: Kube, vaultPath: string): Promise<KObj[]> {
  let all: KObj[]
  try {
    all = await k.list(ES_API, 'ExternalSecret')
  } catch {
    return [] // ESO's CRD not installed: nothing reads Vault through it
  }
  return all.filter((es) => esKeys(es).some((key) => sameVaultKey(key, vaultPath)))
}

const label = (o: KObj) => `${o.metadata.namespace}/${o.metadata.name}`

/** The summary's tail for task 1's write: what follows it in the cluster. */
export async function rotationPlan(ctx: Ctx): Promise<string | undefined> {
  const readers = await externalSecretsReading(await kube(ctx), ctx.settings.vaultPath)
  if (!readers.length) return undefined
  return `then force ESO to refresh ${readers.map(label).join(', ')} now (force-sync) and prove the token works (Image Updater's tag list, push permission)`
}

/** ExternalSecrets whose Secret does not hold `pat` yet (Vault holds it: a refresh still to come). */
export async function staleReaders(ctx: Ctx, pat: string): Promise<string[]> {
  const k = await kube(ctx)
  const stale: string[] = []
  for (const es of await externalSecretsReading(k, ctx.settings.vaultPath)) {
    const secret = await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: es.metadata.namespace, name: es.spec?.target?.name ?? es.metadata.name })
    if (secret && secretProblems(ctx, secret, pat).some((p) => p.includes('differs from GITHUB_PAT'))) stale.push(label(es))
  }
  return stale
}

function secretProblems(ctx: Ctx, secret: KObj, pat: string): string[] {
  if (secret.type === 'kubernetes.io/dockerconfigjson') return dockerConfigProblems(secret, PULL_SECRET_REGISTRY, ctx.settings.githubUsername, pat)
  return 'password' in (secret.data ?? {}) ? gitCredsProblems(secret, ctx.settings.githubUsername, pat) : []
}

/**
 * After task 1 wrote the token: refresh, compare, prove. Returns what was checked; throws a
 * SetupError naming the cause and the fix at the first thing that fails.
 */
export async function refreshAndProve(ctx: Ctx, pat: string): Promise<string[]> {
  const s = ctx.settings
  const k = await kube(ctx)
  const waitMs = Number(s.syncTimeoutSeconds) * 1000
  const readers = await externalSecretsReading(k, s.vaultPath)
  // a first setup: the ExternalSecrets come later (task 2), nothing to refresh yet
  if (!readers.length) return []
  const said: string[] = []
  for (const es of readers) {
    const ref = { apiVersion: ES_API, kind: 'ExternalSecret', namespace: es.metadata.namespace, name: es.metadata.name }
    const refreshed = await forceRefresh(k, ref, waitMs)
    if (refreshed.error)
      throw new SetupError(
        `ExternalSecret ${label(es)} did not refresh after the new token was stored: ${refreshed.error}`,
        `kubectl -n ${es.metadata.namespace} describe externalsecret ${es.metadata.name} (the ClusterSecretStore must be Ready); then rerun: npx tsx scripts/run.ts --only 1`,
      )
    const target = es.spec?.target?.name ?? es.metadata.name
    const secret = await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: es.metadata.namespace, name: target })
    const problems = !secret ? ['Secret not found'] : secretProblems(ctx, secret, pat)
    if (problems.length)
      throw new SetupError(`Secret ${es.metadata.namespace}/${target} after ESO's refresh: ${problems.join('; ')}`, `check the template of ExternalSecret ${label(es)} and what Vault holds at ${s.vaultPath} (username, pat)`)
    said.push(`ExternalSecret ${label(es)} refreshed (force-sync); Secret ${target} holds the new token`)
  }
  said.push(...(await proveControllerCycle(ctx, k, waitMs)))
  said.push(...(await proveWriteBack(ctx)))
  return said
}

/**
 * A cycle of Image Updater that starts after the refresh lists the registry's tags with the Secrets
 * ESO just wrote: one healthy cycle per ImageUpdater proves the token reads the registry.
 */
async function proveControllerCycle(ctx: Ctx, k: Kube, waitMs: number): Promise<string[]> {
  const ns = ctx.settings.argocdNamespace
  let ius: KObj[]
  try {
    ius = await k.list(IMAGE_UPDATER_API, 'ImageUpdater', ns)
  } catch {
    return ['registry read check skipped: Image Updater is not installed (no ImageUpdater kind)']
  }
  const pods = await k.list('v1', 'Pod', ns, 'app.kubernetes.io/name=argocd-image-updater')
  const pod = pods.find((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running')
  if (!pod || !ius.length) return [`registry read check skipped: ${pod ? 'no ImageUpdater' : 'no running Image Updater controller'} in ${ns}`]
  // whole seconds in the log: cycles of the refresh's second may have read the old Secret
  const since = Math.floor(Date.now() / 1000) * 1000
  const deadline = Date.now() + waitMs
  const said: string[] = []
  for (const iu of ius) {
    const name = iu.metadata.name
    const app = await k.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: ns, name })
    const expect = { crName: name, since, images: managedImageCount(iu, app, name) }
    const read = async () => analyzeLog(await k.logs(ns, pod.metadata.name, pod.spec?.containers?.[0]?.name, 400), expect)
    const verdict = await awaitHealthyCycle(read, Math.max(0, deadline - Date.now()), ctx.log)
    if (!verdict.healthy) {
      const what = verdict.lastCycle ? verdict.lastCycle.problems.map((p) => p.what).join('; ') : 'no update cycle since the refresh'
      throw new SetupError(
        `Image Updater's first cycle with the new token for ImageUpdater ${ns}/${name}: ${what}`,
        `kubectl -n ${ns} logs ${pod.metadata.name} (an "unauthorized" line means ghcr.io refused the token: it needs read:packages); then rerun: npx tsx scripts/run.ts --only 1`,
      )
    }
    said.push(`registry read with the new token: ImageUpdater ${name}: ${describeCycle(verdict.lastCycle!)}`)
  }
  return said
}
