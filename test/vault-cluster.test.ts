// Vault on another cluster than Argo CD: two API servers, `sandbox` (Argo CD's) and a second one,
// each with a vault-0 pod; the setup's vault commands go to the cluster the repo's
// ClusterSecretStore reaches (by the Argo CD cluster's server, or its name), or to
// VAULT_KUBE_CONTEXT; when it cannot be told, the error names that setting.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse, stringify } from 'yaml'
import { Store } from '../sandbox/store.ts'
import { createPki } from '../sandbox/apiserver/pki.ts'
import { Pods } from '../sandbox/apiserver/pods.ts'
import { startApiServer, type ApiServer } from '../sandbox/apiserver/server.ts'
import { Faults, Stats } from '../sandbox/apiserver/stats.ts'
import { kubeconfigYaml } from '../sandbox/index.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { isLoggedIn } from '../src/cluster/vault.ts'

/** A cluster with a vault-0 pod whose vault CLI says whether it was asked. */
interface Cluster {
  server: ApiServer
  asked: string[]
  kubeconfig: string
}

async function cluster(): Promise<Cluster> {
  const store = new Store()
  const pods = new Pods()
  const pki = createPki()
  const server = await startApiServer({ store, pods, stats: new Stats(), faults: new Faults(), pki, token: 'test-token' })
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } })
  store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vault-0', namespace: 'vault' }, spec: { containers: [{ name: 'vault', image: 'hashicorp/vault' }] } })
  const asked: string[] = []
  pods.registerExec('vault', 'vault-0', async (cmd: string[]) => {
    asked.push(cmd.join(' '))
    return { stdout: '{}', stderr: '', exitCode: 0 }
  })
  return { server, asked, kubeconfig: kubeconfigYaml(server.url, pki, 'test-token') }
}

let argo: Cluster
let remote: Cluster
let dir: string

/** One kubeconfig with Argo CD's cluster as `sandbox` and the other as `name`. */
function kubeconfig(name: string): string {
  const a = parse(argo.kubeconfig)
  const b = parse(remote.kubeconfig)
  const rename = (list: { name: string }[]) => list.map((x) => ({ ...x, name: `${name}${x.name.slice('sandbox'.length)}` }))
  const contexts = rename(b.contexts).map((c: any) => ({ ...c, context: { ...c.context, cluster: `${name}${c.context.cluster.slice('sandbox'.length)}`, user: `${name}${c.context.user.slice('sandbox'.length)}` } }))
  const file = join(dir, `kubeconfig-${name}`)
  writeFileSync(file, stringify({ ...a, clusters: [...a.clusters, ...rename(b.clusters)], users: [...a.users, ...rename(b.users)], contexts: [...a.contexts, ...contexts] }))
  return file
}

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(join(dir, 'repo-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return root
}

function ctx(repoDir: string, env: Record<string, string>, logs: string[] = []): Ctx {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: repoDir, GITHUB_USERNAME: 'owner', GITHUB_API_URL: 'off', KUBE_CONTEXT: 'sandbox', ...env }, cwd: '/nonexistent-dir' })
  return { settings, secrets, repoDir, projectDir: repoDir, dryRun: false, yes: false, log: (l: string) => logs.push(l), touchedPaths: new Set() } as unknown as Ctx
}

const clusterSecret = (server: string) => `apiVersion: v1
kind: Secret
metadata:
  name: cluster-homelab
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
stringData:
  name: homelab
  server: ${server}
`
const store = (server: string) => `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: ${server}
      path: secret
      version: v2
`
const app = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: vault-config
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/owner/homelab.git
    path: vault-config
  destination:
    name: homelab
    namespace: vault
`

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vault-cluster-'))
  argo = await cluster()
  remote = await cluster()
})
after(async () => {
  await argo?.server.close()
  await remote?.server.close()
  rmSync(dir, { recursive: true, force: true })
})

test("Vault's cluster by the store's host: the Argo CD cluster with that server, reached by the context with that server", async () => {
  const remoteUrl = new URL(remote.server.url)
  const r = repo({ 'clusters/homelab.yaml': clusterSecret(remote.server.url), 'eso/store.yaml': store(`http://${remoteUrl.hostname}:30820`) })
  argo.asked.length = remote.asked.length = 0
  const logs: string[] = []
  assert.equal(await isLoggedIn(ctx(r, { KUBECONFIG: kubeconfig('nas') }, logs)), true)
  assert.deepEqual(argo.asked, [])
  assert.deepEqual(remote.asked, ['vault token lookup -format=json'])
  assert.ok(logs.some((l) => /Vault's cluster: the ClusterSecretStore vault-backend \(eso\/store\.yaml:1\) reaches Vault at .*, on the Argo CD cluster homelab .*: kube context nas/.test(l)), logs.join('\n'))
})

