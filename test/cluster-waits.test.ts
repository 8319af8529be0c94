// Task 7's waits on the sandbox, one test per rule: a resource that was broken before the setup and
// that the setup does not touch is a warning; a resource that was Healthy and degrades fails the
// run; a state of ours that waiting will not clear fails it within seconds with the cause and the
// fix; a timeout lists the last state of what it waited on; progress lines come only on a change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planDeploy } from '../src/cluster/deploy.ts'
import { ourExternalSecrets } from '../src/cluster/our-resources.ts'
import { applyAll, measureTerminal, stageDeploy, TERMINAL_CASES } from '../scripts/terminal-latency.ts'
import type { Sandbox } from '../sandbox/index.ts'
import { fixture, runSetup, withCluster } from './helpers.ts'
import { StateStore } from '../src/state.ts'
import { sampleFiles } from '../sandbox/sample-repo.ts'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CLOUDFLARE_KEY = 'secret/homelab/cloudflare'
const caseNamed = (re: RegExp) => TERMINAL_CASES.find((c) => re.test(c.name))!

/** Another app's ExternalSecret loses its Vault key; force-sync makes ESO look now (refreshInterval is 1h). */
function breakCloudflare(sb: Sandbox): void {
  sb.actors.vault.remove(CLOUDFLARE_KEY)
  const ref = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'external-secrets', name: 'cloudflare-api-token' }
  const es = sb.store.get(ref)!
  sb.store.update({ ...es, metadata: { ...es.metadata, resourceVersion: undefined, annotations: { ...(es.metadata.annotations ?? {}), 'force-sync': String(Date.now()) } } } as never, 'test')
}

