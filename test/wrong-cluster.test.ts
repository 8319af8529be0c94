// Two sandboxes in one kubeconfig: KUBE_CONTEXT selects the cluster whatever the current context is,
// --yes never widens what the setup may touch, and with KUBE_CONTEXT empty a later run refuses a
// cluster other than the one the first run recorded, unless --switch-cluster says it is meant.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { fixture, runSetup, withCluster } from './helpers.ts'

/** One kubeconfig holding both sandboxes: `sandbox` (A) and `homelab-prod` (B), current = B. */
function mergedKubeconfig(dir: string, a: string, b: string): string {
  const ka = parse(readFileSync(a, 'utf8'))
  const kb = parse(readFileSync(b, 'utf8'))
  const rename = (items: { name: string }[], to: string) => items.map((i) => ({ ...i, name: to }))
  const prod = {
    clusters: rename(kb.clusters, 'homelab-prod'),
    users: rename(kb.users, 'homelab-prod'),
    contexts: kb.contexts.map((c: { context: object }) => ({ name: 'homelab-prod', context: { ...c.context, cluster: 'homelab-prod', user: 'homelab-prod' } })),
  }
  const merged = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [...ka.clusters, ...prod.clusters],
    users: [...ka.users, ...prod.users],
    contexts: [...ka.contexts, ...prod.contexts],
    'current-context': 'homelab-prod',
  }
  const file = join(dir, 'kubeconfig-two-clusters')
  writeFileSync(file, stringify(merged), { mode: 0o600 })
  return file
}

test('KUBE_CONTEXT selects the cluster; an empty one keeps to the recorded cluster unless --switch-cluster', { timeout: 400_000 }, async () => {
  const fx = fixture()
  const a = await withCluster(fx)
  const b = await withCluster(fx)
  try {
    const kubeconfig = mergedKubeconfig(fx.stateDir, a.sandbox.kubeconfigPath, b.sandbox.kubeconfigPath)
    const env = { ...fx.env, ...a.env, KUBECONFIG: kubeconfig }
    b.sandbox.resetStats()

    // --yes with KUBE_CONTEXT=sandbox while the current context is homelab-prod: A, and only A
    const first = await runSetup(['--only', '1', '--yes'], { ...env, KUBE_CONTEXT: 'sandbox' })
    assert.equal(first.code, 0, first.stderr)
    assert.ok(a.sandbox.actors.vault.read('secret/homelab/github')?.pat, 'the token went to the selected cluster')
    assert.equal(b.sandbox.actors.vault.read('secret/homelab/github'), undefined, 'nothing reached the current context')
    assert.equal(b.sandbox.stats().mutatingTotal, 0)
    assert.deepEqual(b.sandbox.stats().execCommands, [])
    // the cluster in use is named before the first write, in the plain renderer too
    assert.match(first.stderr, new RegExp(`Cluster: ${a.sandbox.url} \\(kube context sandbox, kube-system uid [0-9a-f-]+\\)`))

    // KUBE_CONTEXT empty: the current context (B) is not the recorded cluster (A)
    const refused = await runSetup(['--only', '1', '--yes'], { ...env, KUBE_CONTEXT: '' })
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, new RegExp(`kube context homelab-prod reaches ${b.sandbox.url}.*not the cluster this GitOps repo's setup ran against \\(${a.sandbox.url}.*reached as context sandbox`))
    assert.match(refused.stderr, /fix: to keep to that cluster, point KUBECONFIG and KUBE_CONTEXT at it .*; only if .* rerun with --switch-cluster/)
    assert.doesNotMatch(refused.stderr, /ALLOW_OTHER_CONTEXT|--yes/)
    assert.equal(b.sandbox.stats().mutatingTotal, 0)
    assert.deepEqual(b.sandbox.stats().execCommands, [], 'not even a Vault read ran on the wrong cluster')

    // the fix line, followed: KUBE_CONTEXT=sandbox runs against A again
    const kept = await runSetup(['--only', '1'], { ...env, KUBE_CONTEXT: 'sandbox' })
    assert.equal(kept.code, 0, kept.stderr)
    assert.equal(b.sandbox.stats().mutatingTotal, 0)

    // the other way out, when B is meant: --switch-cluster, and B is recorded from then on
    const switched = await runSetup(['--only', '1', '--switch-cluster'], { ...env, KUBE_CONTEXT: '' })
    assert.equal(switched.code, 0, switched.stderr)
    assert.ok(b.sandbox.actors.vault.read('secret/homelab/github')?.pat)
  } finally {
    await a.stop()
    await b.stop()
    fx.cleanup()
  }
})

test('resume does not trust "done" after the world changed: a rebuilt cluster (refused until --switch-cluster), a changed setting', { timeout: 400_000 }, async () => {
  const fx = fixture()
  let cluster = await withCluster(fx)
  try {
    // task 7's commit fails on a hook: task 1 is done in Vault, the run is unfinished
    writeFileSync(join(fx.dir, '.git/hooks/pre-commit'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    const failed = await runSetup([], { ...fx.env, ...cluster.env })
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /task 7 .*git commit failed/)

    // a setting that shapes task 1's result changes: it runs again (task 7 fails again on the hook,
    // so the run stays unfinished with task 1 done under the new setting)
    const moved = await runSetup(['--only', '1,7'], { ...fx.env, ...cluster.env, VAULT_PATH: 'secret/homelab/github2' })
    assert.equal(moved.code, 1)
    assert.match(moved.stderr, /not reused: the settings changed since tasks 1 finished/)
    assert.doesNotMatch(moved.stdout, /done earlier/)
    assert.ok(cluster.sandbox.actors.vault.read('secret/homelab/github2')?.pat)

    // the cluster is rebuilt (same context name, empty Vault): bound by its kube-system uid, it is
    // another cluster whatever its context is called, refused until --switch-cluster says it is meant;
    // then task 1 runs again, not "done earlier"
    await cluster.stop()
    cluster = await withCluster(fx)
    const sameName = await runSetup(['--only', '1'], { ...fx.env, ...cluster.env, VAULT_PATH: 'secret/homelab/github2' })
    assert.equal(sameName.code, 1, sameName.stderr)
    assert.match(sameName.stderr, /kube context sandbox reaches .* not the cluster this GitOps repo's setup ran against .* reached as context sandbox/)
    const rebuilt = await runSetup(['--only', '1', '--switch-cluster'], { ...fx.env, ...cluster.env, VAULT_PATH: 'secret/homelab/github2' })
    assert.equal(rebuilt.code, 0, rebuilt.stderr)
    assert.match(rebuilt.stderr, /not reused: the cluster changed since tasks 1 finished/)
    assert.doesNotMatch(rebuilt.stdout, /done earlier/)
    assert.ok(cluster.sandbox.actors.vault.read('secret/homelab/github2')?.pat, 'the token is in the rebuilt Vault')
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})
