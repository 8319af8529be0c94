// `status` against a sandbox after a full setup: exit 0 with one row per app, then each problem it
// must name, made the way it happens on a real cluster (the controller scaled to 0, a bad token in
// Vault refreshed by ESO, the app's Application deleted), each with exit 1 and its cause.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { kube } from '../src/cluster/kube.ts'
import { statusReport } from '../src/status/command.ts'
import { formatStatus } from '../src/status/format.ts'
import type { StatusReport } from '../src/status/judge.ts'
import { git, read, runSetup, sandboxCtx, until } from './helpers.ts'
import { fullRun } from './full-run.ts'

const PAT = ['ghp', 'TESTONLYstatus0123456789abcdefghijkl'].join('_')
const IU = { apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' }
const CONTROLLER = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }

const APPLICATION = (name: string) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name })

let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

const makeCtx = (env: Record<string, string> = {}): Ctx => sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env, log: (l) => output.push(l) })
const report = (now = Date.now()) => statusReport(makeCtx(), now)
const problems = (r: StatusReport) => [...r.problems, ...r.apps.flatMap((a) => a.problems)].map((p) => `${p.subject}: ${p.problem}`)
const screen = (r: StatusReport) => formatStatus(r, Date.now())
/** the settings of the CLI child: the sandbox, the state folder, no token */
const cliEnv = () => ({ GITOPS_REPO_DIR: repo.dir, STATE_DIR: stateDir, KUBECONFIG: sb.kubeconfigPath, KUBE_CONTEXT: 'sandbox', GITHUB_API_URL: 'off' })

/** Runs `fn` with Argo CD's automated sync off for `app` (as a person does before changing what it manages by hand). */
async function withoutAutoSync<T>(app: string, fn: () => Promise<T>): Promise<T> {
  const before = edit(APPLICATION(app), (a) => delete a.spec.syncPolicy.automated)
  try {
    return await fn()
  } finally {
    edit(APPLICATION(app), (a) => (a.spec.syncPolicy = before.spec.syncPolicy))
  }
}

/** The Application that manages the ImageUpdater (Argo CD's tracking). */
const iuOwner = () => {
  const iu = sb.store.get(IU)!
  return iu.metadata.annotations?.['argocd.argoproj.io/tracking-id']?.split(':')[0] ?? iu.metadata.labels?.['app.kubernetes.io/instance'] ?? 'it-tools'
}

/** Changes an object in the store the way `kubectl edit` would (a spec write, resourceVersion dropped). */
function edit(ref: { apiVersion: string; kind: string; namespace?: string; name: string }, change: (o: any) => void): any {
  const before = sb.store.get(ref)!
  const o = structuredClone(before)
  change(o)
  delete o.metadata.resourceVersion
  sb.store.update(o)
  return before
}

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'status-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
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

test('after a full setup: exit 0, one row per app with its Application, ImageUpdater, images and last check; the CLI says the same without a token', { timeout: 60_000 }, async () => {
  const r = await report()
  assert.equal(r.exitCode, 0, screen(r))
  assert.deepEqual(r.apps.map((a) => a.app), ['it-tools'])
  const row = r.apps[0]
  assert.equal(row.application, 'argocd/it-tools')
  assert.equal(row.imageUpdater, 'argocd/it-tools')
  assert.equal(row.matches, true)
  assert.equal(row.sync, 'Synced')
  assert.equal(row.health, 'Healthy')
  assert.equal(row.images[0].image, 'ghcr.io/meirongdev/it-tools')
  assert.ok(row.images[0].running, 'the running tag, from status.summary.images')
  assert.equal(row.images[0].git, row.images[0].running, 'git sets what runs')
  assert.ok(row.lastCheck && Date.now() - Date.parse(row.lastCheck) < 60_000, `checked recently: ${row.lastCheck}`)
  assert.equal(row.verdict, 'kept up to date')
  assert.match(r.controller.deployment ?? '', /argocd-image-updater-controller/)

  sb.resetStats()
  const cli = await runSetup([], cliEnv(), 'scripts/status.ts')
  assert.equal(cli.code, 0, cli.stdout + cli.stderr)
  // read-only, and each object read once
  const stats = sb.stats()
  assert.equal(stats.mutatingTotal, 0, JSON.stringify(stats.mutating))
  assert.deepEqual(Object.entries(stats.reads).filter(([, n]) => n > 1), [])
  assert.match(cli.stdout, /^it-tools\s+\S+\s+Synced\/Healthy\s+argocd\/it-tools\s+ghcr\.io\/meirongdev\/it-tools/m)
  assert.match(cli.stdout, /every app is kept up to date \(1 app\)/)
  assert.ok(!cli.stdout.includes(PAT) && !cli.stderr.includes(PAT), 'no token in the output')
  const json = await runSetup(['--json'], cliEnv(), 'scripts/status.ts')
  assert.equal(json.code, 0, json.stderr)
  const parsed = JSON.parse(json.stdout) as StatusReport
  assert.deepEqual(parsed.apps.map((a) => [a.app, a.verdict]), [['it-tools', 'kept up to date']])
  assert.ok(!json.stdout.includes(PAT), 'no token in the JSON')
})

