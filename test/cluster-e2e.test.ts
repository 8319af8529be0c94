// The whole setup against the sandbox, in process: preflight, task 1, the repo tasks, task 7 (pause
// prune, commit+push, ordered deploy), task 8 verify, task 9 settle; then a rerun that makes no
// mutating API request and no commit, and no token anywhere it must not be.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { sandboxCtx } from './helpers.ts'
import { fullRun as runAll } from './full-run.ts'

const PAT = `ghp_${'e2eSandboxToken0123456789abcdefghijk'}`

let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

function makeCtx(env: Record<string, string> = {}): Ctx {
  return sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env, log: (l) => output.push(l) })
}

const fullRun = (ctx: Ctx) => runAll(ctx, output)
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo.dir, encoding: 'utf8' }).trim()

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'cluster-e2e-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('a full run from a fresh sandbox goes green, keeps the app alive, and a rerun is a no-op', { timeout: 180_000 }, async () => {
  const deploymentUid = sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })?.metadata.uid
  assert.ok(deploymentUid, 'the sandbox runs it-tools before the setup')
  try {
    const first = await fullRun(makeCtx())
    assert.ok(first.some((s) => s.startsWith('vault kv put')))
    assert.ok(first.some((s) => s.startsWith('git push')))
    // an Application not in the cluster yet is created; one that is, applied where it differs
    assert.ok(first.includes('create (server-side apply; not in the cluster yet) Application argocd/it-tools and wait until Synced and Healthy at the pushed commit'), first.join('\n'))
    assert.ok(first.some((s) => /^apply \(server-side; differs at spec\.source\.directory\.include\b[^)]*\) Application argocd\/personal-services /.test(s)), first.join('\n'))
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-60).join('\n')}`)
  }
  assert.equal(sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })?.metadata.uid, deploymentUid, 'same Deployment after the move')
  assert.equal(sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'argocd-image-updater-config' })?.data?.['log.level'], 'info')
  assert.ok(output.some((l) => /^PASS controller log shows it working/.test(l)))

  const head = git('rev-parse', 'HEAD')
  sb.resetStats()
  const second = await fullRun(makeCtx())
  assert.deepEqual(second, [], 'rerun: every task up to date')
  assert.equal(sb.stats().mutatingTotal, 0, `rerun mutated: ${JSON.stringify(sb.stats().mutating)}`)
  assert.equal(git('rev-parse', 'HEAD'), head, 'no commit on a rerun')
})

test('the token is in no output line and no exec command line', () => {
  assert.ok(output.every((l) => !l.includes(PAT)))
  assert.ok(sb.stats().execCommands.every((c) => !c.join(' ').includes(PAT)))
})
