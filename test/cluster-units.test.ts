// Unit tests of the cluster code that needs no API server: Argo CD status reading,
// Secret checks (never echoing values), preflight config/context checks, the apply order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AppSpec } from '../src/apps.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { contains, syncTrigger, trackedBy } from '../src/cluster/argo.ts'
import { dockerConfigProblems, gitCredsProblems } from '../src/cluster/secret-checks.ts'
import { configFailures, formatFailures, identityFailure } from '../src/cluster/preflight.ts'
import { deploySteps } from '../src/cluster/deploy.ts'
import { parseObject } from '../src/cluster/repo-objects.ts'
import type { KObj } from '../src/cluster/kube.ts'
import { SetupError } from '../src/errors.ts'

function ctxWith(env: Record<string, string> = {}, extra: Partial<Ctx> = {}): Ctx {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: '/tmp/none', GITHUB_USERNAME: 'meirongdev', ...env }, cwd: '/nonexistent-dir' })
  const logs: string[] = []
  return { settings, secrets, repoDir: '/tmp/none', projectDir: '/tmp', dryRun: false, yes: false, log: (l: string) => logs.push(l), touchedPaths: new Set(), ...extra } as unknown as Ctx
}

const OURS = 'a'.repeat(40)
const OLD = 'b'.repeat(40)
const isOurs = async (r: string) => r === OURS

function app(status: Record<string, unknown>, spec: Record<string, unknown> = {}): KObj {
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'it-tools', namespace: 'argocd' }, spec, status }
}

test('sync trigger: refresh for auto-sync, an operation otherwise or after a failed auto-sync, nothing while running', () => {
  const auto = app({ sync: { status: 'OutOfSync' } }, { syncPolicy: { automated: { prune: true } } })
  assert.deepEqual(syncTrigger(auto), { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'normal' } } })
  const manual = app({ sync: { status: 'OutOfSync' } })
  assert.ok(syncTrigger(manual)?.operation)
  const autoFailed = app({ operationState: { phase: 'Failed' } }, { syncPolicy: { automated: {} } })
  assert.ok(syncTrigger(autoFailed)?.operation)
  assert.equal(syncTrigger(app({ operationState: { phase: 'Running' } })), undefined)
  const refreshing = { ...auto, metadata: { ...auto.metadata, annotations: { 'argocd.argoproj.io/refresh': 'normal' } } }
  assert.equal(syncTrigger(refreshing), undefined, 'a refresh already asked for is not asked again (no write)')
})

test('contains: desired fields present in live, extra live fields ignored, lists compared in full', () => {
  const live = { spec: { source: { directory: { include: '{a.yaml,b.yaml}' } }, syncPolicy: { automated: { prune: true } } }, status: { x: 1 } }
  assert.ok(contains(live, { spec: { source: { directory: { include: '{a.yaml,b.yaml}' } } } }))
  assert.ok(!contains(live, { spec: { source: { directory: { include: '{a.yaml}' } } } }))
  assert.ok(!contains(live, { spec: { syncPolicy: { automated: { prune: false } } } }))
  assert.ok(contains({ l: [1, 2] }, { l: [1, 2] }))
  assert.ok(!contains({ l: [1, 2, 3] }, { l: [1, 2] }))
  assert.ok(contains({ a: 1 }, { b: undefined }))
})

test('trackedBy reads the tracking annotation or the instance label', () => {
  const o = (labels?: Record<string, string>, annotations?: Record<string, string>): KObj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', labels, annotations } })
  assert.equal(trackedBy(o(undefined, { 'argocd.argoproj.io/tracking-id': 'it-tools:apps/Deployment:personal-services/it-tools' })), 'it-tools')
  assert.equal(trackedBy(o({ 'app.kubernetes.io/instance': 'personal-services' })), 'personal-services')
  assert.equal(trackedBy(o()), undefined)
})

const TOKEN = `ghp_${'abcdefghijklmnopqrstuvwxyz0123456789'}`
const b64 = (s: string) => Buffer.from(s).toString('base64')
const dockerSecret = (config: unknown, type = 'kubernetes.io/dockerconfigjson'): KObj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'ghcr-pull-secret' },
  type,
  data: { '.dockerconfigjson': b64(typeof config === 'string' ? config : JSON.stringify(config)) },
})

