// App-of-apps on the sandbox: a root Application (automated sync, prune, self-heal) manages the
// repo's Applications. The sandbox's Argo CD behaves like the real one (self-heal reverts a live
// patch to a child within seconds, the root creates children from a pushed commit), and the setup
// pauses the root around the move, restores it, and it-tools' Deployment keeps its uid.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { buildCorpusRepo } from '../sandbox/corpus/index.ts'
import { SAMPLE_REPO_URL } from '../sandbox/sample-repo.ts'
import { PAUSED_ANNOTATION } from '../src/cluster/app-of-apps.ts'
import { planDeploy, planPrePush } from '../src/cluster/deploy.ts'
import { planPublish } from '../src/publish.ts'
import { recursiveRoot } from '../sandbox/corpus/recursive-root.ts'
import { applyAll, stageDeploy } from '../scripts/terminal-latency.ts'
import { commitMessage, managedPaths } from '../tasks/07-commit-and-deploy.ts'
import { fixture, git, runSetup, until, withCluster } from './helpers.ts'

const ROOT_FILE = 'argocd/root.yaml'
const rootYaml = (automated: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: argocd/applications
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
${automated}`
const AUTOMATED = `  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`

const app = (sb: Sandbox, name: string) => sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name })

/**
 * The operator applied the root by hand once (the sandbox's seeder may have applied it from the repo
 * already, as it does every Application it finds: then this is the operator's own apply over it).
 */
function putRoot(sb: Sandbox, obj: any): void {
  const live = app(sb, 'root')
  if (!live) sb.store.create(obj, 'kubectl-client-side-apply')
  else sb.store.update({ ...live, ...obj, metadata: { ...live.metadata, ...obj.metadata, resourceVersion: undefined } }, 'kubectl-client-side-apply')
}

/** The root applied by hand; it then adopts the repo's Applications. */
async function applyRoot(sb: Sandbox, yaml: string): Promise<void> {
  putRoot(sb, parse(yaml))
  await until('root adopts personal-services', () => app(sb, 'personal-services')?.metadata.labels?.['app.kubernetes.io/instance'] === 'root')
  await until('root Synced', () => app(sb, 'root')?.status?.sync?.status === 'Synced')
}

test('sandbox: a root with self-heal reverts a live patch to a child within seconds and creates children from a pushed commit', { timeout: 60_000 }, async () => {
  const fx = fixture({ [ROOT_FILE]: rootYaml(AUTOMATED) })
  const cluster = await withCluster(fx)
  try {
    const sb = cluster.sandbox
    await applyRoot(sb, rootYaml(AUTOMATED))
    const ps = app(sb, 'personal-services')!
    sb.store.update({ ...ps, metadata: { ...ps.metadata, resourceVersion: undefined }, spec: { ...ps.spec, syncPolicy: { ...ps.spec.syncPolicy, automated: { prune: false, selfHeal: true } } } } as never, 'image-updater-setup')
    const started = Date.now()
    await until('self-heal reverts the pause', () => app(sb, 'personal-services')?.spec?.syncPolicy?.automated?.prune === true, 5_000)
    assert.ok(Date.now() - started < 5_000)
    // a pushed child is created by the root
    writeFileSync(join(fx.dir, 'argocd/applications/extra.yaml'), rootYaml('').replace('name: root', 'name: extra').replace('path: argocd/applications', 'path: k8s/helm/values'))
    git(fx.dir, 'add', '-A')
    git(fx.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'extra app')
    git(fx.dir, 'push', '-q', 'origin', 'main')
    sb.store.update({ ...app(sb, 'root')!, metadata: { ...app(sb, 'root')!.metadata, resourceVersion: undefined, annotations: { 'argocd.argoproj.io/refresh': 'normal' } } } as never, 'test')
    await until('root creates the pushed child', () => app(sb, 'extra')?.metadata.labels?.['app.kubernetes.io/instance'] === 'root')
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('sandbox: a self-managing root syncs its own manifest; a sync under way completes with what it started with, after a pause; a later reconcile of a paused root syncs nothing', { timeout: 60_000 }, async () => {
  const repo = buildCorpusRepo(recursiveRoot)
  const sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 10 })
  try {
    await sb.actors.settle()
    const release = sb.actors.faults.holdSync('root')
    const monitoring = app(sb, 'monitoring')!
    sb.store.update({ ...monitoring, metadata: { ...monitoring.metadata, resourceVersion: undefined, labels: {} } } as never, 'kubectl-edit')
    // self-heal starts a sync, shown as Argo CD shows one under way
    await until('the root sync under way', () => app(sb, 'root')?.status?.operationState?.phase === 'Running')
    assert.deepEqual(app(sb, 'root')!.operation.initiatedBy, { automated: true })
    // the pause lands while it runs (as the setup's merge patches do)
    const pause = (name: string, automated: unknown) => {
      const a = app(sb, name)!
      sb.store.update({ ...a, metadata: { ...a.metadata, resourceVersion: undefined }, spec: { ...a.spec, syncPolicy: { ...a.spec.syncPolicy, automated } } } as never, 'image-updater-setup')
    }
    pause('root', undefined)
    pause('personal-services', { prune: false, selfHeal: true })
    // reconciles go on during the operation (a refresh request is handled) but start no other sync
    const root = app(sb, 'root')!
    sb.store.update({ ...root, metadata: { ...root.metadata, resourceVersion: undefined, annotations: { 'argocd.argoproj.io/refresh': 'normal' } } } as never, 'test')
    await until('the refresh handled', () => app(sb, 'root')?.metadata.annotations?.['argocd.argoproj.io/refresh'] === undefined)
    assert.equal(app(sb, 'root')!.status.operationState.phase, 'Running')
    assert.ok(app(sb, 'root')!.operation)
    // released, it completes as it started: root.yaml and personal-services.yaml applied as in git
    release()
    await until('the root sync done', () => app(sb, 'root')?.status?.operationState?.phase === 'Succeeded' && !app(sb, 'root')?.operation)
    assert.deepEqual(app(sb, 'root')!.spec.syncPolicy.automated, { prune: true, selfHeal: true }, 'the root re-applied its own manifest')
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, true, "and personal-services' auto-prune")
    assert.equal(app(sb, 'monitoring')!.metadata.labels?.['app.kubernetes.io/instance'], 'root')
    // paused again with nothing under way: reconciles that start now leave it and its children alone
    pause('root', undefined)
    pause('personal-services', { prune: false, selfHeal: true })
    await sb.actors.settle()
    assert.equal(app(sb, 'root')!.spec.syncPolicy.automated, undefined)
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, false)
  } finally {
    await sb.stop()
    rmSync(repo.root, { recursive: true, force: true })
  }
})

test('app-of-apps end to end: dry-run says the root will be paused; the run pauses it, moves it-tools (same uid) and restores it', { timeout: 240_000 }, async () => {
  const fx = fixture({ [ROOT_FILE]: rootYaml(AUTOMATED) })
  const cluster = await withCluster(fx)
  try {
    const sb = cluster.sandbox
    await applyRoot(sb, rootYaml(AUTOMATED))
    const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
    const uid = sb.store.get(depRef)!.metadata.uid
    const env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' }

    const dry = await runSetup(['--dry-run'], env)
    assert.equal(dry.code, 2, dry.stdout + dry.stderr)
    assert.match(dry.stdout, /would pause the automated sync of Application argocd\/root \(automated sync with self-heal and prune; manages [^)]*personal-services[^)]*\) until the move is done: the move runs with the automated sync of root paused/)
    assert.match(dry.stdout, /would restore the automated sync of Application argocd\/root .* and wait until it is synced at the pushed commit/)
    assert.deepEqual(app(sb, 'root')!.spec.syncPolicy.automated, { prune: true, selfHeal: true }, 'dry-run changed nothing')
    // task 8 before the pending changes: its checks wait for them, nothing has failed
    assert.match(dry.stdout, /not yet controller Deployment available: not found/)
    assert.match(dry.stdout, /PASS Application personal-services Synced and Healthy/)
    assert.doesNotMatch(dry.stdout, /FAIL |hint: /)
    assert.match(dry.stdout, /verify once the changes of task\(s\) 0, 1, 2, 3, 4, 5, 6, 7 are made: \d+ of \d+ checks do not pass yet/)

    const run = await runSetup([], env)
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.equal(sb.store.get(depRef)?.metadata.uid, uid, "it-tools' Deployment kept its uid")
    const root = app(sb, 'root')!
    assert.deepEqual(root.spec.syncPolicy.automated, { prune: true, selfHeal: true }, 'automated sync restored as it was')
    assert.equal(root.metadata.annotations?.[PAUSED_ANNOTATION], undefined)
    // task 9 pushed one more commit: the restored root follows it on its own
    const head = git(fx.dir, 'rev-parse', 'HEAD')
    await until('the root synced at HEAD', () => app(sb, 'root')?.status?.sync?.revision === head && app(sb, 'root')?.status?.sync?.status === 'Synced')
    assert.equal(app(sb, 'it-tools')?.metadata.labels?.['app.kubernetes.io/instance'], 'root', 'the root tracks the new child')
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, true)
    assert.match(run.stdout, /paused the automated sync of Application argocd\/root/)
    assert.match(run.stdout, /restored the automated sync of Application argocd\/root/)

    // a rerun is up to date and leaves the root alone
    sb.resetStats()
    const again = await runSetup([], env)
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.equal(sb.stats().mutatingTotal, 0, JSON.stringify(sb.stats().mutating))
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('a parent without automated sync is not paused: the children are deployed in order, then the parent is synced at the pushed commit', { timeout: 120_000 }, async () => {
  const s = await stageDeploy({
    files: { [ROOT_FILE]: rootYaml('') },
    // applied by hand once and synced by hand (no automated sync)
    before: async (sb) => {
      putRoot(sb, { ...parse(rootYaml('')), operation: { sync: {}, initiatedBy: { username: 'admin' } } })
      await until('root adopts personal-services', () => app(sb, 'personal-services')?.metadata.labels?.['app.kubernetes.io/instance'] === 'root')
    },
  })
  try {
    const changes = await planDeploy(s.ctx)
    assert.ok(!changes.some((c) => /pause the automated sync/.test(c.summary)))
    const last = changes.at(-1)!.summary
    assert.match(last, /^sync Application argocd\/root \(manual sync; manages [^)]*\) once the children are done: root syncs manually: the children are deployed in order, then the parent is synced at the pushed commit$/)
    await applyAll(s.ctx, changes)
    const root = app(s.sandbox, 'root')!
    assert.equal(root.spec.syncPolicy, undefined, 'the parent stays manual')
    assert.equal(root.status.sync.revision, s.ctx.pushedRevision)
    assert.equal(app(s.sandbox, 'it-tools')?.metadata.labels?.['app.kubernetes.io/instance'], 'root', 'the parent tracks the new child')
  } finally {
    await s.cleanup()
  }
})

test('a self-managing root (recursive-root) whose sync is under way when task 7 pauses it: the sync lands after the pauses, the setup puts them back before the push, and it-tools keeps its uid', { timeout: 180_000 }, async () => {
  const s = await stageDeploy({ corpus: recursiveRoot, stopAt: 'pre-push' })
  const sb = s.sandbox
  const unwatch: (() => void)[] = []
  try {
    const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
    const uid = sb.store.get(depRef)!.metadata.uid
    // A sync of the root starts (self-heal of a child Application's label) and stays under way ...
    const release = sb.actors.faults.holdSync('root')
    const monitoring = app(sb, 'monitoring')!
    sb.store.update({ ...monitoring, metadata: { ...monitoring.metadata, resourceVersion: undefined, labels: {} } } as never, 'kubectl-edit')
    await until('the root sync under way', () => app(sb, 'root')?.status?.operationState?.phase === 'Running' && app(sb, 'root')?.operation)
    // ... until both pauses have landed: then it completes with what it started with, re-applying
    // root.yaml (automated sync back on) and personal-services.yaml (auto-prune back on).
    let landed = false
    unwatch.push(
      sb.store.watch((e) => {
        if (!landed && e.object.kind === 'Application' && e.object.metadata.name === 'personal-services' && e.object.spec?.syncPolicy?.automated?.prune === false && !app(sb, 'root')?.spec?.syncPolicy?.automated) {
          landed = true
          release()
        }
      }),
    )
    await applyAll(s.ctx, await planPrePush(s.ctx, { pushPending: true }))
    assert.ok(landed, 'the held root sync was released after both pauses')
    assert.notEqual(app(sb, 'root')!.status.operationState.phase, 'Running', 'the pre-push waited for the root sync under way')
    assert.equal(app(sb, 'root')!.spec.syncPolicy?.automated, undefined, "the root's automated sync is paused when the pre-push is done")
    assert.deepEqual(JSON.parse(app(sb, 'root')!.metadata.annotations![PAUSED_ANNOTATION]), { prune: true, selfHeal: true })
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, false, "personal-services' auto-prune is paused when the pre-push is done")
    assert.ok(s.lines.some((l) => /^paused the automated sync of Application argocd\/root again \(/.test(l)), s.lines.join('\n'))
    // and it stays so: nothing that started before the pause is left to revert it
    await sb.actors.settle()
    assert.equal(app(sb, 'root')!.spec.syncPolicy?.automated, undefined)
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, false)

    await applyAll(s.ctx, await planPublish(s.ctx, managedPaths(s.ctx), commitMessage(s.ctx)))
    await applyAll(s.ctx, await planDeploy(s.ctx))
    assert.equal(sb.store.get(depRef)?.metadata.uid, uid, "it-tools' Deployment kept its uid")
    assert.deepEqual(app(sb, 'root')!.spec.syncPolicy.automated, { prune: true, selfHeal: true }, 'the root restored as it was')
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, true)
  } finally {
    for (const u of unwatch) u()
    await s.cleanup()
  }
})

test('a sync of the paused root that never ends stops task 7 before the push, naming the operation and how to end it', { timeout: 120_000 }, async () => {
  const s = await stageDeploy({ corpus: recursiveRoot, stopAt: 'pre-push', timeoutSeconds: 5 })
  const sb = s.sandbox
  try {
    sb.actors.faults.holdSync('root')
    const monitoring = app(sb, 'monitoring')!
    sb.store.update({ ...monitoring, metadata: { ...monitoring.metadata, resourceVersion: undefined, labels: {} } } as never, 'kubectl-edit')
    await until('the root sync under way', () => app(sb, 'root')?.status?.operationState?.phase === 'Running')
    const head = git(s.repo.origin, 'rev-parse', 'main')
    const started = Date.now()
    await assert.rejects(applyAll(s.ctx, await planPrePush(s.ctx, { pushPending: true })), (err: Error & { fix: string }) => {
      assert.match(err.message, /^Application argocd\/root still has a sync operation under way after 5s \(Running since \S+: one or more tasks are running\): one that started before the pause completes with the sync policy it started with and can undo the pause, so the setup stops before its push$/)
      // a progress line while it waited
      assert.ok(s.lines.some((l) => /^waiting for Application argocd\/root with no reconcile or sync left from before the pause \(\d+s of 5s\): a sync operation is under way \(Running since /.test(l)), s.lines.join('\n'))
      assert.match(err.fix, /kubectl -n argocd get application root -o jsonpath='\{\.status\.operationState\.phase\}'.*argocd app terminate-op root\); then rerun: npx tsx scripts\/run\.ts --from 7$/)
      return true
    })
    assert.ok(Date.now() - started < 20_000)
    assert.equal(git(s.repo.origin, 'rev-parse', 'main'), head, 'nothing pushed')
    // the pauses stay, recorded, for the rerun to hold and restore
    assert.equal(app(sb, 'root')!.spec.syncPolicy?.automated, undefined)
    assert.ok(app(sb, 'root')!.metadata.annotations?.[PAUSED_ANNOTATION])
  } finally {
    await s.cleanup()
  }
})

test('a grandparent (root -> apps -> personal-services, both automated): the run pauses both ancestors, moves it-tools (same uid) and restores both', { timeout: 240_000 }, async () => {
  const grandRoot = rootYaml(AUTOMATED).replace('path: argocd/applications', 'path: argocd/app-of-apps')
  const apps = rootYaml(AUTOMATED).replace('name: root', 'name: apps')
  const fx = fixture({ [ROOT_FILE]: grandRoot, 'argocd/app-of-apps/apps.yaml': apps })
  const cluster = await withCluster(fx)
  try {
    const sb = cluster.sandbox
    putRoot(sb, parse(grandRoot))
    await until('root adopts apps', () => app(sb, 'apps')?.metadata.labels?.['app.kubernetes.io/instance'] === 'root')
    await until('apps adopts personal-services', () => app(sb, 'personal-services')?.metadata.labels?.['app.kubernetes.io/instance'] === 'apps')
    await until('both Synced', () => app(sb, 'root')?.status?.sync?.status === 'Synced' && app(sb, 'apps')?.status?.sync?.status === 'Synced')
    const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
    const uid = sb.store.get(depRef)!.metadata.uid
    // the pauses, as they happen: both ancestors were without automated sync at some point of the run
    const paused = new Set<string>()
    const unwatch = sb.store.watch((e) => {
      const o = e.object
      if (o.kind === 'Application' && ['root', 'apps'].includes(o.metadata.name) && !o.spec?.syncPolicy?.automated && o.metadata.annotations?.[PAUSED_ANNOTATION]) paused.add(o.metadata.name)
    })
    const env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' }
    const run = await runSetup([], env)
    unwatch()
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.deepEqual([...paused].sort(), ['apps', 'root'], 'both ancestors were paused during the run')
    assert.match(run.stdout, /paused the automated sync of Application argocd\/root/)
    assert.match(run.stdout, /paused the automated sync of Application argocd\/apps/)
    assert.match(run.stdout, /restored the automated sync of Application argocd\/apps/)
    assert.match(run.stdout, /restored the automated sync of Application argocd\/root/)
    assert.equal(sb.store.get(depRef)?.metadata.uid, uid, "it-tools' Deployment kept its uid")
    for (const name of ['root', 'apps']) {
      const a = app(sb, name)!
      assert.deepEqual(a.spec.syncPolicy.automated, { prune: true, selfHeal: true }, `${name}: automated sync restored as it was`)
      assert.equal(a.metadata.annotations?.[PAUSED_ANNOTATION], undefined, `${name}: no pause left`)
    }
    assert.equal(app(sb, 'personal-services')!.spec.syncPolicy.automated.prune, true)
    // the new child is tracked by its parent, which the grandparent still tracks
    const head = git(fx.dir, 'rev-parse', 'HEAD')
    await until('apps synced at HEAD', () => app(sb, 'apps')?.status?.sync?.revision === head && app(sb, 'apps')?.status?.sync?.status === 'Synced')
    assert.equal(app(sb, 'it-tools')?.metadata.labels?.['app.kubernetes.io/instance'], 'apps')
    assert.equal(app(sb, 'apps')?.metadata.labels?.['app.kubernetes.io/instance'], 'root')
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})
