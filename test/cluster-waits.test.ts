// Task 7's waits on the sandbox, one test per rule: a resource that was broken before the setup and
// that the setup does not touch is a warning; a resource that was Healthy and degrades fails the
// run; a state of ours that waiting will not clear fails it within seconds with the cause and the
// fix; a timeout lists the last state of what it waited on; progress lines come only on a change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planDeploy } from '../src/cluster/deploy.ts'
import { applyAll, measureTerminal, stageDeploy, TERMINAL_CASES } from '../scripts/terminal-latency.ts'
import type { Sandbox } from '../sandbox/index.ts'
import { fixture, runSetup, withCluster } from './helpers.ts'

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
    assert.match(run.stderr, /\n! ExternalSecret external-secrets\/cloudflare-api-token in Application argocd\/vault-eso was already Degraded before the setup and the setup did not change it: Degraded \(.*Secret does not exist\)/)
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
      assert.match(err.message, /ExternalSecret external-secrets\/cloudflare-api-token in Application argocd\/vault-eso was Healthy before the setup and is Degraded now: ".*Secret does not exist"/)
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
  assert.match(r.message, /ExternalSecret argocd\/\S+ is Ready=False \(SecretSyncedError\): ".*Secret does not exist"/)
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
