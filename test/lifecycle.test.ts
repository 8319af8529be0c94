// The life of a setup after it is done, against one sandbox, in order: a rotated token reaches the
// Secrets at once (force-sync) and is proven by Image Updater's next cycle, and a token the registry
// refuses stops task 1 with the cause; --pause keeps the tag last written and stops updates, a setup
// rerun leaves the pause, --resume brings updates back; --retire pins the last tag and removes
// everything of the updater in an order that loses nothing, a second --retire changes nothing, a
// setup after it works; deleting the controller before the ImageUpdaters hangs.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'
import { git, runSetup, sandboxCtx, snapshot, until } from './helpers.ts'
import { fullRun as runAll } from './full-run.ts'
import vaultTask from '../tasks/01-vault-token.ts'
import appTask from '../tasks/04-app-application.ts'
import { runLifecycle, type LifecycleOptions } from '../src/lifecycle/index.ts'
import { parseRunArgs } from '../src/cli-args.ts'

// assembled at run time so no token-shaped literal sits in the repository
const fakeToken = () => ['ghp', `TESTONLY${randomBytes(14).toString('hex')}`].join('_')
const FIRST = fakeToken()

let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

let current = FIRST
function makeCtx(pat = current, env: Record<string, string> = {}, dryRun = false): Ctx {
  return { ...sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat, env, log: (l) => output.push(l) }), yes: true, dryRun, overlay: dryRun ? new Map() : undefined }
}

const IMAGE = 'ghcr.io/meirongdev/it-tools'
const dep = () => sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })
const running = () => dep()?.spec?.template?.spec?.containers?.[0]?.image as string | undefined
const iu = () => sb.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' })
const APP_DIR = 'k8s/helm/manifests/it-tools'
const readRepo = (rel: string) => { try { return readFileSync(join(repo.dir, rel), 'utf8') } catch { return null } }