test('no check for more than twice the interval: named with the time of the last check', async () => {
  const later = Date.now() + 10 * 60_000
  const r = await report(later)
  assert.equal(r.exitCode, 1)
  assert.ok(problems(r).some((p) => /^it-tools: no check since .*more than twice the interval \(2m\)/.test(p)), problems(r).join('\n'))
})

test('the controller scaled to 0: exit 1 naming the controller and how to scale it back', { timeout: 60_000 }, async () => {
  const scale = async (replicas: number) => {
    edit(CONTROLLER, (d) => (d.spec.replicas = replicas))
    await until(`controller at ${replicas} ready`, () => Number(sb.store.get(CONTROLLER)?.status?.readyReplicas ?? 0) === replicas && sb.store.get(CONTROLLER)?.spec?.replicas === replicas)
  }
  // as a person does it: Argo CD's automated sync of the chart's Application off first, else it scales back at once
  await withoutAutoSync('argocd-image-updater', async () => {
  await scale(0)
  try {
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    const controller = r.problems.find((p) => p.subject === 'controller')
    assert.ok(controller, screen(r))
    assert.match(controller.problem, /controller argocd\/argocd-image-updater-controller is scaled to 0/)
    assert.match(controller.fix, /kubectl -n argocd scale deployment argocd-image-updater-controller --replicas=1/)
    assert.equal(r.apps[0].verdict, 'not checked (controller)', 'the app is not kept up to date while nothing checks')
    // the CLI exits 1 and names it too
    const cli = await runSetup([], cliEnv(), 'scripts/status.ts')
    assert.equal(cli.code, 1, cli.stdout + cli.stderr)
    assert.match(cli.stdout, /controller: the Image Updater controller argocd\/argocd-image-updater-controller is scaled to 0/)
  } finally {
    await scale(1)
  }
  })
})

test('a bad token in Vault, refreshed into the pull secret by ESO: exit 1 naming the registry refusal', { timeout: 90_000 }, async () => {
  const ctx = makeCtx()
  const k = await kube(ctx)
  const bad = ['ghp', 'TESTONLYrevoked0123456789abcdefghijk'].join('_')
  const put = async (pat: string) => {
    const r = await k.exec('vault', 'vault-0', undefined, ['vault', 'kv', 'put', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], pat)
    assert.equal(r.exitCode, 0, r.stderr)
    // ESO refreshes every hour; the annotation makes it refresh now, as a person would
    for (const name of ['ghcr-pull-secret', 'git-creds']) {
      const es = sb.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name })!
      es.metadata.annotations = { ...(es.metadata.annotations ?? {}), 'force-sync': String(Date.now()) }
      sb.store.update(es)
    }
  }
  await put(bad)
  try {
    await until('the controller refused by the registry', () => sb.store.get(IU)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Error' && c.status === 'True'), 30_000)
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    const refusal = problems(r).find((p) => /^it-tools: the registry refused the credentials/.test(p))
    assert.ok(refusal, screen(r))
    assert.match(refusal, /unauthorized/)
    assert.ok(!screen(r).includes(bad) && !JSON.stringify(r).includes(bad), 'the token is never printed')
  } finally {
    await put(PAT)
    await until('the controller accepted again', () => sb.store.get(IU)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Error' && c.status === 'False'), 30_000)
  }
})

test('an onboarded Application that no ImageUpdater selects: exit 1 naming the app', { timeout: 60_000 }, async () => {
  await withoutAutoSync(iuOwner(), async () => {
    const before = edit(IU, (o) => (o.spec.applicationRefs[0].namePattern = 'it-tools-old'))
    try {
      const r = await report()
      assert.equal(r.exitCode, 1, screen(r))
      const row = r.apps.find((a) => a.app === 'it-tools')
      assert.ok(row, screen(r))
      assert.ok(row.problems.some((p) => /Application argocd\/it-tools was onboarded by the setup, but no ImageUpdater selects it/.test(p.problem)), screen(r))
      // and the ImageUpdater, which now selects nothing, has its own row
      assert.ok(r.apps.some((a) => a.app === 'it-tools-old' && a.problems.some((p) => /matches no Application/.test(p.problem))), screen(r))
    } finally {
      edit(IU, (o) => (o.spec = before.spec))
    }
  })
})

