// The sandbox started on each corpus repo plays the homelab that repo runs today: every existing
// Application Synced and Healthy, the namespaces, CRDs and Vault keys it relies on in place, and a
// start report that names what the sandbox could not model (strict refuses to start then). Tests can
// seed an app Degraded or OutOfSync on purpose.
import { after, afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { CORPUS, buildCorpusRepo, type CorpusNeed, type CorpusRepo, type CorpusShape } from '../sandbox/corpus/index.ts'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { reportLines } from '../sandbox/actors/seed.ts'
import { createSampleRepo } from '../sandbox/sample-repo.ts'
import { MODEL_ANNOTATION } from '../sandbox/apiserver/kinds.ts'

const APPS = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }
const cleanups: (() => void | Promise<void>)[] = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})
// Sandboxes a test started: stopped when it ends, so their controllers do not slow the next ones.
const running: Sandbox[] = []
afterEach(async () => {
  for (const sb of running.splice(0)) await sb.stop()
})

async function started(dir: string, opts: Partial<Parameters<typeof startSandbox>[0]> = {}): Promise<Sandbox> {
  const sb = await startSandbox({ repoDir: dir, controllerDelayMs: 10, ...opts })
  running.push(sb)
  await sb.actors.settle()
  return sb
}

function corpusRepo(name: string): CorpusRepo {
  const repo = buildCorpusRepo(CORPUS.find((s) => s.name === name)!)
  cleanups.push(() => rmSync(repo.root, { recursive: true, force: true }))
  return repo
}

const unhealthy = (sb: Sandbox) => sb.store.list(APPS.apiVersion, APPS.kind).filter((a) => a.status?.sync?.status !== 'Synced' || a.status?.health?.status !== 'Healthy').map((a) => `${a.metadata.name}: ${a.status?.sync?.status}/${a.status?.health?.status} ${a.status?.conditions?.[0]?.message ?? a.status?.operationState?.message ?? ''}`)

