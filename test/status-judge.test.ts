// status's verdicts on views no sandbox plays yet: a 1.1 controller (last check and updates from its
// log's cycles), a Secret that is missing, ESO that stopped refreshing, an expired token, the interval
// from the controller's args, an ImageUpdater outside the controller's namespace.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { KObj } from '../src/cluster/kube.ts'
import { controllerInterval, judge, lastCycleLines, parseDuration, type OutsideFacts } from '../src/status/judge.ts'
import type { ClusterView, SecretRef } from '../src/status/read.ts'
import { imageUpdaterSchemaProblems } from '../src/status/imageupdater-schema.ts'
import { formatStatus } from '../src/status/format.ts'

const NOW = Date.parse('2026-12-05T12:00:00Z')
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString().replace(/\.\d+Z$/, 'Z')

function controller(image: string, args: string[] = []): KObj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'argocd-image-updater-controller', namespace: 'argocd' },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image, args }] } } },
    status: { readyReplicas: 1 },
  }
}

function iu(extra: Partial<KObj> = {}, namespace = 'argocd'): KObj {
  return {
    apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1',
    kind: 'ImageUpdater',
    metadata: { name: 'it-tools', namespace },
    spec: { applicationRefs: [{ namePattern: 'it-tools', images: [{ alias: 'it-tools', imageName: 'ghcr.io/o/it-tools', commonUpdateSettings: { updateStrategy: 'newest-build', pullSecret: 'pullsecret:argocd/ghcr-pull-secret' } }], writeBackConfig: { method: 'git:secret:argocd/git-creds' } }] },
    ...extra,
  }
}

const app: KObj = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'it-tools', namespace: 'argocd' },
  spec: { destination: { name: 'in-cluster' }, source: { path: 'apps/it-tools' } },
  status: { sync: { status: 'Synced' }, health: { status: 'Healthy' }, sourceType: 'Kustomize', summary: { images: ['ghcr.io/o/it-tools:sha-1111111'] } },
}

function view(o: Partial<ClusterView> = {}): ClusterView {
  return { context: 'test', server: 'https://x', imageUpdaters: [iu()], applications: [app], controller: { deployment: controller('quay.io/argoprojlabs/argocd-image-updater:v1.2.2'), pods: [] }, secrets: new Map(), events: [], ...o }
}

const facts = (o: Partial<OutsideFacts> = {}): OutsideFacts => ({ git: new Map(), registry: new Map(), onboarded: [], ...o })
const all = (r: ReturnType<typeof judge>) => [...r.problems, ...r.apps.flatMap((a) => a.problems)].map((p) => `${p.subject}: ${p.problem}`)

test('a 1.1 controller: last check and recent updates from its log cycles; a stale last cycle is named', () => {
  const log = [
    `time="${at(30)}" level=info msg="Starting image update cycle, considering 1 application(s) for update" imageUpdater_name=it-tools`,
    `time="${at(30)}" level=info msg="Successfully updated image 'ghcr.io/o/it-tools:sha-0000000' to 'ghcr.io/o/it-tools:sha-1111111', but pending spec update (dry run=false)" application=it-tools imageUpdater_name=it-tools`,
    `time="${at(30)}" level=info msg="Processing results: applications=1 images_considered=1 images_skipped=0 images_updated=1 errors=0" imageUpdater_name=it-tools`,
    `time="${at(1)}" level=info msg="Starting image update cycle, considering 1 application(s) for update" imageUpdater_name=it-tools`,
    `time="${at(1)}" level=info msg="Processing results: applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=0" imageUpdater_name=it-tools`,
  ].join('\n')
  const v = view({ controller: { deployment: controller('quay.io/argoprojlabs/argocd-image-updater:v1.1.1'), pods: [], log } })
  const r = judge(v, facts(), { now: NOW })
  assert.equal(r.exitCode, 0, all(r).join('\n'))
  assert.equal(r.apps[0].lastCheck, at(1))
  assert.deepEqual(r.apps[0].recentUpdates, [`${at(30)} ghcr.io/o/it-tools:sha-1111111`])
  assert.equal(r.apps[0].lastUpdate, at(30))
  // ten minutes later with no new cycle: more than twice the interval
  const later = judge(v, facts(), { now: NOW + 10 * 60_000 })
  assert.equal(later.exitCode, 1)
  assert.ok(all(later).some((p) => p.startsWith(`it-tools: no check since ${at(1)}, more than twice the interval (2m) ago`)), all(later).join('\n'))
  // the interval comes from the controller's args
  const slow = view({ controller: { deployment: controller('quay.io/argoprojlabs/argocd-image-updater:v1.1.1', ['--interval', '15m']), pods: [], log } })
  assert.equal(judge(slow, facts(), { now: NOW + 10 * 60_000 }).exitCode, 0)
})