test('dockerconfigjson check: ghcr.io entry whose auth decodes to user:token; messages never hold values', () => {
  const good = dockerSecret({ auths: { 'ghcr.io': { auth: b64(`meirongdev:${TOKEN}`) } } })
  assert.deepEqual(dockerConfigProblems(good, 'ghcr.io', 'meirongdev', TOKEN), [])
  const wrongUser = dockerConfigProblems(dockerSecret({ auths: { 'ghcr.io': { auth: b64(`someone:${TOKEN}`) } } }), 'ghcr.io', 'meirongdev', TOKEN)
  assert.equal(wrongUser.length, 1)
  const wrongToken = dockerConfigProblems(dockerSecret({ auths: { 'ghcr.io': { auth: b64('meirongdev:ghp_other') } } }), 'ghcr.io', 'meirongdev', TOKEN)
  assert.match(wrongToken[0], /differs from GITHUB_PAT/)
  assert.match(dockerConfigProblems(dockerSecret({ auths: { 'docker.io': { auth: 'x' } } }), 'ghcr.io', 'meirongdev')[0], /no auths entry for ghcr.io/)
  // the whole JSON base64-encoded once more: what a wrong template produces
  assert.match(dockerConfigProblems(dockerSecret(b64(JSON.stringify({ auths: {} }))), 'ghcr.io', 'meirongdev')[0], /not JSON/)
  assert.match(dockerConfigProblems(dockerSecret({}, 'Opaque'), 'ghcr.io', 'meirongdev')[0], /expected kubernetes.io\/dockerconfigjson/)
  for (const p of [...wrongUser, ...wrongToken]) {
    assert.ok(!p.includes(TOKEN) && !p.includes('ghp_other') && !p.includes(b64(`someone:${TOKEN}`)))
  }
})

test('git-creds check: username and password keys, values compared but never shown', () => {
  const s = (data: Record<string, string>): KObj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds' }, data })
  assert.deepEqual(gitCredsProblems(s({ username: b64('meirongdev'), password: b64(TOKEN) }), 'meirongdev', TOKEN), [])
  assert.match(gitCredsProblems(s({ username: b64('meirongdev') }), 'meirongdev')[0], /keys missing: password/)
  const bad = gitCredsProblems(s({ username: b64('x'), password: b64('ghp_wrong') }), 'meirongdev', TOKEN)
  assert.equal(bad.length, 2)
  assert.ok(bad.every((p) => !p.includes('ghp_wrong') && !p.includes(TOKEN)))
})

test('preflight config checks: bad image, regex, strategy and chart version each give cause and fix', () => {
  assert.deepEqual(configFailures(ctxWith()), [])
  const failures = configFailures(ctxWith({ IMAGE: 'ghcr.io/meirongdev/it-tools:latest', TAG_REGEX: '^sha-[0-9a-f+$', UPDATE_STRATEGY: 'latest', CHART_VERSION: '0.14.0' }))
  assert.equal(failures.length, 4)
  for (const f of failures) assert.ok(f.cause && f.fix)
  const err = formatFailures(failures)
  assert.ok(err instanceof SetupError)
  assert.match(err.message, /4 preflight checks failed/)
  assert.equal((err.message.match(/fix: /g) ?? []).length, 4, 'one fix line per failure')
})

test('cluster identity: a different cluster than recorded is refused whatever the context is called, unless --switch-cluster; --yes does not widen it', () => {
  const before = { server: 'https://a:6443', kubeSystemUid: 'uid-a', context: 'homelab', recordedAt: '2026-01-01T00:00:00Z' }
  const now = { server: 'https://b:6443', kubeSystemUid: 'uid-b', context: 'prod', recordedAt: '2026-01-02T00:00:00Z' }
  const state = { cluster: before } as unknown as Ctx['state']
  assert.equal(identityFailure(ctxWith({}, { state: { cluster: undefined } as unknown as Ctx['state'] }), now), undefined, 'the first run records, refuses nothing')
  assert.equal(identityFailure(ctxWith({}, { state }), { ...now, kubeSystemUid: 'uid-a' }), undefined, 'same cluster at another URL')
  const refused = identityFailure(ctxWith({}, { state, yes: true }), now)
  assert.match(refused!.cause, /kube context prod reaches https:\/\/b:6443.*not the cluster.*https:\/\/a:6443.*context homelab/)
  assert.match(refused!.fix, /point KUBECONFIG and KUBE_CONTEXT at it .*uid-a.*--switch-cluster/)
  assert.doesNotMatch(refused!.fix, /--yes|ALLOW_OTHER_CONTEXT/)
  assert.equal(identityFailure(ctxWith({}, { state, switchCluster: true }), now), undefined)
  // bound by identity, not by name: an explicit KUBE_CONTEXT, even the recorded name, reaching another cluster is refused
  assert.ok(identityFailure(ctxWith({ KUBE_CONTEXT: 'prod' }, { state }), now), 'an explicit KUBE_CONTEXT does not move the setup')
  assert.ok(identityFailure(ctxWith({ KUBE_CONTEXT: 'homelab' }, { state }), { ...now, context: 'homelab' }), 'the same context name on another cluster is refused')
})