test('an ExternalSecret of another app Degraded before the run: the whole run succeeds and a warning names it with its message', { timeout: 150_000 }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    breakCloudflare(cluster.sandbox)
    const run = await runSetup([], { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' })
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /Done: /)
    // printed after the renderer, so a TTY user sees it too
    // Argo CD shows ESO's condition ("could not get secret data from provider"); the cause is ESO's Event
    assert.match(run.stderr, /\n! ExternalSecret external-secrets\/cloudflare-api-token in Application argocd\/vault-eso was already Degraded before the setup and the setup did not change it: Degraded \(could not get secret data from provider\); ESO says: ".*Secret does not exist"\n/)
    assert.equal(run.stderr.match(/cloudflare-api-token/g)?.length, 1, 'one warning line, whichever task saw it')
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('a resource that was Healthy before the setup and degrades during it fails the run, naming it', { timeout: 90_000 }, async () => {
  const s = await stageDeploy()
  try {
    const changes = await planDeploy(s.ctx) // the snapshot: cloudflare-api-token Healthy
    breakCloudflare(s.sandbox)
    await assert.rejects(applyAll(s.ctx, changes), (err: Error & { fix: string }) => {
      assert.match(err.message, /ExternalSecret external-secrets\/cloudflare-api-token in Application argocd\/vault-eso was Healthy before the setup and is Degraded now: "could not get secret data from provider"; ESO says: ".*Secret does not exist"/)
      assert.match(err.fix, /kubectl -n argocd describe application vault-eso/)
      return true
    })
  } finally {
    await s.cleanup()
  }
})

test('one of our ExternalSecrets degrading (Vault key missing) fails within seconds with the cause and the fix', { timeout: 90_000 }, async () => {
  const r = await measureTerminal(caseNamed(/Vault key missing/))
  assert.ok(r.afterAppearMs < 10_000, `failed ${r.afterAppearMs} ms after the state appeared`)
  assert.match(r.message, /ExternalSecret argocd\/\S+ is Ready=False \(SecretSyncedError\): "could not get secret data from provider"; ESO says: ".*Secret does not exist"/)
  assert.match(r.fix, /npx tsx scripts\/run\.ts --only 1/)
})

test('a pull error on the new Image Updater pod fails within seconds, naming the pod and the image', { timeout: 90_000 }, async () => {
  const r = await measureTerminal(caseNamed(/ImagePullBackOff/))
  assert.ok(r.afterAppearMs < 10_000, `failed ${r.afterAppearMs} ms after the state appeared`)
  assert.match(r.message, /pod argocd\/argocd-image-updater-controller-\S+ of Deployment argocd\/argocd-image-updater-controller is in ImagePullBackOff: container \S+: "Back-off pulling image/)
  assert.match(r.fix, /kubectl -n argocd describe pod argocd-image-updater-controller-/)
})

test('a sync operation that fails stops the deploy at once with Argo CD\'s message', { timeout: 90_000 }, async () => {
  const r = await measureTerminal(caseNamed(/sync operation Failed/))
  assert.ok(r.afterAppearMs < 10_000, `failed ${r.afterAppearMs} ms after the state appeared`)
  assert.match(r.message, /Application argocd\/it-tools: sync operation Failed: "one or more objects failed to apply, reason: admission webhook/)
  assert.match(r.fix, /describe application it-tools/)
})

test('a wait that times out lists the last state of each resource it waited on; progress lines only on a change', { timeout: 90_000 }, async () => {
  const s = await stageDeploy({ timeoutSeconds: 6 })
  try {
    // a pod that keeps creating its container: not terminal, so the wait runs to its limit
    s.sandbox.actors.faults.podWaiting('argocd', 'argocd-image-updater-controller', 'ContainerCreating')
    const started = Date.now()
    await assert.rejects(applyAll(s.ctx, await planDeploy(s.ctx)), (err: Error & { fix: string }) => {
      assert.match(err.message, /^timed out after 6s waiting for Application argocd\/argocd-image-updater synced and healthy at [0-9a-f]{7}; last state of what it waited on:\n/)
      assert.match(err.message, /\n {4}- Deployment argocd\/argocd-image-updater-controller: Progressing \(Waiting for rollout to finish: 0 of 1 updated replicas are available\.\.\.\) \[added by the setup\]/)
      assert.match(err.fix, /describe application argocd-image-updater/)
      return true
    })
    assert.ok(Date.now() - started < 30_000)
    const progress = s.lines.filter((l) => l.startsWith('waiting for Application argocd/argocd-image-updater'))
    assert.ok(progress.length >= 1, s.lines.join('\n'))
    assert.match(progress.at(-1)!, /\(\d+s of 6s\): Deployment argocd\/argocd-image-updater-controller: Progressing/)
    // one line per reason change, at most one every 3 s: never a flood over a 6 s wait
    assert.ok(progress.length <= 3, progress.join('\n'))
  } finally {
    await s.cleanup()
  }
})

test('a run stopped mid-wait in task 7 and resumed judges the move against the uids saved before the push: a Deployment recreated meanwhile fails the move', { timeout: 240_000 }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const sb = cluster.sandbox
    const env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' }
    // the first run pushes, then it-tools' sync fails: the run stops before it-tools adopted anything
    sb.actors.faults.failSync('it-tools', 'one or more objects failed to apply, reason: admission webhook "policy.example.com" denied the request')
    const first = await runSetup([], env)
    assert.equal(first.code, 1, first.stdout + first.stderr)
    assert.match(first.stderr, /Application argocd\/it-tools: sync operation Failed/)
    // meanwhile the Deployment is deleted and created again (new uid), as a person or a tool might
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
    const old = sb.store.get(ref)!
    sb.store.delete(ref)
    const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, generation: _gen, managedFields: _mf, ...meta } = old.metadata as Record<string, unknown>
    sb.store.create({ ...old, metadata: meta, status: undefined } as never)
    const recreated = String(sb.store.get(ref)!.metadata.uid)
    assert.notEqual(recreated, String(old.metadata.uid))
    // task 8 alone now (on a copy of the saved progress, so the rerun below starts from the same
    // state): the move is still pending, judged against the uid saved before the push
    const stateCopy = mkdtempSync(join(tmpdir(), 'pending-move-'))
    try {
      cpSync(fx.stateDir, stateCopy, { recursive: true })
      const pending = await runSetup(['--only', '8'], { ...env, STATE_DIR: stateCopy })
      assert.equal(pending.code, 1, pending.stdout + pending.stderr)
      assert.match(pending.stdout + pending.stderr, new RegExp(`Deployment it-tools was recreated during the move \\(uid ${old.metadata.uid} before task 7's push at \\S+, ${recreated} now\\)`))
    } finally {
      rmSync(stateCopy, { recursive: true, force: true })
    }
    sb.actors.faults.failSync('it-tools', undefined)
    // the rerun must not take the recreated Deployment as the state before the move
    const rerun = await runSetup([], env)
    assert.equal(rerun.code, 1, rerun.stdout + rerun.stderr)
    assert.match(rerun.stdout + rerun.stderr, /judged against the snapshot saved before the push/)
    assert.match(rerun.stderr, /Deployment personal-services\/it-tools was recreated \(new uid\) while it-tools took it over/)
    assert.doesNotMatch(rerun.stdout, /Done: /)
    // and task 8 judges the move by the same record
    const verify = await runSetup(['--only', '8'], env)
    assert.equal(verify.code, 1, verify.stdout + verify.stderr)
    assert.match(verify.stdout + verify.stderr, new RegExp(`Deployment it-tools was recreated during the move \\(task 7, \\S+: uid ${old.metadata.uid} → ${recreated}\\)`))
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test("an unused local-path claim keeps personal-services Progressing (k3s binds on the first Pod): the run warns, does not wait for it, and task 8 says why it is not Healthy", { timeout: 180_000 }, async () => {
  // a claim for a backup CronJob that has not run yet: Pending until a Pod mounts it
  const claim = '\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: homepage-backups\n  namespace: homepage\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n'
  const fx = fixture({ 'k8s/helm/manifests/homepage.yaml': sampleFiles['k8s/helm/manifests/homepage.yaml'] + claim })
  const cluster = await withCluster(fx)
  try {
    const env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' }
    const started = Date.now()
    const first = await runSetup([], env)
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.ok(Date.now() - started < 45_000, 'not waited out')
    const warning = /\n! PersistentVolumeClaim homepage\/homepage-backups in Application argocd\/personal-services was already Progressing before the setup and the setup did not change it: Progressing\n/
    assert.match(first.stderr, warning)
    assert.match(first.stdout, /PASS Application personal-services Synced and Healthy: at \w{7} or later; Progressing only for what was so before the setup and left alone by it: PersistentVolumeClaim homepage\/homepage-backups\n/)
    const ps = cluster.sandbox.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'personal-services' })!
    assert.deepEqual([ps.status.sync.status, ps.status.health.status], ['Synced', 'Progressing'])
    const rerun = await runSetup([], env)
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    assert.match(rerun.stdout, /Done: 0 task\(s\) changed something, 1 verified, 9 were already up to date/)
    assert.match(rerun.stderr, warning)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('a push origin refuses leaves no move record saved for it; the rerun pushes, saves and judges the move afresh', { timeout: 180_000 }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '60' }
    const hook = join(fx.origin, 'hooks', 'pre-receive')
    writeFileSync(hook, '#!/bin/sh\necho "refusing pushes for a test" >&2\nexit 1\n', { mode: 0o755 })
    const first = await runSetup([], env)
    assert.equal(first.code, 1, first.stdout + first.stderr)
    assert.match(first.stderr, /refusing pushes for a test/)
    const key = 'Deployment personal-services/it-tools'
    assert.equal(new StateStore(fx.stateDir, fx.dir).move(key), undefined, 'the uids saved before the push were taken back')
    rmSync(hook)
    const rerun = await runSetup([], env)
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    const move = new StateStore(fx.stateDir, fx.dir).move(key)
    assert.ok(move && !move.pending && move.before === move.after, JSON.stringify(move))
    assert.match(rerun.stdout, new RegExp(`PASS it-tools Deployment survived the move: Deployment it-tools kept uid ${move.before}`))
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test("one of our ExternalSecrets failing in a whole run (Vault key gone): the run stops within seconds, long before SYNC_TIMEOUT_SECONDS, with the cause from ESO's Event and a fix line", { timeout: 180_000 }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const sb = cluster.sandbox
    // task 1 puts the token into Vault; once task 7 applies our ExternalSecrets, the key is gone
    // (removed before ESO first reads it): ESO's condition says only "could not get secret data
    // from provider", its Warning Event says why
    let removedAt: number | undefined
    const unwatch = sb.store.watch((e) => {
      if (removedAt === undefined && e.type === 'ADDED' && e.object.kind === 'ExternalSecret' && e.object.metadata.namespace === 'argocd') {
        sb.actors.vault.remove('secret/homelab/github')
        removedAt = Date.now()
      }
    })
    const run = await runSetup([], { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '120' })
    const ended = Date.now()
    unwatch()
    assert.equal(run.code, 1, run.stdout + run.stderr)
    assert.ok(removedAt, 'our ExternalSecret was applied')
    assert.ok(ended - removedAt < 30_000, `stopped ${ended - removedAt} ms after the key went, not at the 120 s timeout`)
    assert.doesNotMatch(run.stderr, /timed out/)
    assert.match(run.stderr, /Application argocd\/vault-eso will not become healthy: ExternalSecret argocd\/\S+ is Ready=False \(SecretSyncedError\): "could not get secret data from provider"; ESO says: "error processing spec\.data\[0\] \(key: secret\/homelab\/github\), err: Secret does not exist"/)
    assert.match(run.stderr, /\n {2}fix: put the key it reads into Vault \(task 1 writes secret\/homelab\/github: cd \S+ && npx tsx scripts\/run\.ts --only 1/)
    // the Event is there for a person too, as kubectl describe externalsecret lists it
    const events = sb.store.list('v1', 'Event', 'argocd').filter((e) => e.involvedObject?.kind === 'ExternalSecret' && e.type === 'Warning')
    assert.ok(events.some((e) => e.reason === 'UpdateFailed' && /Secret does not exist/.test(e.message)), JSON.stringify(events))
    assert.doesNotMatch(run.stdout, /Done: /)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test("a waited-on ExternalSecret of ours that is not Ready for a cause not known to be final: the progress line and the timeout name the cause from ESO's Event", { timeout: 90_000 }, async () => {
  const s = await stageDeploy({ timeoutSeconds: 6 })
  try {
    // the target Secret of our pull-secret ExternalSecret exists already, owned by something else
    const [es] = await ourExternalSecrets(s.ctx)
    s.sandbox.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: es.secretName, namespace: es.namespace, ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Vaulted', name: 'other', uid: 'uid-of-another-owner', controller: true }] }, type: 'Opaque', data: {} } as never)
    await assert.rejects(applyAll(s.ctx, await planDeploy(s.ctx)), (err: Error) => {
      assert.match(err.message, /^timed out after 6s waiting for Application argocd\/vault-eso/)
      assert.match(err.message, new RegExp(`\\n {4}- ExternalSecret ${es.namespace}/${es.name}: Degraded \\(ESO says: "target is owned by another ExternalSecret"\\) \\[added by the setup\\]`))
      return true
    })
    const progress = s.lines.filter((l) => l.startsWith('waiting for Application argocd/vault-eso'))
    assert.ok(progress.some((l) => /ESO says: "target is owned by another ExternalSecret"/.test(l)), s.lines.join('\n'))
  } finally {
    await s.cleanup()
  }
})