test('the log lines of the last cycle of one ImageUpdater, other CRs aside; durations as Go writes them', () => {
  const text = ['msg="Starting image update cycle, considering 1 application(s) for update" imageUpdater_name=a', 'msg="Could not get tags from registry: unauthorized" imageUpdater_name=a', 'msg="Processing results: applications=1 errors=1" imageUpdater_name=a', 'msg="Starting image update cycle, considering 1 application(s) for update" imageUpdater_name=b', 'msg="Processing results: applications=1 errors=0" imageUpdater_name=b'].join('\n')
  assert.equal(lastCycleLines(text, 'a')?.lines[1], 'msg="Could not get tags from registry: unauthorized" imageUpdater_name=a')
  assert.equal(lastCycleLines(text, 'b')?.lines.length, 2)
  assert.equal(parseDuration('1m30s'), 90_000)
  assert.equal(parseDuration('2h'), 7_200_000)
  assert.equal(controllerInterval(controller('x', ['--interval=5m']), undefined), '5m')
})

test('a missing pull Secret, an ExternalSecret ESO stopped refreshing, an expired token: each named with its fix', () => {
  const ref = (name: string, gitCreds: boolean): SecretRef => ({ namespace: 'argocd', name, usedBy: ['ImageUpdater argocd/it-tools'], gitCreds })
  const es = (name: string, refreshTime: string): KObj => ({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace: 'argocd' }, spec: { refreshInterval: '1h' }, status: { refreshTime, conditions: [{ type: 'Ready', status: 'True' }] } })
  const secrets = new Map([
    ['argocd/ghcr-pull-secret', { ref: ref('ghcr-pull-secret', false), secret: undefined, externalSecret: es('ghcr-pull-secret', at(5)) }],
    ['argocd/git-creds', { ref: ref('git-creds', true), secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: 'argocd' } }, externalSecret: es('git-creds', at(200)) }],
  ])
  const r = judge(view({ secrets }), facts({ github: { secret: 'Secret argocd/git-creds', status: 200, expiresAt: at(60) } }), { now: NOW })
  assert.equal(r.exitCode, 1)
  const text = all(r)
  assert.ok(text.some((p) => /^Secret argocd\/ghcr-pull-secret: the pull Secret argocd\/ghcr-pull-secret is missing/.test(p)), text.join('\n'))
  assert.ok(text.some((p) => /^Secret argocd\/git-creds: ExternalSecret argocd\/git-creds last refreshed the write-back Secret .* more than twice its refreshInterval \(1h\) ago/.test(p)), text.join('\n'))
  assert.ok(text.some((p) => /^GitHub token: the token in Secret argocd\/git-creds expired at/.test(p)), text.join('\n'))
})

test('an ImageUpdater outside the controller namespace (1.2 watches its own), no controller, and nothing at all', () => {
  const elsewhere = judge(view({ imageUpdaters: [iu({}, 'apps')], applications: [{ ...app, metadata: { ...app.metadata, namespace: 'apps' } }] }), facts(), { now: NOW })
  assert.ok(all(elsewhere).some((p) => /ImageUpdater apps\/it-tools is in namespace apps, but the controller \(argocd\/argocd-image-updater-controller\) watches only its own namespace/.test(p)), all(elsewhere).join('\n'))
  const none = judge(view({ controller: undefined }), facts(), { now: NOW })
  assert.ok(all(none).some((p) => /^controller: no Image Updater controller in the cluster/.test(p)))
  assert.equal(none.apps[0].verdict, 'not checked (controller)')
  const empty = judge(view({ imageUpdaters: [], applications: [], controller: undefined }), facts(), { now: NOW })
  assert.equal(empty.exitCode, 1)
  assert.match(formatStatus(empty, NOW), /no ImageUpdater in the cluster and no app onboarded by the setup/)
})

test('the ImageUpdater schema of each release: spec.namespace required on 1.0, dropped on 1.2; useAnnotations unknown on 1.0', () => {
  const spec = { applicationRefs: [{ namePattern: 'a', useAnnotations: true }] }
  const o = (s: unknown) => ({ apiVersion: 'x', kind: 'ImageUpdater', metadata: { name: 'a' }, spec: s }) as KObj
  assert.deepEqual(imageUpdaterSchemaProblems(o(spec), '1.0.2'), ['spec.namespace: required', 'spec.applicationRefs[0].images: required', 'spec.applicationRefs[0].useAnnotations: unknown field (the CRD does not declare it)'])
  assert.deepEqual(imageUpdaterSchemaProblems(o({ ...spec, namespace: 'argocd' }), '1.2.2'), ['spec.namespace: unknown field (the CRD does not declare it)'])
  assert.deepEqual(imageUpdaterSchemaProblems(o(spec), '1.2.0'), [], 'any 1.2 release is checked against 1.2.2\'s CRD')
  assert.deepEqual(imageUpdaterSchemaProblems(o(spec), '9.9.9'), [], 'no CRD bundled: no verdict')
})

