// The pieces that let a run work on a repo of several clusters and the owner's own names: which
// kube context reaches an Argo CD cluster, which ClusterSecretStore reads Vault, and when Argo CD
// has compared an Application's changed source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { buildCorpusRepo, CORPUS } from '../sandbox/corpus/index.ts'
import { contextFor, noContextText } from '../src/cluster/cluster-context.ts'
import { comparedToSpec } from '../src/cluster/app-snapshot.ts'
import { secretStore } from '../src/secret-store.ts'
import { loadConfig } from '../src/settings.ts'
import type { ArgoCluster } from '../src/repo-model/types.ts'
import type { KObj } from '../src/cluster/kube.ts'

const homelab: ArgoCluster = { name: 'homelab', server: 'https://10.10.0.5:6443', host: '10.10.0.5', inCluster: false, declaredBy: 'Secret' }
const kubeconfig = (servers: Record<string, string>, current = Object.keys(servers)[0]!) => ({ contextName: current, contextNames: Object.keys(servers), contextServers: servers })

test('the kube context of an Argo CD cluster: by server, then by name, then by host; several servers are ambiguous', () => {
  assert.deepEqual(contextFor(kubeconfig({ main: 'https://10.0.0.1:6443', lab: 'https://10.10.0.5:6443' }), homelab), { context: 'lab', ambiguous: [] })
  // the sandbox (and a renamed kubeconfig) reach it at another address under the cluster's Argo CD name
  assert.deepEqual(contextFor(kubeconfig({ sandbox: 'https://127.0.0.1:4000', homelab: 'https://127.0.0.1:4001' }), homelab), { context: 'homelab', ambiguous: [] })
  // a k3s kubeconfig copied over keeps the name `default`: the host tells
  assert.deepEqual(contextFor(kubeconfig({ main: 'https://10.0.0.1:6443', default: 'https://10.10.0.5:16443' }), homelab), { context: 'default', ambiguous: [] })
  const none = kubeconfig({ main: 'https://10.0.0.1:6443' })
  const match = contextFor(none, homelab)
  assert.deepEqual(match, { ambiguous: [] })
  assert.match(noContextText(none, homelab, match), /no kube context of the kubeconfig has a server on 10\.10\.0\.5 or is named homelab \(contexts: main → https:\/\/10\.0\.0\.1:6443\)/)
  const two = kubeconfig({ main: 'https://10.0.0.1:6443', a: 'https://10.10.0.5:1', b: 'https://10.10.0.5:2' })
  assert.deepEqual(contextFor(two, homelab).ambiguous, ['a', 'b'])
})

test('the ClusterSecretStore: SECRET_STORE when set; at its default, the repo\'s one store for Vault when none has the default name', async () => {
  const storeOf = async (corpus: string, env: Record<string, string> = {}) => {
    const repo = buildCorpusRepo(CORPUS.find((c) => c.name === corpus)!)
    try {
      const { settings } = loadConfig({ env: { ...repo.env, GITHUB_USERNAME: 'meirongdev', ...env }, cwd: '/nonexistent-dir' })
      return await secretStore({ repoDir: repo.dir, settings })
    } finally {
      rmSync(repo.root, { recursive: true, force: true })
    }
  }
  const appset = await storeOf('appset-git')
  assert.equal(appset.name, 'vault')
  assert.match(appset.why, /the repo's one ClusterSecretStore for Vault, vault \(.+:\d+\); SECRET_STORE is not set/)
  assert.equal((await storeOf('homelab-today')).name, 'vault-backend', 'the default, where the repo has it')
  assert.equal((await storeOf('appset-git', { SECRET_STORE: 'mine' })).name, 'mine', 'a setting is never overridden')
})

test('an Application is judged on the source it has once Argo CD compared that one: a changed chart version waits', () => {
  const app = (specRev: string, comparedRev: string | undefined) =>
    ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'argocd-image-updater', namespace: 'argocd' },
      spec: { sources: [{ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argocd-image-updater', targetRevision: specRev }, { repoURL: 'https://github.com/a/b.git', ref: 'values' }] },
      status: { sync: { status: 'Synced', comparedTo: comparedRev ? { sources: [{ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argocd-image-updater', targetRevision: comparedRev, helm: { releaseName: 'x' } }, { repoURL: 'https://github.com/a/b.git', ref: 'values', targetRevision: 'HEAD' }] } : undefined } },
    }) as unknown as KObj
  assert.equal(comparedToSpec(app('1.2.4', '1.2.4')), true, 'fields Argo CD fills in do not count')
  assert.equal(comparedToSpec(app('1.2.4', '1.1.1')), false)
  assert.equal(comparedToSpec(app('1.2.4', undefined)), true, 'no comparedTo: cannot tell')
})
