// status against a chart 1.1 install in the sandbox: the ImageUpdater has no status there, so the
// last check and the updates come from the controller log's cycles (src/cluster/controller-log.ts).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import { statusReport } from '../src/status/command.ts'
import { formatStatus } from '../src/status/format.ts'
import { sandboxCtx, until } from './helpers.ts'
import { fullRun } from './full-run.ts'

const PAT = ['ghp', 'TESTONLYstatus11abcdefghij0123456789'].join('_')
let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []
const makeCtx = () => sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env: { CHART_VERSION: '1.1.1' }, log: (l) => output.push(l) })

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'status-v11-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20 })
  sb.actors.registry.setAuth('meirongdev', PAT)
  try {
    await fullRun(makeCtx(), output)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-40).join('\n')}`)
  }
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('chart 1.1: last check and the last update read from the controller log', { timeout: 300_000 }, async () => {
  const r = await statusReport(makeCtx(), Date.now())
  const screen = formatStatus(r, Date.now())
  assert.equal(r.controller.version, '1.1.1', screen)
  assert.equal(r.exitCode, 0, screen)
  const iu = sb.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' })
  assert.equal(iu?.status?.lastCheckedAt, undefined, 'no status on 1.1')
  assert.ok(r.apps[0].lastCheck && Date.now() - Date.parse(r.apps[0].lastCheck) < 60_000, screen)
  sb.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', 'sha-abcdef2', new Date())
  await until('the new tag running', () => (sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'it-tools' })?.status?.summary?.images ?? []).some((i: string) => i.endsWith(':sha-abcdef2')), 30_000)
  const after = await statusReport(makeCtx(), Date.now())
  const row = after.apps[0]
  assert.ok(row.recentUpdates[0]?.endsWith('ghcr.io/meirongdev/it-tools:sha-abcdef2'), formatStatus(after, Date.now()))
  assert.ok(row.lastUpdate && Date.now() - Date.parse(row.lastUpdate) < 60_000, formatStatus(after, Date.now()))
  // ten minutes on, with no cycle since: named from the log's last cycle
  const later = await statusReport(makeCtx(), Date.now() + 10 * 60_000)
  assert.ok(later.apps[0].problems.some((p) => /no check since .* more than twice the interval \(2m\)/.test(p.problem)), formatStatus(later, Date.now()))
})
