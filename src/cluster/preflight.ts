// Preflight: everything the cluster tasks rely on, checked before anything changes. Each failed
// check is one line of cause and one line of fix; all failures are reported together.
import { existsSync } from 'node:fs'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { verifyBranch, verifyGitCheckout } from '../publish.ts'
import { checkoutStatus } from '../run-reads.ts'
import { chartShape } from '../render/chart.ts'
import { parseImage, verifyStrategy, verifyTagRegex } from '../render/image.ts'
import { apiMessage, kube, statusOf, type Kube } from './kube.ts'
import { K3S_KUBECONFIG } from './kubeconfig-file.ts'
import { originHeadOfRun } from './origin.ts'
import { secretStore } from '../secret-store.ts'
import { requireUnsealed } from './vault.ts'
import { vaultCluster, type VaultCluster } from './vault-cluster.ts'
import type { ClusterIdentity } from '../state.ts'

export interface Failure {
  cause: string
  fix: string
}

const asFailure = (err: unknown): Failure =>
  err instanceof SetupError ? { cause: err.message, fix: err.fix } : { cause: err instanceof Error ? err.message : String(err), fix: 'see the message above' }

async function check(failures: Failure[], fn: () => unknown): Promise<boolean> {
  try {
    await fn()
    return true
  } catch (err) {
    failures.push(asFailure(err))
    return false
  }
}

/** The settings the cluster tasks depend on. */
export function configFailures(ctx: Ctx): Failure[] {
  const s = ctx.settings
  const failures: Failure[] = []
  // empty image, tag filter and strategy are derived per app from what runs (src/apps.ts)
  for (const fn of [() => s.image && parseImage(s.image), () => s.tagRegex && verifyTagRegex(s.tagRegex), () => s.updateStrategy && verifyStrategy(s.updateStrategy), () => chartShape(s.chartVersion)]) {
    try {
      fn()
    } catch (err) {
      failures.push(asFailure(err))
    }
  }
  if (!s.githubUsername) failures.push({ cause: 'GITHUB_USERNAME is empty', fix: 'set GITHUB_USERNAME in .env' })
  return failures
}

/**
 * The cluster this run reached, against the one this repo's setup ran against before. The cluster
 * is bound by its identity (the kube-system uid), never by the context's name: every k3s kubeconfig
 * calls its context `default`, and a rebuilt cluster at the same URL has a new uid. Only
 * --switch-cluster moves the setup to another cluster; --yes and KUBE_CONTEXT do not.
 */
export function identityFailure(ctx: Ctx, now: ClusterIdentity): Failure | undefined {
  const before = ctx.state?.cluster
  if (!before || before.kubeSystemUid === now.kubeSystemUid || ctx.switchCluster) return undefined
  return {
    cause:
      `kube context ${now.context} reaches ${now.server} (kube-system uid ${now.kubeSystemUid}), not the cluster this GitOps repo's setup ran against ` +
      `(${before.server}, kube-system uid ${before.kubeSystemUid}, reached as context ${before.context}, since ${before.recordedAt}); nothing was changed`,
    fix: `to keep to that cluster, point KUBECONFIG and KUBE_CONTEXT at it (kubectl --context <name> get ns kube-system -o jsonpath='{.metadata.uid}' shows ${before.kubeSystemUid}); only if ${now.server} is now the cluster this repo deploys to (rebuilt or moved), rerun with --switch-cluster`,
  }
}

async function crdServes(k: Kube, name: string, version?: string): Promise<Failure | undefined> {
  const crd = await k.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name })
  if (!crd) return { cause: `CRD ${name} is not installed`, fix: name.endsWith('argoproj.io') ? 'install Argo CD first' : 'install External Secrets Operator first' }
  if (version && !(crd.spec?.versions ?? []).some((v: { name: string; served: boolean }) => v.name === version && v.served))
    return {
      cause: `CRD ${name} does not serve ${version}, which the manifests use`,
      fix: 'upgrade External Secrets Operator to a release that serves external-secrets.io/v1 (0.17 or later)',
    }
  return undefined
}

async function clusterFailures(ctx: Ctx, k: Kube): Promise<Failure[]> {
  const s = ctx.settings
  const failures: Failure[] = []
  if (!(await k.get({ apiVersion: 'v1', kind: 'Namespace', name: s.argocdNamespace })))
    failures.push({ cause: `namespace ${s.argocdNamespace} does not exist`, fix: 'install Argo CD, or set ARGOCD_NAMESPACE' })
  for (const crd of ['applications.argoproj.io', 'appprojects.argoproj.io']) {
    const f = await crdServes(k, crd)
    if (f) failures.push(f)
  }
  const esoCrd = await crdServes(k, 'externalsecrets.external-secrets.io', 'v1')
  if (esoCrd) failures.push(esoCrd)
  const storeCrd = await crdServes(k, 'clustersecretstores.external-secrets.io', 'v1')
  if (storeCrd) failures.push(storeCrd)
  else {
    const store = await secretStore(ctx)
    if (!(await k.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: store.name })))
      failures.push({
        cause: `ClusterSecretStore ${store.name} does not exist (${store.why})`,
        fix: store.store
          ? `sync the Application that renders ${store.store.where.file}${store.store.renderedBy ? ` (${store.store.renderedBy})` : ''}, or set SECRET_STORE to the store you use (kubectl get clustersecretstores)`
          : 'set SECRET_STORE to the ClusterSecretStore that reads Vault (kubectl get clustersecretstores lists them), or create it',
      })
  }
  // Vault may run on another cluster than Argo CD (VAULT_KUBE_CONTEXT, or told from the repo's store)
  let vault: VaultCluster | undefined
  await check(failures, async () => void (vault = await vaultCluster(ctx)))
  if (!vault) return failures
  const on = vault.context ? ` on context ${vault.context}` : ''
  const kubectl = `kubectl${vault.context ? ` --context ${vault.context}` : ''}`
  if (!(await vault.kube.get({ apiVersion: 'v1', kind: 'Namespace', name: s.vaultNamespace })))
    failures.push({ cause: `namespace ${s.vaultNamespace} does not exist${on}`, fix: `install Vault, or set VAULT_NAMESPACE${vault.context ? ' and VAULT_KUBE_CONTEXT' : ''}` })
  else if (!(await vault.kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: s.vaultNamespace, name: s.vaultPod })))
    failures.push({ cause: `pod ${s.vaultNamespace}/${s.vaultPod} does not exist${on}`, fix: `check VAULT_NAMESPACE and VAULT_POD (${kubectl} get pods -A | grep vault)` })
  else await check(failures, () => requireUnsealed(ctx))
  return failures
}