test('the CLI: a cluster that does not answer is exit 2 with the reason (also in --json); --help is exit 0; a wrong option exit 2', { timeout: 120_000 }, async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { runSetup } = await import('./helpers.ts')
  const dir = mkdtempSync(join(tmpdir(), 'status-cli-'))
  try {
    const kubeconfig = join(dir, 'kubeconfig')
    // port 9 (discard) refuses connections on this host
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: not-a-real-token\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n', { mode: 0o600 })
    const env = { GITOPS_REPO_DIR: dir, STATE_DIR: join(dir, 'state'), KUBECONFIG: kubeconfig, KUBE_CONTEXT: 'x', GITHUB_API_URL: 'off' }
    const down = await runSetup([], env, 'scripts/status.ts')
    assert.equal(down.code, 2, down.stdout + down.stderr)
    assert.match(down.stderr, /^status: cannot tell: .*127\.0\.0\.1:9.*ECONNREFUSED/m)
    assert.match(down.stderr, /fix: /)
    const json = await runSetup(['--json'], env, 'scripts/status.ts')
    assert.equal(json.code, 2)
    assert.match(JSON.parse(json.stdout).cannotTell, /ECONNREFUSED/)
    const help = await runSetup(['--help'], env, 'scripts/status.ts')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Exit status: 0 every app is kept up to date, 1 a problem was found, 2 it cannot tell/)
    const wrong = await runSetup(['--jsn'], env, 'scripts/status.ts')
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /unknown option --jsn\n  fix: did you mean --json\?/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an onboarded app without ImageUpdater: a problem, unless --pause marked its ImageUpdater file (then a paused row and a note)', () => {
  const noIu = view({ imageUpdaters: [] })
  const missing = judge(noIu, facts({ onboarded: ['it-tools'] }), { now: NOW })
  assert.equal(missing.exitCode, 1)
  assert.ok(all(missing).some((p) => /^it-tools: Application argocd\/it-tools was onboarded by the setup, but no ImageUpdater selects it/.test(p)), all(missing).join('\n'))
  const gitImageUpdaters = new Map([['argocd/it-tools', { obj: iu(), file: 'apps/it-tools/image-updater.yaml', paused: true }]])
  const paused = judge(noIu, facts({ onboarded: ['it-tools'], gitImageUpdaters }), { now: NOW })
  assert.equal(paused.exitCode, 0, all(paused).join('\n'))
  assert.equal(paused.apps[0].verdict, 'paused')
  assert.ok(paused.notes.some((n) => /it-tools: paused \(apps\/it-tools\/image-updater\.yaml is marked paused.*--resume it-tools/.test(n)), paused.notes.join('\n'))
  // an app whose Application is gone with its ImageUpdater still says what the controller sees
  const gone = judge(view({ imageUpdaters: [], applications: [] }), facts({ onboarded: ['it-tools'] }), { now: NOW })
  assert.ok(all(gone).some((p) => /^it-tools: .*matches no Application for it-tools/.test(p)), all(gone).join('\n'))
})

test('write-back failing told by a Warning Event on the Application (no log line for it)', () => {
  const event: KObj = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'argocd' }, type: 'Warning', reason: 'WriteBackFailed', message: 'could not push to https://github.com/o/r.git: 403', involvedObject: { kind: 'Application', namespace: 'argocd', name: 'it-tools' } }
  const other: KObj = { ...event, metadata: { name: 'e2', namespace: 'argocd' }, involvedObject: { kind: 'Application', namespace: 'argocd', name: 'other' } }
  const ok = judge(view({ events: [other] }), facts(), { now: NOW })
  assert.ok(!all(ok).some((p) => /write-back/.test(p)), 'an Event on another app is not this one\'s')
  const r = judge(view({ events: [event, other] }), facts(), { now: NOW })
  assert.equal(r.exitCode, 1)
  assert.ok(all(r).some((p) => p === 'it-tools: write-back fails (Event WriteBackFailed: could not push to https://github.com/o/r.git: 403)'), all(r).join('\n'))
})