test('an ImageUpdater in git invalid for the installed release (a misspelt field the API server drops): exit 1 naming file and field', { timeout: 60_000 }, async () => {
  const file = git(repo.dir, 'grep', '-l', 'kind: ImageUpdater', 'HEAD', '--', '*.yaml').split('\n')[0].replace(/^HEAD:/, '')
  const docs = parseAllDocuments(read(repo.dir, file))
  const doc = docs.find((d) => d.get('kind') === 'ImageUpdater')!
  doc.setIn(['spec', 'applicationRefs', 0, 'images', 0, 'commonUpdateSettings', 'allowTag'], 'regexp:^sha-')
  writeFileSync(join(repo.dir, file), docs.map((d) => String(d)).join('---\n'))
  git(repo.dir, 'commit', '-qam', 'a typo')
  git(repo.dir, 'push', '-q', 'origin', 'HEAD')
  try {
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    const invalid = problems(r).find((p) => p.includes(`ImageUpdater argocd/it-tools in git (${file}) is not valid for Image Updater 1.2.2`))
    assert.ok(invalid, screen(r))
    assert.match(invalid, /spec\.applicationRefs\[0\]\.images\[0\]\.commonUpdateSettings\.allowTag is not a field of this release/)
  } finally {
    git(repo.dir, 'revert', '--no-edit', 'HEAD')
    git(repo.dir, 'push', '-q', 'origin', 'HEAD')
  }
})

test('the pull secret no longer refreshed by ESO (Vault lost the key): exit 1 naming the ExternalSecret', { timeout: 60_000 }, async () => {
  const k = await kube(makeCtx())
  sb.actors.vault.remove('secret/homelab/github')
  const forceSync = () => {
    for (const name of ['ghcr-pull-secret', 'git-creds']) edit({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name }, (es) => (es.metadata.annotations = { ...(es.metadata.annotations ?? {}), 'force-sync': String(Date.now()) }))
  }
  forceSync()
  try {
    await until('the ExternalSecret not Ready', () => sb.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name: 'ghcr-pull-secret' })?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'False'))
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    const es = r.problems.find((p) => p.subject === 'Secret argocd/ghcr-pull-secret')
    assert.ok(es, screen(r))
    assert.match(es.problem, /ExternalSecret argocd\/ghcr-pull-secret is not Ready/)
    assert.match(es.fix, /kubectl -n argocd describe externalsecret ghcr-pull-secret/)
  } finally {
    const r = await k.exec('vault', 'vault-0', undefined, ['vault', 'kv', 'put', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], PAT)
    assert.equal(r.exitCode, 0, r.stderr)
    forceSync()
    await until('the ExternalSecret Ready again', () => sb.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name: 'ghcr-pull-secret' })?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
  }
})

test('the GitHub token in git-creds close to expiry and without read:packages: exit 1 naming both; the token only in the Authorization header', { timeout: 60_000 }, async () => {
  const { createServer } = await import('node:http')
  const seen: string[] = []
  const expires = new Date(Date.now() + 3 * 86_400_000)
  const header = `${expires.toISOString().slice(0, 10)} ${expires.toISOString().slice(11, 19)} UTC`
  const github = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization === `Bearer ${PAT}` ? 'bearer-ok' : 'bearer-other'}`)
    res.writeHead(200, { 'content-type': 'application/json', 'x-oauth-scopes': 'repo, workflow', 'github-authentication-token-expiration': header })
    res.end(JSON.stringify({ login: 'meirongdev' }))
  })
  await new Promise<void>((r) => github.listen(0, '127.0.0.1', r))
  try {
    const url = `http://127.0.0.1:${(github.address() as { port: number }).port}`
    const r = await statusReport(makeCtx({ GITHUB_API_URL: url }), Date.now())
    assert.equal(r.exitCode, 1, screen(r))
    const token = r.problems.filter((p) => p.subject === 'GitHub token').map((p) => p.problem)
    assert.ok(token.some((p) => /the token in Secret argocd\/git-creds expires at .* \(in [23] days\)/.test(p)), token.join('\n') || screen(r))
    assert.ok(token.some((p) => /lacks the scope read:packages/.test(p)), token.join('\n'))
    assert.deepEqual(seen, ['GET /user bearer-ok'])
    assert.ok(!JSON.stringify(r).includes(PAT) && !screen(r).includes(PAT))
    // --offline: not asked, said so
    const offline = await statusReport({ ...makeCtx({ GITHUB_API_URL: url }), offline: true }, Date.now())
    assert.equal(seen.length, 1, 'no call with --offline')
    assert.ok(offline.notes.some((n) => /GitHub token \(Secret argocd\/git-creds\): skipped \(--offline\)/.test(n)), offline.notes.join('\n'))
  } finally {
    github.close()
  }
})

test("the app's Application deleted (the app moved away): exit 1 naming the app and 'matches no Application'", { timeout: 60_000 }, async () => {
  sb.store.delete({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'it-tools' })
  const r = await report()
  assert.equal(r.exitCode, 1, screen(r))
  const row = r.apps.find((a) => a.app === 'it-tools')
  assert.ok(row, screen(r))
  assert.equal(row.matches, false)
  assert.ok(row.problems.some((p) => /ImageUpdater argocd\/it-tools matches no Application/.test(p.problem)), screen(r))
  const cli = await runSetup([], cliEnv(), 'scripts/status.ts')
  assert.equal(cli.code, 1, cli.stdout + cli.stderr)
  assert.match(cli.stdout, /it-tools: ImageUpdater argocd\/it-tools matches no Application/)
})