test('apply order: AppProject, vault-eso, chart, each app (adopting every object of it), then personal-services', () => {
  const app = (name: string, objects: { apiVersion: string; kind: string; name: string; namespace?: string }[]) => ({ name, applicationFile: `argocd/applications/${name}.yaml`, objects }) as unknown as AppSpec
  const homepage = [{ apiVersion: 'v1', kind: 'Namespace', name: 'homepage' }, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'homepage', namespace: 'homepage' }]
  const facts = { projectFile: 'argocd/projects/homelab.yaml', chartApplicationFile: 'argocd/applications/argocd-image-updater.yaml', servicesFile: 'argocd/applications/personal-services.yaml', secretsApplication: { file: 'argocd/applications/vault-eso.yaml', withImageUpdaters: false } }
  const steps = deploySteps({ ...facts, apps: [app('it-tools', []), app('homepage', homepage)] })
  assert.deepEqual(
    steps.map((s) => s.file),
    ['argocd/projects/homelab.yaml', 'argocd/applications/vault-eso.yaml', 'argocd/applications/argocd-image-updater.yaml', 'argocd/applications/it-tools.yaml', 'argocd/applications/homepage.yaml', 'argocd/applications/personal-services.yaml'],
  )
  assert.deepEqual(steps.filter((s) => s.adopts).map((s) => s.file), ['argocd/applications/it-tools.yaml', 'argocd/applications/homepage.yaml'])
  assert.deepEqual(steps[4]!.adopts, homepage, 'the Namespace is adopted too')
})

test('apply order when every app stays where it renders and a root app-of-apps syncs the ExternalSecrets and ImageUpdaters: chart, then the root; no personal-services', () => {
  const inPlace = { name: 'it-tools', applicationFile: 'argocd/apps/homelab-apps.yaml', objects: [], inPlace: {} } as unknown as AppSpec
  const facts = { projectFile: 'bootstrap/project.yaml', chartApplicationFile: 'argocd/apps/services/argocd-image-updater.yaml', secretsApplication: { file: 'bootstrap/root.yaml', withImageUpdaters: true }, apps: [inPlace] }
  const steps = deploySteps(facts)
  assert.deepEqual(steps.map((s) => [s.file, s.needs ?? []]), [['bootstrap/project.yaml', []], ['argocd/apps/services/argocd-image-updater.yaml', ['crd']], ['bootstrap/root.yaml', ['secrets']]])
  // the chart's own folder holds them: one step that waits for both
  const viaChart = deploySteps({ ...facts, secretsApplication: { file: facts.chartApplicationFile, withImageUpdaters: true } })
  assert.deepEqual(viaChart.map((s) => [s.file, s.needs ?? []]), [['bootstrap/project.yaml', []], ['argocd/apps/services/argocd-image-updater.yaml', ['crd', 'secrets']]])
})

test('parseObject picks the one object of a kind, with comments and leading ---', () => {
  const obj = parseObject('---\n# 注释\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: x # c\n', 'a.yaml', 'Application')
  assert.equal(obj.metadata.name, 'x')
  assert.throws(() => parseObject('kind: Service\nmetadata: {name: s}\n', 'a.yaml', 'Application'), /expected exactly one Application/)
  assert.throws(() => parseObject('kind: [\n', 'b.yaml', 'Application'), /b\.yaml:/)
})

