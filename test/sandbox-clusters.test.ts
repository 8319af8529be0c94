// Several clusters in the sandbox: Argo CD on the in-cluster API deploys each Application to the
// cluster its destination names (by server URL or by name), resolved through the cluster Secrets
// live in `argocd` (one made by an ExternalSecret from Vault, one generated where the repo
// registers none); each cluster has its own API, certificates and store; Vault runs on the cluster
// the ClusterSecretStores' address names, ESO on each cluster with a store; one kubeconfig has a
// context per cluster, and real kubectl works against each.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCorpusRepo, type CorpusRepo } from '../sandbox/corpus/index.ts'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { appReasons, reportLines } from '../sandbox/actors/seed.ts'
import { planClusters } from '../sandbox/actors/clusters.ts'
import { HOMELAB_SERVER, twoClusters } from './fixtures-two-clusters.ts'

const APPS = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }

describe('a repo that deploys to several clusters', () => {
  let repo: CorpusRepo
  let sb: Sandbox
  let scratch: string
  const app = (name: string) => sb.store.get({ ...APPS, namespace: 'argocd', name })!
  const cluster = (name: string) => sb.clusters.find((c) => c.name === name)!

  // asynchronous: the sandbox's APIs answer from this very process
  function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile('kubectl', ['--kubeconfig', sb.kubeconfigPath, '--cache-dir', join(scratch, 'cache'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: scratch }, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err)
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr })
      })
    })
  }

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'sandbox-clusters-'))
    repo = buildCorpusRepo(twoClusters)
    sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 10 })
    await sb.actors.settle()
  })
  after(async () => {
    await sb?.stop()
    rmSync(repo.root, { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  it('runs one API per other destination, each with its own store, port and certificates', () => {
    assert.deepEqual(sb.clusters.map((c) => [c.name, c.server]), [['homelab', HOMELAB_SERVER], ['nas', 'https://nas.sandbox.internal:6443']])
    const urls = new Set([sb.url, ...sb.clusters.map((c) => c.url)])
    assert.equal(urls.size, 3, 'three ports')
    assert.equal(new Set([sb.pki.caPem, ...sb.clusters.map((c) => c.pki.caPem)]).size, 3, 'three CAs')
    assert.notEqual(cluster('homelab').store, sb.store)
    assert.deepEqual(sb.actors.report.clusters.map((c) => [c.name, c.secretFrom]), [['in-cluster', 'in-cluster'], ['homelab', 'ExternalSecret'], ['nas', 'generated']])
  })

  it('deploys each Application to its destination cluster, Synced and Healthy from that cluster\'s objects', () => {
    for (const name of ['clusters', 'eso-argocd', 'eso-homelab', 'it-tools', 'whoami', 'media']) {
      assert.equal(app(name).status?.sync?.status, 'Synced', `${name}: ${appReasons(app(name)).join('; ')}`)
      assert.equal(app(name).status?.health?.status, 'Healthy', `${name}: ${appReasons(app(name)).join('; ')}`)
    }
    const deploy = (store: Sandbox['store'], ns: string, name: string) => store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name })
    assert.ok(deploy(cluster('homelab').store, 'personal-services', 'it-tools'), 'it-tools runs on homelab')
    assert.equal(deploy(sb.store, 'personal-services', 'it-tools'), undefined, 'and not beside Argo CD')
    assert.ok(deploy(cluster('nas').store, 'media', 'jellyfin'), 'media runs on nas (destination by name)')
    assert.ok(deploy(sb.store, 'whoami', 'whoami'))
    // The ESO of homelab reads the Vault beside it; the Secret it made is there.
    assert.ok(cluster('homelab').store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'personal-services', name: 'it-tools-env' }))
  })

  it('generates the ApplicationSets\' Applications (git directories with fasttemplate, git files with Go templates) and deploys them', () => {
    const owner = (name: string) => (app(name)?.metadata as any)?.ownerReferences?.[0]?.name
    assert.equal(owner('gitea'), 'homelab-apps')
    assert.equal(app('retired'), undefined, 'excluded directory')
    assert.deepEqual(app('gitea').spec.destination, { name: 'homelab', namespace: 'gitea' })
    assert.equal(owner('edge-uptime'), 'edge-apps')
    assert.deepEqual(app('edge-uptime').spec.source.path, 'edge/uptime/manifests')
    for (const name of ['gitea', 'edge-uptime']) assert.equal(`${app(name).status?.sync?.status}/${app(name).status?.health?.status}`, 'Synced/Healthy', `${name}: ${appReasons(app(name)).join('; ')}`)
    assert.ok(cluster('homelab').store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'gitea', name: 'gitea' }))
    assert.ok(sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'uptime', name: 'uptime-kuma' }))
    const set = sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', namespace: 'argocd', name: 'homelab-apps' })!
    assert.equal(set.status.conditions.find((c: any) => c.type === 'ResourcesUpToDate').status, 'True')
    // a generator the sandbox does not play is said so, in the set's status and the start report
    const matrix = sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', namespace: 'argocd', name: 'matrix-apps' })!
    assert.equal(matrix.status.conditions.find((c: any) => c.type === 'ErrorOccurred').status, 'True')
    assert.ok(sb.actors.report.unmodelled.includes('ApplicationSet matrix-apps: the matrix generator is not modelled by the sandbox'), sb.actors.report.unmodelled.join('; '))
    const lines = reportLines(sb.actors.report)
    assert.ok(lines.includes('  ApplicationSet homelab-apps: 1 Application(s) generated'), lines.join('\n'))
    assert.ok(lines.includes('  ApplicationSet matrix-apps: ErrorOccurred: the matrix generator is not modelled by the sandbox'))
  })

  it('registers the clusters as Argo CD does: the ExternalSecret\'s cluster Secret from Vault, a generated one for nas', () => {
    const secrets = sb.store.list('v1', 'Secret', 'argocd').filter((s) => s.metadata.labels?.['argocd.argoproj.io/secret-type'] === 'cluster')
    const decoded = (s: any, k: string) => Buffer.from(s.data[k], 'base64').toString('utf8')
    const homelab = secrets.find((s) => decoded(s, 'name') === 'homelab')!
    assert.equal(decoded(homelab, 'server'), HOMELAB_SERVER)
    assert.equal((homelab.metadata as any).ownerReferences?.[0]?.kind, 'ExternalSecret', 'made by ESO')
    assert.equal(decoded(secrets.find((s) => decoded(s, 'name') === 'nas')!, 'server'), 'https://nas.sandbox.internal:6443')
  })

  it('puts Vault on the cluster the ClusterSecretStore names, and says which context a run needs', () => {
    assert.equal(sb.actors.report.vaultCluster, 'homelab')
    assert.ok(cluster('homelab').store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' }))
    assert.equal(sb.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' }), undefined)
    assert.deepEqual(sb.settings, { VAULT_KUBE_CONTEXT: 'homelab' })
  })

  it('groups the start report by cluster', () => {
    const lines = reportLines(sb.actors.report, { 'in-cluster': 'sandbox', homelab: 'homelab', nas: 'nas' })
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l))
    assert.ok(at(/^cluster in-cluster \(https:\/\/kubernetes\.default\.svc, context sandbox\): 4 Application/) >= 0, lines.join('\n'))
    const homelab = at(/^cluster homelab \(https:\/\/10\.10\.0\.5:6443, context homelab, cluster Secret from the repo's ExternalSecret, Vault\): 3 Application/)
    const nas = at(/^cluster nas \(.*cluster Secret generated/)
    assert.ok(homelab >= 0 && nas > homelab, lines.join('\n'))
    assert.ok(at(/^\s+it-tools\s+Synced\s+Healthy$/) > homelab && at(/^\s+it-tools/) < nas)
  })

  it('real kubectl works against every context of the one kubeconfig', async () => {
    const contexts = await kubectl('config', 'get-contexts', '-o', 'name')
    assert.deepEqual(contexts.stdout.trim().split('\n').sort(), ['homelab', 'nas', 'sandbox', 'sandbox-token'])
    const apps = await kubectl('--context', 'sandbox', '-n', 'argocd', 'get', 'applications')
    assert.equal(apps.code, 0, apps.stderr)
    assert.match(apps.stdout, /it-tools\s+Synced\s+Healthy/)
    const onHomelab = await kubectl('--context', 'homelab', '-n', 'personal-services', 'get', 'deploy', 'it-tools', '-o', 'jsonpath={.spec.template.spec.containers[0].image}')
    assert.equal(onHomelab.code, 0, onHomelab.stderr)
    assert.equal(onHomelab.stdout, 'ghcr.io/meirongdev/it-tools:sha-51be0a7')
    assert.notEqual((await kubectl('--context', 'sandbox', '-n', 'personal-services', 'get', 'deploy', 'it-tools')).code, 0, 'not on the in-cluster API')
    sb.resetStats()
    const vault = await kubectl('--context', 'homelab', '-n', 'vault', 'exec', 'vault-0', '--', 'vault', 'status', '-format=json')
    assert.equal(vault.code, 0, vault.stderr)
    assert.equal(JSON.parse(vault.stdout).sealed, false)
    // the sandbox's one request account sees every cluster (what the secrets proofs read)
    assert.deepEqual(sb.stats().execCommands, [['vault', 'status', '-format=json']])
    assert.ok(Object.keys(sb.stats().reads).some((p) => p.startsWith('homelab:/api')), Object.keys(sb.stats().reads).join(' '))
    const nas = await kubectl('--context', 'nas', '-n', 'media', 'get', 'deploy', 'jellyfin', '-o', 'name')
    assert.equal(nas.code, 0, nas.stderr)
    assert.equal(nas.stdout.trim(), 'deployment.apps/jellyfin')
    // each cluster's CA is its own: homelab's credentials against nas's server fail TLS
    const kc = readFileSync(sb.kubeconfigPath, 'utf8')
    assert.equal(kc.match(/certificate-authority-data/g)?.length, 3)
  })

  it('an Application whose cluster is not registered gets Argo CD\'s InvalidSpecError, and the reason is reported', async () => {
    const nasSecret = sb.store.list('v1', 'Secret', 'argocd').find((s) => s.metadata.name === 'cluster-nas')!
    sb.store.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: nasSecret.metadata.name })
    try {
      await sb.actors.settle()
      const media = app('media')
      assert.equal(media.status.sync.status, 'Unknown')
      assert.deepEqual(appReasons(media), ['InvalidSpecError: Application destination spec for media is invalid: unable to find destination server: there are no clusters with this name: nas'])
    } finally {
      sb.store.create({ ...nasSecret, metadata: { ...nasSecret.metadata, resourceVersion: undefined, uid: undefined } } as any, 'test')
    }
    await sb.actors.settle()
    assert.equal(app('media').status.sync.status, 'Synced')
  })
})

