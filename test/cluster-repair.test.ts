// The plan followed by hand, on a cluster: the controller runs and updates nothing (its ImageUpdater
// is rejected or lands outside argocd); after one run of the setup, which repairs the files in
// place, the same cluster verifies green and the build the hand-made setup ignored is rolled out
// through git.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { renderManifest } from '../src/render/template.ts'
import { sandboxCtx } from './helpers.ts'
import { byHandInstall } from './by-hand.ts'
import { fullRun } from './full-run.ts'

const PAT = `ghp_${'repairSandboxToken0123456789abcdefgh'}`
const IMAGE = 'ghcr.io/meirongdev/it-tools'
let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

function makeCtx(): Ctx {
  return sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, log: (l) => output.push(l) })
}

const image = () => sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })?.spec?.template?.spec?.containers?.[0]?.image

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 200))
  }
  return check()
}

before(async () => {
  repo = createSampleRepo(byHandInstall((t, vars, flags) => renderManifest(t, vars, flags)))
  stateDir = mkdtempSync(join(tmpdir(), 'cluster-repair-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
  // ghcr.io knows the real token; the seeder's Vault placeholder (what a hand-made setup may hold) is refused
  sb.actors.registry.setAuth('meirongdev', PAT)
  sb.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('the hand-made setup idles; the repaired one verifies and rolls out a new build', { timeout: 240_000 }, async () => {
  const before = image()
  sb.actors.registry.pushTag(IMAGE, 'sha-1111111', new Date(Date.now() - 60_000))
  assert.equal(await waitFor(() => image() !== before, 5_000), false, `the hand-made setup updated it-tools: ${image()}`)
  try {
    // task 9 is left out: its push after Image Updater's own write-back is another issue's (rebase onto the write-back)
    await fullRun(makeCtx(), output, { settle: false })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.filter((l) => !l.startsWith('[sandbox]')).slice(-40).join('\n')}`)
  }
  assert.ok(output.some((l) => l.startsWith('repair k8s/helm/manifests/it-tools/image-updater.yaml')), 'the ImageUpdater was repaired')
  assert.ok(output.some((l) => /^PASS controller log shows it working/.test(l)), output.filter((l) => /^(PASS|FAIL)/.test(l)).join('\n'))
  // the build the hand-made setup never picked up is rolled out now, through git
  assert.ok(await waitFor(() => image() === `${IMAGE}:sha-1111111`, 60_000), `it-tools runs ${image()}`)
  const log = execFileSync('git', ['log', '-1', '--format=%an', 'main'], { cwd: repo.origin, encoding: 'utf8' }).trim()
  assert.equal(log, 'argocd-image-updater')
})
