// The lifecycle's sync wait on its own, against a stand-in Kube: it is satisfied by our commit or a
// later one on top of it (Image Updater's write-back), never by an older one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Ctx } from '../src/context.ts'
import type { KObj, Kube, WaitCheck, WaitOptions } from '../src/cluster/kube.ts'
import { syncAndWait } from '../src/lifecycle/cluster-steps.ts'
import { git } from './helpers.ts'

/** A repo with three commits: before ours, ours, and a write-back on top of ours. */
function history(): { dir: string; before: string; ours: string; writeBack: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sync-wait-'))
  git(dir, 'init', '-q', '-b', 'main')
  const commit = (msg: string) => {
    writeFileSync(join(dir, 'f.txt'), msg)
    git(dir, 'add', '-A')
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', msg)
    return git(dir, 'rev-parse', 'HEAD')
  }
  return { dir, before: commit('before'), ours: commit('ours'), writeBack: commit('write-back') }
}

/** A Kube whose Application is Synced and Healthy at `revision`; waitFor checks it until ready or the timeout. */
function kubeAt(revision: string): Kube {
  const app: KObj = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'it-tools', namespace: 'argocd' }, spec: { syncPolicy: { automated: {} } }, status: { sync: { status: 'Synced', revision }, health: { status: 'Healthy' } } } as KObj
  return {
    get: async () => app,
    mergePatch: async () => app,
    async waitFor(_ref: unknown, check: WaitCheck, opts: WaitOptions) {
      const end = Date.now() + opts.timeoutMs
      let last = ''
      while (Date.now() < end) {
        const state = await check(app)
        if ('ready' in state) return app
        last = 'waiting' in state ? String(state.waiting) : ''
        await new Promise((r) => setTimeout(r, 20))
      }
      const { SetupError } = await import('../src/errors.ts')
      throw new SetupError(`timed out waiting for ${opts.what}; last seen: ${last}`, 'fix')
    },
  } as unknown as Kube
}

const ctxFor = (repoDir: string) => ({ repoDir, settings: { branch: 'main', argocdNamespace: 'argocd', syncTimeoutSeconds: '1' } }) as unknown as Ctx

test('the lifecycle sync wait takes our commit or a write-back on top of it, and not an older commit', async () => {
  const h = history()
  await syncAndWait(ctxFor(h.dir), kubeAt(h.ours), 'it-tools', h.ours)
  await syncAndWait(ctxFor(h.dir), kubeAt(h.writeBack), 'it-tools', h.ours)
  await assert.rejects(syncAndWait(ctxFor(h.dir), kubeAt(h.before), 'it-tools', h.ours), (err: Error) => {
    assert.match(err.message, new RegExp(`last seen: at ${h.before.slice(0, 7)}, not ${h.ours.slice(0, 7)} yet`))
    return true
  })
})