/** A lifecycle command in process as the runner calls it, with what it printed. */
async function lifecycle(opts: Partial<LifecycleOptions>, dryRun = false): Promise<{ code: number; printed: string }> {
  let printed = ''
  try {
    const code = await runLifecycle(makeCtx(current, {}, dryRun), { retire: false, keepToken: false, summaryOnly: false, ...opts, print: (l) => (printed += `${l}\n`) })
    return { code, printed }
  } catch (err) {
    // the sandbox's own log says what Argo CD and Image Updater did meanwhile (CI shows only this)
    const sandboxLog = output.filter((l) => l.startsWith('[sandbox]')).slice(-25).join('\n')
    throw Object.assign(new Error(`${(err as Error).message}\n--- printed ---\n${printed}\n--- sandbox, last lines ---\n${sandboxLog}`), { cause: err })
  }
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
  current = second
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
  current = third
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

test('--pause keeps the tag last written and stops updates; a setup rerun leaves it paused; --resume brings updates back', { timeout: 180_000 }, async () => {
  // Vault gets back the token the registry takes (the test before stored one it refuses)
  await runTask1(makeCtx(current))
  assert.deepEqual(secretTokens(), { pull: current, git: current })
  sb.actors.registry.pushTag(IMAGE, 'sha-aaaaaa1', new Date(Date.now() - 60_000))
  await until('Image Updater deploys sha-aaaaaa1', () => running() === `${IMAGE}:sha-aaaaaa1`, 120_000)
  const uid = dep()?.metadata.uid
  git(repo.dir, 'pull', '-q', '--rebase')

  const before = snapshot(repo.dir)
  const plan = await lifecycle({ pause: 'it-tools' }, true)
  assert.equal(plan.code, 2, plan.printed)
  assert.match(plan.printed, /• edit k8s\/helm\/manifests\/it-tools\/image-updater\.yaml \(pause Image Updater for it-tools\)/)
  assert.match(plan.printed, /• sync Application argocd\/it-tools: Argo CD prunes ImageUpdater it-tools while the controller runs; Deployment personal-services\/it-tools keeps ghcr\.io\/meirongdev\/it-tools:sha-aaaaaa1/)
  assert.deepEqual(snapshot(repo.dir), before, 'a dry run changes nothing')

  const paused = await lifecycle({ pause: 'it-tools' })
  assert.equal(paused.code, 0, paused.printed)
  assert.equal(iu(), undefined, 'the ImageUpdater is gone from the cluster')
  assert.match(readRepo(`${APP_DIR}/image-updater.yaml`) ?? '', /^# paused by image-updater-setup \(--pause it-tools\)/)
  assert.doesNotMatch(readRepo(`${APP_DIR}/kustomization.yaml`) ?? '', /image-updater\.yaml/)
  assert.equal(running(), `${IMAGE}:sha-aaaaaa1`)
  assert.equal(dep()?.metadata.uid, uid, 'what runs is untouched')
  assert.equal(git(repo.dir, 'log', '-1', '--format=%s'), 'Pause Image Updater for it-tools')

  // a newer tag is not deployed while paused (the controller runs a cycle every 80 ms here)
  sb.actors.registry.pushTag(IMAGE, 'sha-bbbbbb2', new Date())
  await new Promise((r) => setTimeout(r, 2000))
  assert.equal(running(), `${IMAGE}:sha-aaaaaa1`, 'no update while paused')
  // the setup's own task 4 leaves the pause alone; a second pause has nothing to do
  assert.deepEqual((await appTask.plan(makeCtx())).map((c) => c.summary), [])
  const again = await lifecycle({ pause: 'it-tools' })
  assert.equal(again.code, 0)
  assert.match(again.printed, /Nothing to do/)

  const resumed = await lifecycle({ resume: 'it-tools' })
  assert.equal(resumed.code, 0, resumed.printed)
  assert.ok(iu(), 'the ImageUpdater is back')
  assert.match(readRepo(`${APP_DIR}/kustomization.yaml`) ?? '', /- image-updater\.yaml/)
  assert.doesNotMatch(readRepo(`${APP_DIR}/image-updater.yaml`) ?? '', /paused/)
  await until('Image Updater deploys sha-bbbbbb2 after the resume', () => running() === `${IMAGE}:sha-bbbbbb2`, 120_000)
  assert.equal(dep()?.metadata.uid, uid)
  assert.match((await lifecycle({ resume: 'it-tools' }, true)).printed, /Nothing to do/)
})

test('--pause names the apps Image Updater updates when given another; lifecycle options do not mix', () => {
  assert.throws(() => parseRunArgs(['--pause', 'a', '--retire'], [0, 1]), /--retire and --pause do not go together/)
  assert.throws(() => parseRunArgs(['--retire', '--only', '1'], [0, 1]), /--retire runs on its own/)
  assert.throws(() => parseRunArgs(['--keep-token'], [0, 1]), /--keep-token goes with --retire/)
  assert.deepEqual(parseRunArgs(['--pause', 'it-tools'], [0, 1]).pause, 'it-tools')
})

test('--retire pins the last written tag, removes the updater in an order that loses nothing, and a second --retire changes nothing', { timeout: 180_000 }, async () => {
  await assert.rejects(lifecycle({ pause: 'squoosh' }), (err: Error) => {
    assert.match(err.message, /^no ImageUpdater in the repo selects squoosh/)
    assert.match(((err as Error & { cause: SetupError }).cause).fix, /name one of the apps Image Updater updates: it-tools/)
    return true
  })
  const uid = dep()?.metadata.uid
  const head = git(repo.dir, 'rev-parse', 'HEAD')
  const before = snapshot(repo.dir)
  const plan = await lifecycle({ retire: true }, true)
  assert.equal(plan.code, 2, plan.printed)
  assert.deepEqual(snapshot(repo.dir), before, 'a dry run changes nothing')
  assert.match(plan.printed, /• edit k8s\/helm\/manifests\/it-tools\/kustomization\.yaml \(pin ghcr\.io\/meirongdev\/it-tools:sha-bbbbbb2: the tag Image Updater last wrote/)
  assert.match(plan.printed, /\+    newTag: sha-bbbbbb2/)

  const done = await lifecycle({ retire: true })
  assert.equal(done.code, 0, done.printed)
  const at = (re: RegExp) => done.printed.split('\n').findIndex((l) => re.test(l))
  // the apps sync (pruning the ImageUpdaters) before the controller goes; the token last
  assert.ok(at(/^→ git push origin main/) < at(/^→ sync Application argocd\/it-tools /), done.printed)
  assert.ok(at(/^→ sync Application argocd\/it-tools /) < at(/^→ delete Application argocd\/argocd-image-updater /), done.printed)
  assert.ok(at(/^→ delete Application argocd\/argocd-image-updater /) < at(/^→ vault kv metadata delete secret\/homelab\/github/), done.printed)
  // vault-eso prunes automatically: Argo CD may have pruned the ExternalSecrets right after the push
  // (harmless: without them the controller can neither read tags nor push); else the run syncs it
  if (at(/^→ sync Application argocd\/vault-eso /) >= 0) assert.ok(at(/^→ sync Application argocd\/vault-eso /) < at(/^→ vault kv metadata delete/), done.printed)
  assert.match(done.printed, /verified: nothing of Image Updater left; it-tools Synced and Healthy/)

  // what runs is what ran
  assert.equal(running(), `${IMAGE}:sha-bbbbbb2`)
  assert.equal(dep()?.metadata.uid, uid)
  // one commit of ours, pushed
  const ours = git(repo.dir, 'log', '--format=%s', `${head}..HEAD`).split('\n').filter((l) => !l.startsWith('build: automatic update'))
  assert.deepEqual(ours, ['Retire Argo CD Image Updater'])
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), git(repo.dir, 'rev-parse', 'origin/main'))
  // the repo: the tag pinned, nothing of the updater outside docs/
  assert.match(readRepo(`${APP_DIR}/kustomization.yaml`) ?? '', /images:\n  - name: ghcr\.io\/meirongdev\/it-tools\n    newTag: sha-bbbbbb2\n/)
  for (const gone of [`${APP_DIR}/image-updater.yaml`, `${APP_DIR}/.argocd-source-it-tools.yaml`, 'argocd/applications/argocd-image-updater.yaml', 'k8s/helm/values/argocd-image-updater.yaml', 'k8s/helm/manifests/github-external-secret.yaml']) assert.equal(readRepo(gone), null, gone)
  // git grep exits 1 when nothing matches
  const grep = spawnSync('git', ['grep', '-n', '-e', 'argocd-image-updater', '-e', 'ImageUpdater', '--', '.', ':!docs'], { cwd: repo.dir, encoding: 'utf8' })
  assert.equal(grep.status, 1, `left in the repo:\n${grep.stdout}`)
  assert.ok(readRepo('docs/plans/argocd-image-updater.md'), 'the saved plan stays')
  // the cluster: nothing of the updater
  assert.equal(sb.store.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'imageupdaters.argocd-image-updater.argoproj.io' }), undefined)
  assert.equal(sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }), undefined)
  assert.equal(sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'argocd-image-updater' }), undefined)
  for (const name of ['ghcr-pull-secret', 'git-creds']) {
    assert.equal(sb.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name }), undefined)
    assert.equal(sb.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name }), undefined)
  }
  assert.equal(sb.actors.vault.read('secret/homelab/github'), undefined, 'the token is gone from Vault')
  for (const app of ['it-tools', 'personal-services', 'vault-eso']) {
    const a = sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: app })
    assert.deepEqual([a?.status?.sync?.status, a?.status?.health?.status], ['Synced', 'Healthy'], app)
  }

  // a second --retire changes nothing, in the repo or the cluster
  const headAfter = git(repo.dir, 'rev-parse', 'HEAD')
  sb.resetStats()
  const second = await lifecycle({ retire: true })
  assert.equal(second.code, 0)
  assert.match(second.printed, /Nothing to do/)
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), headAfter)
  assert.equal(sb.stats().mutatingTotal, 0, JSON.stringify(sb.stats().mutating))
  assert.equal((await lifecycle({ retire: true }, true)).code, 0)
})

