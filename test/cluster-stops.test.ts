// Cluster failures the setup must stop on with a clear message instead of hanging or calling it
// done: an ExternalSecret that never gets Ready, and an Application whose sync fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sampleFiles } from '../sandbox/sample-repo.ts'
import { fixture, runSetup, withCluster } from './helpers.ts'

test('an ExternalSecret that never gets Ready stops the run with the reason, within the timeout', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    // ESO can no longer authenticate to Vault: every ExternalSecret stays not Ready
    cluster.sandbox.store.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'external-secrets', name: 'vault-token' })
    const started = Date.now()
    const run = await runSetup([], { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '5' })
    assert.equal(run.code, 1, run.stdout + run.stderr)
    // Far below the 300 s default it would wait when hung; the run's own work takes up to a minute on a busy machine.
    assert.ok(Date.now() - started < 120_000, 'stopped near the timeout, not hung')
    assert.match(run.stderr, /vault-eso/)
    assert.match(run.stderr, /Degraded|not Ready|SecretSyncedError/)
    assert.match(run.stderr, /fix: /)
    assert.doesNotMatch(run.stdout, /Done: /)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('an Application whose sync fails stops the run with Argo CD\'s message', async () => {
  const broken = sampleFiles['k8s/helm/manifests/it-tools.yaml'].replace('  namespace: personal-services\n  labels:\n    app: it-tools\n    app.kubernetes.io', '  namespace: nowhere\n  labels:\n    app: it-tools\n    app.kubernetes.io')
  assert.notEqual(broken, sampleFiles['k8s/helm/manifests/it-tools.yaml'])
  const fx = fixture({ 'k8s/helm/manifests/it-tools.yaml': broken })
  const cluster = await withCluster(fx)
  try {
    // The sandbox seeds every namespace the repo's resources live in; this homelab has lost this one.
    cluster.sandbox.store.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'nowhere' })
    const run = await runSetup([], { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '10' })
    assert.equal(run.code, 1, run.stdout + run.stderr)
    assert.match(run.stderr, /it-tools/)
    assert.match(run.stderr, /nowhere/)
    assert.match(run.stderr, /fix: /)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})