test("Vault's cluster by name: a store in-cluster to an app that deploys to homelab, reached by the context named homelab", async () => {
  const r = repo({ 'clusters/homelab.yaml': clusterSecret('https://10.0.0.5:6443'), 'apps/vault-config.yaml': app, 'vault-config/store.yaml': store('http://vault.vault.svc:8200') })
  argo.asked.length = remote.asked.length = 0
  assert.equal(await isLoggedIn(ctx(r, { KUBECONFIG: kubeconfig('homelab') })), true)
  assert.deepEqual(argo.asked, [])
  assert.deepEqual(remote.asked, ['vault token lookup -format=json'])
})

test('Vault on a cluster no context reaches: the error names VAULT_KUBE_CONTEXT; with it set, that context is used', async () => {
  const r = repo({ 'clusters/homelab.yaml': clusterSecret('https://10.0.0.5:6443'), 'apps/vault-config.yaml': app, 'vault-config/store.yaml': store('http://vault.vault.svc:8200') })
  argo.asked.length = remote.asked.length = 0
  const file = kubeconfig('other')
  await assert.rejects(isLoggedIn(ctx(r, { KUBECONFIG: file })), (e: Error & { fix: string }) => {
    assert.match(e.message, /Vault runs on the Argo CD cluster homelab \(https:\/\/10\.0\.0\.5:6443\): the ClusterSecretStore vault-backend \(vault-config\/store\.yaml:1\) reaches Vault at http:\/\/vault\.vault\.svc:8200; no kube context of the kubeconfig has a server on 10\.0\.0\.5 or is named homelab/)
    assert.match(e.fix, /set VAULT_KUBE_CONTEXT in \.env to the kube context of the cluster Vault runs on/)
    return true
  })
  assert.deepEqual([argo.asked, remote.asked], [[], []], 'no vault command ran anywhere')
  assert.equal(await isLoggedIn(ctx(r, { KUBECONFIG: file, VAULT_KUBE_CONTEXT: 'other' })), true)
  assert.deepEqual([argo.asked, remote.asked], [[], ['vault token lookup -format=json']])
  await assert.rejects(isLoggedIn(ctx(r, { KUBECONFIG: file, VAULT_KUBE_CONTEXT: 'typo' })), /VAULT_KUBE_CONTEXT typo is not in the kubeconfig/)
})

test("Vault on Argo CD's cluster (the store in-cluster, no other cluster): the one client, as before", async () => {
  const r = repo({ 'eso/store.yaml': store('http://vault.vault.svc:8200') })
  argo.asked.length = remote.asked.length = 0
  assert.equal(await isLoggedIn(ctx(r, { KUBECONFIG: kubeconfig('homelab') })), true)
  assert.deepEqual([argo.asked, remote.asked], [['vault token lookup -format=json'], []])
})

test('against the multi-cluster sandbox (homelab-today): Vault on homelab is found without VAULT_KUBE_CONTEXT, through the context named homelab', async () => {
  const { buildCorpusRepo, CORPUS } = await import('../sandbox/corpus/index.ts')
  const { startSandbox } = await import('../sandbox/index.ts')
  const corpus = buildCorpusRepo(CORPUS.find((c) => c.name === 'homelab-today')!)
  const sandbox = await startSandbox({ repoDir: corpus.dir, controllerDelayMs: 10 })
  try {
    assert.deepEqual(sandbox.settings, { VAULT_KUBE_CONTEXT: 'homelab' }, 'what the sandbox says a run needs')
    assert.equal(sandbox.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' }), undefined, "no Vault on Argo CD's cluster")
    const logs: string[] = []
    const c = ctx(corpus.dir, { ...corpus.env, KUBECONFIG: sandbox.kubeconfigPath, KUBE_CONTEXT: sandbox.contextName }, logs)
    assert.equal(await isLoggedIn(c), true)
    assert.ok(logs.some((l) => /Vault's cluster: the ClusterSecretStore vault-backend .* on the Argo CD cluster homelab \(https:\/\/10\.10\.0\.5:6443\): kube context homelab/.test(l)), logs.join('\n'))
    // the cluster preflight looks for Vault's namespace and pod on Vault's cluster, not on Argo CD's
    const { clusterPreflight } = await import('../src/cluster/preflight.ts')
    const p = ctx(corpus.dir, { ...corpus.env, KUBECONFIG: sandbox.kubeconfigPath, KUBE_CONTEXT: sandbox.contextName }, logs)
    await clusterPreflight(p)
    assert.ok(logs.some((l) => /^preflight passed \(context sandbox/.test(l)), logs.join('\n'))
  } finally {
    await sandbox.stop()
    rmSync(corpus.root, { recursive: true, force: true })
  }
})