test('a setup after a retirement works', { timeout: 180_000 }, async () => {
  try {
    await runAll(makeCtx(current), output, { settle: false })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-40).join('\n')}`)
  }
  assert.ok(iu(), 'the ImageUpdater is back')
  assert.ok(output.some((l) => /^PASS controller log shows it working/.test(l)))
  // the commands as typed: a dry run prints the plan and exits 2 while something is pending
  const env = { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', STATE_DIR: stateDir, GITHUB_API_URL: 'off', KUBECONFIG: sb.kubeconfigPath, KUBE_CONTEXT: 'sandbox', SYNC_TIMEOUT_SECONDS: '30' }
  const head = git(repo.dir, 'rev-parse', 'HEAD')
  const retire = await runSetup(['--retire', '--dry-run'], env)
  assert.equal(retire.code, 2, retire.stderr)
  assert.match(retire.stdout, /^• delete Application argocd\/argocd-image-updater with its resources/m)
  assert.match(retire.stdout, /nothing was changed \(dry run\)/)
  assert.match(retire.stdout, /^• vault kv metadata delete secret\/homelab\/github: the GitHub token, read by no ExternalSecret/m)
  // --keep-token: the same plan without the token's deletion
  const keep = await runSetup(['--retire', '--keep-token', '--dry-run'], env)
  assert.equal(keep.code, 2, keep.stderr)
  assert.match(keep.stdout, /^• delete Application argocd\/argocd-image-updater with its resources/m)
  assert.doesNotMatch(keep.stdout, /vault kv metadata delete/)
  const pause = await runSetup(['--pause', 'it-tools', '--dry-run'], env)
  assert.equal(pause.code, 2, pause.stderr)
  assert.match(pause.stdout, /Argo CD prunes ImageUpdater it-tools while the controller runs/)
  const wrong = await runSetup(['--pause', 'it-tools', '--retire'], env)
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /--retire and --pause do not go together/)
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), head, 'dry runs commit nothing')
})

test('deleting the controller before the ImageUpdaters leaves them, their CRD and the chart Application stuck', { timeout: 60_000 }, async () => {
  const ref = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'argocd-image-updater' }
  await until('the ImageUpdater carries the controller finalizer', () => (iu()?.metadata.finalizers as string[] | undefined)?.includes('resources-finalizer.argocd-image-updater.argoproj.io'))
  const app = sb.store.get(ref)!
  app.metadata.finalizers = ['resources-finalizer.argocd.argoproj.io']
  sb.store.update(app)
  sb.store.delete(ref)
  await until('the controller is gone', () => !sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }))
  await new Promise((r) => setTimeout(r, 1500))
  assert.ok(iu()?.metadata.deletionTimestamp, 'the ImageUpdater is Terminating')
  assert.ok(sb.store.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'imageupdaters.argocd-image-updater.argoproj.io' })?.metadata.deletionTimestamp, 'its CRD is Terminating')
  assert.ok(sb.store.get(ref)?.metadata.deletionTimestamp, 'the chart Application waits for them')
  // and --retire refuses the order that would leave them so: it names what holds it
  const r = await lifecycle({ retire: true }, true)
  assert.equal(r.code, 2)
})