describe('planning clusters from the repo', () => {
  const dest = (d: Record<string, string>) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x' }, spec: { destination: d } }) as any
  it('pairs a registration whose server comes from Vault with the server destination no one states', () => {
    const es = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'c', namespace: 'argocd' }, spec: { target: { template: { metadata: { labels: { 'argocd.argoproj.io/secret-type': 'cluster' } }, data: { name: 'homelab', server: '{{ .server }}' } } } } } as any
    assert.deepEqual(planClusters([dest({ name: 'homelab' }), dest({ server: 'https://10.0.0.9:6443/' })], [es]), [{ name: 'homelab', server: 'https://10.0.0.9:6443', secretFrom: 'ExternalSecret' }])
  })
  it('reads a plain cluster Secret (stringData) and generates what the repo does not register; in-cluster is not another cluster', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: { 'argocd.argoproj.io/secret-type': 'cluster' } }, stringData: { name: 'edge', server: 'https://192.168.7.2:6443' } } as any
    assert.deepEqual(planClusters([dest({ server: 'https://kubernetes.default.svc' }), dest({ name: 'in-cluster' }), dest({ name: 'edge' }), dest({ server: 'https://10.1.1.1:6443' })], [secret]), [
      { name: 'edge', server: 'https://192.168.7.2:6443', secretFrom: 'Secret' },
      { name: 'cluster-10-1-1-1', server: 'https://10.1.1.1:6443', secretFrom: 'generated' },
    ])
    assert.deepEqual(planClusters([dest({ server: 'https://kubernetes.default.svc' })], []), [])
  })
})
