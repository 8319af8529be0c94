// Cluster failures the setup must stop on with a clear message instead of hanging or calling it
// done: an ExternalSecret that never gets Ready (stopped at once: its store is not valid), and an
// Application whose sync fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sampleFiles } from '../sandbox/sample-repo.ts'
import { fixture, runSetup, withCluster } from './helpers.ts'

test('an ExternalSecret that never gets Ready (its store is not valid) stops the run at once, long before the timeout, with the reason', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    // ESO can no longer authenticate to Vault: every ExternalSecret stays not Ready
    cluster.sandbox.store.delete({ apiVersion: 'v1', kind: 'Secret', namespace: 'external-secrets', name: 'vault-token' })
    const started = Date.now()
    const run = await runSetup([], { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '300' })
    assert.equal(run.code, 1, run.stdout + run.stderr)
    assert.ok(Date.now() - started < 150_000, 'stopped on the state, not at the 300 s timeout')
    assert.doesNotMatch(run.stderr, /timed out/)
    assert.match(run.stderr, /Application argocd\/vault-eso will not become healthy: ExternalSecret argocd\/\S+ is Ready=False \(SecretSyncedError\)/)
    assert.match(run.stderr, /its ClusterSecretStore vault-backend is not valid/)
    assert.match(run.stderr, /fix: fix the store first: kubectl describe clustersecretstore vault-backend/)
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
