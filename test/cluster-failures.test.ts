// Cluster failure paths on the sandbox: every preflight failure reported at once with its fix, and
// personal-services syncing the pushed commit before it-tools without deleting the app.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import type { Change } from '../src/task.ts'
import { StateStore } from '../src/state.ts'
import { sandboxCtx } from './helpers.ts'
import { planPublish } from '../src/publish.ts'
import { clusterPreflight } from '../src/cluster/preflight.ts'
import { planDeploy, planPrePush } from '../src/cluster/deploy.ts'
import { kube } from '../src/cluster/kube.ts'
import vaultTask from '../tasks/01-vault-token.ts'
import { REPO_TASKS, commitMessage, managedPaths } from '../tasks/07-commit-and-deploy.ts'

const PAT = `ghp_${'failureSandboxToken0123456789abcdefg'}`
let repo: SampleRepo
let sb: Sandbox
let stateDir: string

function makeCtx(env: Record<string, string> = {}): Ctx {
  return sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env })
}

async function applyAll(ctx: Ctx, changes: Change[]): Promise<void> {
  for (const c of changes) {
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    await c.apply()
  }
}

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'cluster-fail-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20 })
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('preflight lists every failure with a fix, and passes once they are fixed', async () => {
  await clusterPreflight(makeCtx())
  sb.actors.vault.seal()
  try {
    await assert.rejects(clusterPreflight(makeCtx({ UPDATE_STRATEGY: 'latest', GIT_BRANCH: 'release', SECRET_STORE: 'vault-missing' })), (err: Error & { fix: string }) => {
      for (const re of [/UPDATE_STRATEGY "latest"/, /not release/, /origin has no branch release/, /ClusterSecretStore vault-missing does not exist/, /Vault is sealed/, /vault operator unseal/])
        assert.match(err.message, re)
      assert.equal((err.message.match(/\n    fix: /g) ?? []).length, 5, err.message)
      return true
    })
    await assert.rejects(clusterPreflight(makeCtx({ KUBE_CONTEXT: 'homelab' })), /KUBE_CONTEXT homelab is not in the kubeconfig/)
  } finally {
    sb.actors.vault.unseal()
  }
  await clusterPreflight(makeCtx())
})

test('personal-services syncing the pushed commit first deletes nothing (auto-prune paused before the push)', { timeout: 60_000 }, async () => {
  const ctx = makeCtx()
  const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
  const uid = sb.store.get(depRef)!.metadata.uid
  await applyAll(ctx, await vaultTask.plan(ctx))
  for (const t of REPO_TASKS) await applyAll(ctx, await t.plan(ctx))
  await applyAll(ctx, await planPrePush(ctx))
  await applyAll(ctx, await planPublish(ctx, managedPaths(ctx), commitMessage(ctx)))
  // Argo CD notices the push for personal-services before the setup gets to it-tools
  const k = await kube(ctx)
  const ps = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'personal-services' }
  await k.mergePatch(ps, { operation: { initiatedBy: { username: 'argocd' }, sync: {} } })
  await k.waitFor(ps, (a) => (a?.status?.sync?.revision === ctx.pushedRevision && !a?.operation && a?.status?.operationState?.phase !== 'Running' ? { ready: true } : { waiting: 'syncing' }), { timeoutMs: 10_000, what: 'personal-services synced the push' })
  assert.equal(sb.store.get(depRef)?.metadata.uid, uid, 'still there after personal-services synced the commit without it-tools.yaml')
  await applyAll(ctx, await planDeploy(ctx))
  assert.equal(sb.store.get(depRef)?.metadata.uid, uid, 'same Deployment after the move')
  const live = sb.store.get(ps)!
  assert.equal(live.spec.syncPolicy.automated.prune, true, 'auto-prune restored from the file')
  assert.doesNotMatch(live.spec.source.directory.include, /it-tools\.yaml/)
})

test('the move is judged by the uids task 7 saw: a later re-creation of the Deployment does not fail task 8', { timeout: 60_000 }, async () => {
  const { runVerify } = await import('../src/cluster/verify.ts')
  const ctx = makeCtx()
  const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
  const move = ctx.state.move('Deployment personal-services/it-tools')
  assert.ok(move && move.before === move.after, `task 7 recorded the move: ${JSON.stringify(move)}`)
  const survived = async (c: Ctx) => (await runVerify(c, { waitMs: 0 })).find((r) => r.name === 'it-tools Deployment survived the move')!
  // without a saved record (a move done by an older version), creation times judge: the Deployment
  // predates the new Application, and its file is in the repo's history (git log)
  const noRecord = { ...ctx, state: new StateStore(mkdtempSync(join(tmpdir(), 'no-moves-')), repo.dir) } as Ctx
  const byTimes = await survived(noRecord)
  assert.equal(byTimes.ok, true, byTimes.detail)
  assert.match(byTimes.detail, /^2 object\(s\) predate the new Application$/)
  // a later, legitimate re-creation (the user deleted it; Argo CD brings it back with a new uid)
  const old = sb.store.get(depRef)!
  await new Promise((r) => setTimeout(r, 1100)) // a later second than the Application's creation
  sb.store.delete(depRef)
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, ...meta } = old.metadata
  // Argo CD may bring it back first (auto-sync); otherwise the user re-creates it
  const deadline = Date.now() + 3_000
  while (!sb.store.get(depRef) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (!sb.store.get(depRef)) {
    try {
      sb.store.create({ ...old, metadata: meta, status: undefined })
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e // Argo CD was quicker: re-created all the same
    }
  }
  assert.notEqual(sb.store.get(depRef)!.metadata.uid, old.metadata.uid)
  const withRecord = await survived(ctx)
  assert.equal(withRecord.ok, true, withRecord.detail)
  assert.match(withRecord.detail, /Deployment it-tools kept its uid during the move and was recreated since/)
  // without the record (the old rule: creation times) the same cluster fails forever
  const recreated = await survived(noRecord)
  assert.equal(recreated.ok, false)
  assert.match(recreated.detail, /Deployment it-tools was created after the it-tools Application \(recreated during the move\)/)
})
