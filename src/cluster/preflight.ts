// Preflight: everything the cluster tasks rely on, checked before anything changes. Each failed
// check is one line of cause and one line of fix; all failures are reported together.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { verifyBranch, verifyGitCheckout } from '../publish.ts'
import { checkoutStatus } from '../run-reads.ts'
import { chartShape } from '../render/chart.ts'
import { parseImage, verifyStrategy, verifyTagRegex } from '../render/image.ts'
import { apiMessage, kube, type Kube } from './kube.ts'
import { originHeadOfRun } from './origin.ts'
import { vaultStatus, unsealFix } from './vault.ts'

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
  if (!(Number(s.syncTimeoutSeconds) > 0)) failures.push({ cause: `SYNC_TIMEOUT_SECONDS "${s.syncTimeoutSeconds}" is not a positive number`, fix: 'set SYNC_TIMEOUT_SECONDS=300' })
  return failures
}

/** The kube context is the configured one, unless the user allowed another. */
export function contextFailure(ctx: Ctx, k: Pick<Kube, 'contextName' | 'contextNames'>): Failure | undefined {
  const want = ctx.settings.kubeContext
  if (!want || want === k.contextName) return undefined
  const allowed = ctx.settings.allowOtherContext === 'true' || ctx.yes
  if (allowed) {
    ctx.log(`running against kube context ${k.contextName}, not KUBE_CONTEXT=${want} (allowed)`)
    return undefined
  }
  if (!k.contextNames.includes(want))
    return { cause: `KUBE_CONTEXT ${want} is not in the kubeconfig (contexts: ${k.contextNames.join(', ') || 'none'})`, fix: 'set KUBE_CONTEXT to one of those, or KUBECONFIG to the kubeconfig that has it' }
  return { cause: `the current kube context is ${k.contextName}, not ${want} (KUBE_CONTEXT)`, fix: `switch: kubectl config use-context ${want}; or, to run against ${k.contextName}, set ALLOW_OTHER_CONTEXT=true or pass --yes` }
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
  try {
    await k.list('v1', 'Namespace')
  } catch (err) {
    return [{ cause: `the Kubernetes API at ${k.server} (context ${k.contextName}) is not reachable: ${apiMessage(err)}`, fix: 'check that the cluster is up and KUBECONFIG/KUBE_CONTEXT point at it (kubectl get ns)' }]
  }
  for (const ns of [s.argocdNamespace, s.vaultNamespace])
    if (!(await k.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })))
      failures.push({ cause: `namespace ${ns} does not exist`, fix: ns === s.argocdNamespace ? 'install Argo CD, or set ARGOCD_NAMESPACE' : 'install Vault, or set VAULT_NAMESPACE' })
  for (const crd of ['applications.argoproj.io', 'appprojects.argoproj.io']) {
    const f = await crdServes(k, crd)
    if (f) failures.push(f)
  }
  const esoCrd = await crdServes(k, 'externalsecrets.external-secrets.io', 'v1')
  if (esoCrd) failures.push(esoCrd)
  const storeCrd = await crdServes(k, 'clustersecretstores.external-secrets.io', 'v1')
  if (storeCrd) failures.push(storeCrd)
  else if (!(await k.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: s.secretStore })))
    failures.push({ cause: `ClusterSecretStore ${s.secretStore} does not exist`, fix: 'sync the vault-eso Application (it holds vault-eso-config.yaml), or set SECRET_STORE' })
  const pod = await k.get({ apiVersion: 'v1', kind: 'Pod', namespace: s.vaultNamespace, name: s.vaultPod })
  if (!pod) failures.push({ cause: `pod ${s.vaultNamespace}/${s.vaultPod} does not exist`, fix: 'check VAULT_NAMESPACE and VAULT_POD (kubectl get pods -A | grep vault)' })
  else
    await check(failures, async () => {
      const st = await vaultStatus(ctx)
      if (!st.initialized) throw new SetupError('Vault is not initialized', `kubectl -n ${s.vaultNamespace} exec -it ${s.vaultPod} -- vault operator init`)
      if (st.sealed) throw new SetupError('Vault is sealed', unsealFix(ctx))
    })
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

/** Runs every check; throws one SetupError listing all failures. */
export async function clusterPreflight(ctx: Ctx): Promise<void> {
  const failures = [...configFailures(ctx), ...(await repoFailures(ctx))]
  let k: Kube | undefined
  try {
    k = await kube(ctx)
  } catch (err) {
    failures.push(asFailure(err))
  }
  if (k) {
    const f = contextFailure(ctx, k)
    if (f) failures.push(f)
    else failures.push(...(await clusterFailures(ctx, k)))
  }
  if (failures.length) throw formatFailures(failures)
  ctx.log(`preflight passed (context ${k!.contextName}, ${k!.server})`)
}
