// A chart upgrade in one run, against the sandbox: a setup made with chart 1.1.1 (ImageUpdater with
// spec.namespace, app v1.1.1), then CHART_VERSION=1.2.4: the chart Application follows, the
// ImageUpdater loses spec.namespace (removed from the 1.2 CRD), and the run verifies as after a
// setup (on 1.2 by the ImageUpdater's status too). A chart not verified is refused with the newest
// one that is.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'
import { chartShape } from '../src/render/chart.ts'
import { sandboxCtx } from './helpers.ts'
import { fullRun } from './full-run.ts'

const PAT = ['ghp', `TESTONLY${randomBytes(14).toString('hex')}`].join('_')
let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

const makeCtx = (chart: string): Ctx => sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env: { CHART_VERSION: chart }, log: (l) => output.push(l) })
const iu = () => sb.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' })
const controllerImage = () => sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' })?.spec?.template?.spec?.containers?.[0]?.image
const chartApp = () => readFileSync(join(repo.dir, 'argocd/applications/argocd-image-updater.yaml'), 'utf8')

async function run(chart: string): Promise<string[]> {
  try {
    return await fullRun(makeCtx(chart), output, { settle: false })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-40).join('\n')}`)
  }
}

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'lifecycle-upgrade-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
  sb.actors.registry.setAuth('meirongdev', PAT)
  sb.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('a setup on chart 1.1.1 is upgraded to 1.2.4 in one run: chart Application, ImageUpdater schema, verified', { timeout: 240_000 }, async () => {
  await run('1.1.1')
  assert.match(chartApp(), /targetRevision: 1\.1\.1/)
  assert.equal(iu()?.spec?.namespace, 'argocd', 'app v1.1 needs spec.namespace')
  assert.match(String(controllerImage()), /:v1\.1\.1$/)

  const from = output.length
  const changed = await run('1.2.4')
  assert.ok(changed.some((s) => /argocd\/applications\/argocd-image-updater\.yaml/.test(s)), changed.join('\n'))
  assert.ok(changed.some((s) => /spec\.namespace was removed in Image Updater 1\.2/.test(s)), changed.join('\n'))
  assert.match(chartApp(), /targetRevision: 1\.2\.4/)
  assert.doesNotMatch(readFileSync(join(repo.dir, 'k8s/helm/manifests/it-tools/image-updater.yaml'), 'utf8'), /^\s+namespace: argocd #?/m)
  assert.equal(iu()?.spec?.namespace, undefined, 'the live ImageUpdater follows the 1.2 schema')
  assert.match(String(controllerImage()), /:v1\.2\.2$/)
  const said = output.slice(from)
  // verified as after a setup, on 1.2 by the ImageUpdater's status as well
  assert.ok(said.some((l) => /^PASS ImageUpdater it-tools manages the image: Ready \(ReconcileSucceeded\)/.test(l)), said.filter((l) => /PASS|FAIL/.test(l)).join('\n'))
  assert.ok(said.some((l) => /^PASS controller log shows it working/.test(l)))
  // one run converged: nothing left
  assert.deepEqual(await run('1.2.4'), [])
})

test('a chart this setup has not verified is refused with the newest one it has', () => {
  for (const v of ['1.2.5', '1.3.0', '2.0.0']) {
    assert.throws(() => chartShape(v), (err: unknown) => {
      assert.ok(err instanceof SetupError)
      assert.equal(err.fix, 'set CHART_VERSION=1.2.4')
      return true
    }, v)
  }
  assert.equal(chartShape('1.2.4').appMinor, '1.2')
  assert.equal(chartShape('1.0.2').specNamespace, true)
})