async function repoFailures(ctx: Ctx): Promise<Failure[]> {
  const failures: Failure[] = []
  if (!(await check(failures, () => verifyGitCheckout(ctx.repoDir)))) return failures
  await check(failures, async () => verifyBranch(ctx, await checkoutStatus(ctx)))
  await check(failures, () => originHeadOfRun(ctx))
  return failures
}

export function formatFailures(failures: Failure[]): SetupError {
  const cause = failures.length === 1 ? failures[0].cause : `${failures.length} preflight checks failed:\n${failures.map((f) => `  - ${f.cause}\n    fix: ${f.fix}`).join('\n')}`
  const fix = failures.length === 1 ? failures[0].fix : 'fix each item above, then run again'
  return new SetupError(cause, fix)
}

/** Runs every check; throws one SetupError listing all failures. Returns the cluster reached. */
export async function clusterPreflight(ctx: Ctx): Promise<ClusterIdentity> {
  // the repo's checks (git, and origin over the network) run while the cluster is reached and read;
  // the failures are listed as if one ran after the other: settings, repo, cluster
  const [repo, cluster] = await Promise.all([repoFailures(ctx), clusterSide(ctx)])
  // a cluster that is not the one this repo's setup ran against comes first (nothing of it was read)
  const failures = cluster.refused ? [cluster.refused, ...configFailures(ctx), ...repo] : [...configFailures(ctx), ...repo, ...cluster.failures]
  if (failures.length) throw formatFailures(failures)
  ctx.log(`preflight passed (context ${cluster.k!.contextName}, ${cluster.k!.server})`)
  return cluster.identity!
}

async function clusterSide(ctx: Ctx): Promise<{ k?: Kube; identity?: ClusterIdentity; refused?: Failure; failures: Failure[] }> {
  let k: Kube
  try {
    k = await kube(ctx)
  } catch (err) {
    return { failures: [asFailure(err)] }
  }
  // which cluster this is comes first: nothing else, not even a read, runs on a cluster refused
  let identity: ClusterIdentity
  try {
    identity = await withinReach(clusterIdentity(k))
  } catch (err) {
    return { k, failures: [{ cause: `the Kubernetes API at ${k.server} (context ${k.contextName}) is not reachable: ${apiMessage(err)}`, fix: unreachableFix(k.server, err) }] }
  }
  const refused = identityFailure(ctx, identity)
  if (refused) return { k, identity, refused, failures: [] }
  return { k, identity, failures: await clusterFailures(ctx, k) }
}

/**
 * The fix for an API server that cannot be reached. k3s writes its k3s.yaml for use on the server
 * itself (server: https://127.0.0.1:6443); a copy taken to another machine without changing that
 * line finds nothing listening there, the most common way a homelab's first run fails to connect.
 */
export function unreachableFix(server: string, err: unknown, k3sHere = existsSync(K3S_KUBECONFIG)): string {
  const usual = 'check that the cluster is up and KUBECONFIG/KUBE_CONTEXT point at it (kubectl get ns)'
  const host = URL.canParse(server) ? new URL(server).hostname : ''
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(host)
  if (!loopback || k3sHere || statusOf(err) !== undefined || !/ECONNREFUSED/.test(apiMessage(err))) return usual
  return `if this kubeconfig is a k3s.yaml copied from the k3s server, its server: line still names this machine (${server}): set it to the k3s server's address (https://<its IP or name>:6443), then rerun; otherwise ${usual}`
}

/** How long reaching the cluster (its first answer) may take in all, retries included. */
export const REACH_MS = 20_000

/** The first contact gives up within REACH_MS, whatever the request timeout and its retries would allow. */
function withinReach<T>(first: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the API server within ${REACH_MS / 1000}s`)), REACH_MS)
    timer.unref()
  })
  return Promise.race([first, deadline]).finally(() => clearTimeout(timer))
}

/** Which cluster this is: API server URL and the kube-system namespace's uid. */
async function clusterIdentity(k: Kube): Promise<ClusterIdentity> {
  const ns = await k.get({ apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' })
  const uid = ns?.metadata.uid
  if (!uid) throw new Error('it has no kube-system namespace (with a uid), which every Kubernetes cluster has')
  return { server: k.server, kubeSystemUid: uid, context: k.contextName, recordedAt: new Date().toISOString() }
}
