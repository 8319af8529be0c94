// The life of a setup after it is done, against one sandbox: a rotated token reaches the Secrets at
// once (force-sync) and is proven by Image Updater's next cycle; a token the registry refuses stops
// task 1 with the cause.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'
import { sandboxCtx } from './helpers.ts'
import { fullRun as runAll } from './full-run.ts'
import vaultTask from '../tasks/01-vault-token.ts'

// assembled at run time so no token-shaped literal sits in the repository
const fakeToken = () => ['ghp', `TESTONLY${randomBytes(14).toString('hex')}`].join('_')
const FIRST = fakeToken()

let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

function makeCtx(pat = FIRST, env: Record<string, string> = {}): Ctx {
  return { ...sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat, env, log: (l) => output.push(l) }), yes: true }
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')
function secretTokens(): { pull: string; git: string } {
  const pull = sb.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: 'ghcr-pull-secret' })
  const gitCreds = sb.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: 'git-creds' })
  const auth = JSON.parse(b64(pull?.data?.['.dockerconfigjson'] ?? 'e30=')).auths?.['ghcr.io']?.auth ?? ''
  return { pull: b64(auth).split(':')[1] ?? '', git: b64(gitCreds?.data?.password ?? '') }
}

async function runTask1(ctx: Ctx): Promise<string[]> {
  const changes = await vaultTask.plan(ctx)
  for (const c of changes) await c.apply()
  return changes.map((c) => c.summary)
}

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'lifecycle-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
  sb.actors.registry.setAuth('meirongdev', FIRST)
  sb.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
  try {
    await runAll(makeCtx(), output, { settle: false })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-40).join('\n')}`)
  }
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('a rotated token reaches both Secrets at once and is proven by a cycle of Image Updater', { timeout: 120_000 }, async () => {
  assert.deepEqual(secretTokens(), { pull: FIRST, git: FIRST })
  const second = fakeToken()
  // from now on ghcr.io takes only the new token: a cycle with the old Secret fails
  sb.actors.registry.setAuth('meirongdev', second)
  const from = output.length
  const done = await runTask1(makeCtx(second))
  assert.equal(done.length, 1, done.join('\n'))
  assert.match(done[0]!, /force ESO to refresh argocd\/ghcr-pull-secret, argocd\/git-creds now/)
  assert.deepEqual(secretTokens(), { pull: second, git: second }, 'the Secrets hold the new token without waiting for refreshInterval')
  const said = output.slice(from)
  assert.ok(said.some((l) => /^ExternalSecret argocd\/ghcr-pull-secret refreshed \(force-sync\)/.test(l)), said.join('\n'))
  assert.ok(said.some((l) => /^registry read with the new token: ImageUpdater it-tools: /.test(l)), said.join('\n'))
  const es = sb.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name: 'git-creds' })
  assert.ok(es?.metadata.annotations?.['force-sync'], 'the force-sync annotation was set')
  assert.ok(output.every((l) => !l.includes(second)), 'the token is never printed')
  // a rerun with the same token: up to date
  assert.deepEqual(await runTask1(makeCtx(second)), [])
})

test('a token stored by a run that stopped before the refresh is refreshed by the next run', { timeout: 120_000 }, async () => {
  const third = fakeToken()
  sb.actors.registry.setAuth('meirongdev', third)
  // Vault gets the token behind the tool's back (as a run stopped right after the write leaves it)
  const pod = sb.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' })
  assert.ok(pod)
  const { kube } = await import('../src/cluster/kube.ts')
  const ctx = makeCtx(third)
  const k = await kube(ctx)
  const r = await k.exec('vault', 'vault-0', undefined, ['vault', 'kv', 'put', '-format=json', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], third)
  assert.equal(r.exitCode, 0, r.stderr)
  assert.notEqual(secretTokens().git, third, 'ESO has not refreshed on its own (refreshInterval 1h)')
  const done = await runTask1(ctx)
  assert.equal(done.length, 1)
  assert.match(done[0]!, /^force ESO to refresh argocd\/ghcr-pull-secret, argocd\/git-creds now \(force-sync: the Secrets hold an older token than Vault\)/)
  assert.deepEqual(secretTokens(), { pull: third, git: third })
})

test('a new token the registry refuses stops task 1 with the cause, after the refresh', { timeout: 120_000 }, async () => {
  const refused = fakeToken()
  // the registry still takes only the previous token: the new one cannot list tags
  await assert.rejects(runTask1(makeCtx(refused)), (err: unknown) => {
    assert.ok(err instanceof SetupError, String(err))
    assert.match(err.message, /Image Updater's first cycle with the new token for ImageUpdater argocd\/it-tools: .*errors=1/)
    assert.match(err.fix ?? '', /unauthorized/)
    return true
  })
  assert.equal(secretTokens().pull, refused, 'the refresh happened; the proof failed')
})