/** CRDs for the custom kinds apps render: the real schema where a package ships one, else permissive. */
function installedCrds(sb: Sandbox): void {
  const crd = (name: string) => sb.store.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name })
  assert.equal(crd('ingressroutes.traefik.io')?.metadata.annotations?.[MODEL_ANNOTATION], '@kubernetes-models/traefik')
  assert.equal(crd('helmchartconfigs.helm.cattle.io')?.metadata.annotations?.[MODEL_ANNOTATION], undefined)
  assert.equal(crd('servicemonitors.monitoring.coreos.com')?.spec.scope, 'Namespaced')
  assert.deepEqual(sb.actors.report.crds.find((c) => c.name === 'middlewares.traefik.io'), { name: 'middlewares.traefik.io', schemaFrom: '@kubernetes-models/traefik' })
  assert.ok(sb.actors.report.unmodelled.includes('CRD servicemonitors.monitoring.coreos.com: installed with a permissive schema (no package ships its real one)'))
  // The real Traefik schema refuses what Traefik's CRD refuses.
  assert.throws(() => sb.store.create({ apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRoute', metadata: { name: 'bad', namespace: 'personal-services' }, spec: { entryPoints: ['web'] } }, 'kubectl'), /IngressRoute\.traefik\.io "bad" is invalid: spec\.routes: Required value/)
}

/** Why the sandbox cannot play a shape yet (undefined: it can): what it needs that no helper has built. */
function sandboxCannotModel(shape: CorpusShape): string | undefined {
  const waiting: Partial<Record<CorpusNeed, string>> = {}
  const reasons = shape.needs.flatMap((n) => (waiting[n] ? [waiting[n]] : []))
  return reasons.length ? reasons.join('; ') : undefined
}

describe('the sandbox seeds every corpus repo as the homelab it describes', () => {
  for (const shape of CORPUS) {
    it(`${shape.name}: every Application Synced and Healthy, namespaces, CRDs and Vault keys in place`, { timeout: 120_000, skip: sandboxCannotModel(shape) }, async () => {
      const repo = corpusRepo(shape.name)
      const sb = await started(repo.dir)
      const apps = sb.store.list(APPS.apiVersion, APPS.kind)
      assert.ok(apps.length >= 5, `${apps.length} Applications`)
      assert.deepEqual(unhealthy(sb), [])
      // Each app's objects live on the cluster its destination names (several for the multi-cluster shapes).
      const stores = new Map([['in-cluster', sb.store], ...sb.clusters.map((c) => [c.name, c.store] as const)])
      const clusterOf = (app: string) => sb.actors.report.apps.find((a) => a.name === app)!.cluster
      if (shape.needs.includes('multi-cluster')) assert.ok(sb.clusters.length >= 1 && apps.some((a) => clusterOf(a.metadata.name) !== 'in-cluster'), 'apps on another cluster')
      // Every resource an app tracks is live, in a namespace that exists on its cluster.
      for (const a of apps) {
        const store = stores.get(clusterOf(a.metadata.name))!
        for (const r of a.status?.resources ?? []) {
          assert.equal(r.status, 'Synced', `${a.metadata.name} ${r.kind} ${r.name}`)
          if (r.namespace) assert.ok(store.get({ apiVersion: 'v1', kind: 'Namespace', name: r.namespace }), `namespace ${r.namespace} on ${clusterOf(a.metadata.name)}`)
        }
      }
      // ExternalSecrets read generated values: Ready, and their Secrets exist beside them.
      const everywhere = (apiVersion: string, kind: string) => [...stores.values()].flatMap((store) => store.list(apiVersion, kind).map((o) => ({ o, store })))
      const externalSecrets = everywhere('external-secrets.io/v1', 'ExternalSecret')
      // (appset-git keeps its two in two namespaces; the other shapes spread theirs wider)
      assert.ok(new Set(externalSecrets.map((e) => e.o.metadata.namespace)).size >= (shape.name === 'appset-git' ? 2 : 3), 'ExternalSecrets in several namespaces')
      for (const { o: es, store } of externalSecrets) {
        assert.equal(es.status?.conditions?.[0]?.status, 'True', `${es.metadata.namespace}/${es.metadata.name} Ready`)
        assert.ok(store.get({ apiVersion: 'v1', kind: 'Secret', namespace: es.metadata.namespace, name: es.spec.target.name }))
      }
      // Claims are bound, it-tools runs the repo's tag.
      for (const { o: pvc } of everywhere('v1', 'PersistentVolumeClaim')) assert.equal(pvc.status?.phase, 'Bound', `${pvc.metadata.namespace}/${pvc.metadata.name}`)
      const itTools = everywhere('apps/v1', 'Deployment').find(({ o }) => o.metadata.namespace === (shape.settings.APP_NAMESPACE ?? 'personal-services') && o.metadata.name === 'it-tools')?.o
      assert.equal(itTools?.spec.template.spec.containers[0].image.replace(/@sha256:.*$/, ''), `ghcr.io/meirongdev/it-tools:${shape.imageTag}`)
      // The report: one line per app (grouped by cluster), and what could not be modelled.
      const lines = reportLines(sb.actors.report)
      for (const a of apps) assert.ok(lines.some((l) => l.trim().startsWith(`${a.metadata.name} `) && /Synced\s+Healthy/.test(l)), `report line for ${a.metadata.name}`)
      if (sb.clusters.length) for (const c of sb.clusters) assert.ok(lines.some((l) => l.startsWith(`cluster ${c.name} (${c.server}`)), lines.join('\n'))
      assert.ok(sb.actors.report.opaque.length >= 1, 'the public Helm chart is an opaque app')
      assert.ok(sb.actors.report.unmodelled.some((u) => u.includes(sb.actors.report.opaque[0]!.name)))
      if (shape.name === 'recursive-root') installedCrds(sb)
      // A class the claims name and nothing in the repo defines was installed by hand: it binds, and the report says so.
      for (const name of shape.storageClassesOutOfBand ?? []) {
        assert.equal(everywhere('storage.k8s.io/v1', 'StorageClass').find(({ o }) => o.metadata.name === name)?.o.volumeBindingMode, 'Immediate')
        assert.ok(lines.some((l) => l.includes(`StorageClass ${name}: installed out of band`)), lines.join('\n'))
      }
      assert.deepEqual(sb.actors.report.storageClassesOutOfBand ?? [], shape.storageClassesOutOfBand ?? [])
    })
  }

  it('strict refuses to start on a repo it cannot model whole', { timeout: 120_000 }, async () => {
    const repo = corpusRepo('flat-wildcard')
    await assert.rejects(startSandbox({ repoDir: repo.dir, strict: true }), /could not model 1 part\(s\) .*grafana: rendered as an opaque app without resources \(Helm chart grafana 9\.3\.0/)
  })

  it('seeds a chosen app Degraded (its Vault keys left empty) or OutOfSync (a resource gone), as problems from before', { timeout: 120_000 }, async () => {
    const degraded = createSampleRepo()
    cleanups.push(() => rmSync(degraded.root, { recursive: true, force: true }))
    // (strict too: the sample repo is modelled whole)
    const sb = await started(degraded.dir, { problems: { 'vault-eso': 'Degraded' }, strict: true })
    assert.deepEqual(sb.actors.report.unmodelled, [])
    const app = (s: Sandbox, name: string) => s.store.get({ ...APPS, namespace: 'argocd', name })!
    assert.equal(app(sb, 'vault-eso').status.health.status, 'Degraded')
    assert.equal(app(sb, 'vault-eso').status.sync.status, 'Synced')
    assert.equal(app(sb, 'personal-services').status.health.status, 'Healthy', 'only the chosen app')
    assert.ok(reportLines(sb.actors.report).some((l) => /vault-eso\s+Synced\s+Degraded\s+seeded Degraded on purpose/.test(l)))

    const drifted = createSampleRepo()
    cleanups.push(() => rmSync(drifted.root, { recursive: true, force: true }))
    const sb2 = await started(drifted.dir, { problems: { 'vault-eso': 'OutOfSync' } })
    assert.equal(app(sb2, 'vault-eso').status.sync.status, 'OutOfSync')
    await assert.rejects(startSandbox({ repoDir: drifted.dir, problems: { 'personal-services': 'OutOfSync' } }), /cannot seed personal-services OutOfSync: it has selfHeal/)
    await assert.rejects(startSandbox({ repoDir: drifted.dir, problems: { nope: 'Degraded' } }), /the repo has no Application named nope/)
  })
})
