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
  // a reconcile that read the Application before the edit may still sync it: let it finish first
  await sb.actors.settle()
  try {
    return await fn()
  } finally {
    edit(APPLICATION(app), (a) => (a.spec.syncPolicy = before.spec.syncPolicy))
  }
}

/** The report once `ref` holds what `holds` says, edited again (by `change`) while something puts it back. */
async function holding(ref: { apiVersion: string; kind: string; namespace?: string; name: string }, holds: (o: any) => boolean, change: (o: any) => void): Promise<StatusReport> {
  for (let i = 0; ; i++) {
    if (!holds(sb.store.get(ref))) edit(ref, change)
    const r = await report()
    if (holds(sb.store.get(ref)) || i >= 20) return r
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

test('after a full setup: exit 0, one row per app with its Application, ImageUpdater, images and last check; the CLI says the same without a token', { timeout: 180_000 }, async () => {
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

test('the controller scaled to 0: exit 1 naming the controller and how to scale it back', { timeout: 180_000 }, async () => {
  const scale = async (replicas: number) => {
    // a sync of the chart's Application that started before automated sync went off still completes
    // and puts the replicas back: set them again until they hold
    await until(`controller at ${replicas} ready`, () => {
      if (sb.store.get(CONTROLLER)?.spec?.replicas !== replicas) edit(CONTROLLER, (d) => (d.spec.replicas = replicas))
      return Number(sb.store.get(CONTROLLER)?.status?.readyReplicas ?? 0) === replicas && sb.store.get(CONTROLLER)?.spec?.replicas === replicas
    }, 60_000)
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

test('a bad token in Vault, refreshed into the pull secret by ESO: exit 1 naming the registry refusal', { timeout: 180_000 }, async () => {
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

test('an onboarded Application that no ImageUpdater selects: exit 1 naming the app', { timeout: 180_000 }, async () => {
  await withoutAutoSync(iuOwner(), async () => {
    const before = edit(IU, (o) => (o.spec.applicationRefs[0].namePattern = 'it-tools-old'))
    try {
      // a sync that was under way when automated sync went off may still put the old one back: edit again then
      const r = await holding(IU, (o) => o.spec.applicationRefs[0].namePattern === 'it-tools-old', (o) => (o.spec.applicationRefs[0].namePattern = 'it-tools-old'))
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

test('an ImageUpdater in git invalid for the installed release (a misspelt field the API server drops): exit 1 naming file and field', { timeout: 180_000 }, async () => {
  const file = git(repo.dir, 'grep', '-l', 'kind: ImageUpdater', 'HEAD', '--', '*.yaml').split('\n')[0].replace(/^HEAD:/, '')
  const docs = parseAllDocuments(read(repo.dir, file))
  const doc = docs.find((d) => d.get('kind') === 'ImageUpdater')!
  doc.setIn(['spec', 'applicationRefs', 0, 'images', 0, 'commonUpdateSettings', 'allowTag'], 'regexp:^sha-')
  writeFileSync(join(repo.dir, file), docs.map((d) => String(d)).join('---\n'))
  git(repo.dir, 'commit', '-qam', 'a typo')
  git(repo.dir, 'push', '-q', 'origin', 'HEAD')
  const head = git(repo.dir, 'rev-parse', 'HEAD')
  try {
    // status reads git at the commit Argo CD synced
    await until('Argo CD synced the typo', () => sb.store.get(APPLICATION(iuOwner()))?.status?.sync?.revision === head, 30_000)
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    const invalid = problems(r).find((p) => p.includes(`ImageUpdater argocd/it-tools in git (${file}) is not valid for Image Updater 1.2.2`))
    assert.ok(invalid, screen(r))
    assert.match(invalid, /spec\.applicationRefs\[0\]\.images\[0\]\.commonUpdateSettings\.allowTag: unknown field \(the CRD does not declare it\)/)
  } finally {
    git(repo.dir, 'revert', '--no-edit', 'HEAD')
    git(repo.dir, 'push', '-q', 'origin', 'HEAD')
  }
})

test('the pull secret no longer refreshed by ESO (Vault lost the key): exit 1 naming the ExternalSecret', { timeout: 180_000 }, async () => {
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

test('the GitHub token in git-creds close to expiry and without read:packages: exit 1 naming both; the token only in the Authorization header', { timeout: 180_000 }, async () => {
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

test('the registry: the newest allowed tag, read with the pull secret, newer than what runs for more than 3 intervals; then credentials it refuses', { timeout: 180_000 }, async () => {
  const { createServer } = await import('node:http')
  const built = (tag: string) => ({ 'sha-3f2c1ab': Date.now() - 7_200_000, 'sha-ffffff1': Date.now() - 20 * 60_000, 'v9.9.9': Date.now() }[tag])
  let accepted = `meirongdev:${PAT}`
  const hits: string[] = []
  const registry = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const base = `http://127.0.0.1:${(registry.address() as { port: number }).port}`
    hits.push(`${req.method} ${url.pathname}`)
    if (url.pathname === '/token') {
      const basic = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()
      if (basic !== accepted) return void res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t-ok"}')
    }
    if (req.headers.authorization !== 'Bearer t-ok') return void res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="fake",scope="repository:meirongdev/it-tools:pull"` }).end()
    const m = /^\/v2\/meirongdev\/it-tools\/(tags\/list|manifests\/(.+)|blobs\/sha256:(.+))$/.exec(url.pathname)
    if (!m) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' })
    if (m[1] === 'tags/list') return void res.end(JSON.stringify({ name: 'meirongdev/it-tools', tags: ['sha-3f2c1ab', 'sha-ffffff1', 'v9.9.9'] }))
    if (m[2]) return void res.end(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${m[2]}` } }))
    res.end(JSON.stringify({ created: new Date(built(m[3]!)!).toISOString() }))
  })
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r))
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'argocd-image-updater-config' }
  try {
    await withoutAutoSync('argocd-image-updater', async () => {
      const before = edit(cm, (o) => (o.data['registries.conf'] = String(o.data['registries.conf']).replace(/api_url: \S+ghcr\.io\S*/, `api_url: http://127.0.0.1:${(registry.address() as { port: number }).port}`)))
      assert.notEqual(sb.store.get(cm)!.data['registries.conf'], before.data['registries.conf'], 'the ghcr.io entry now points at the fake registry')
      try {
        const r = await report()
        const img = r.apps[0].images[0]
        assert.equal(img.newest, 'sha-ffffff1', screen(r))
        assert.equal(r.exitCode, 1, screen(r))
        assert.ok(problems(r).some((p) => /ghcr\.io\/meirongdev\/it-tools:sha-ffffff1 \(pushed .*\) is allowed and newer than the running sha-3f2c1ab, and has not been deployed for more than 3 intervals \(2m\)/.test(p)), screen(r))
        assert.ok(hits.includes('GET /token'), 'through the token service, with the pull secret')
        // a tag pushed a minute ago is not late yet
        const soon = await report(built('sha-ffffff1')! + 60_000)
        assert.ok(!problems(soon).some((p) => /not been deployed/.test(p)), screen(soon))

        accepted = 'meirongdev:another-token'
        const refused = await report()
        assert.equal(refused.exitCode, 1)
        assert.ok(problems(refused).some((p) => /the registry refused the credentials of the pull secret for ghcr\.io\/meirongdev\/it-tools: .*401/.test(p)), screen(refused))
        assert.ok(!JSON.stringify(refused).includes(PAT), 'the token is never printed')
      } finally {
        edit(cm, (o) => (o.data = before.data))
      }
    })
  } finally {
    registry.close()
  }
})

test('write-back failing (the token may not push): exit 1 naming it; once it may, the update lands and shows as the last update', { timeout: 180_000 }, async () => {
  sb.actors.gitHost.readOnlyToken(PAT)
  sb.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', 'sha-abcdef1', new Date())
  try {
    await until('a failed write-back', () => sb.store.get(IU)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Error' && c.status === 'True'), 30_000)
    const r = await report()
    assert.equal(r.exitCode, 1, screen(r))
    assert.ok(problems(r).some((p) => /^it-tools: write-back to git fails \(controller log: Could not update application spec: .*Permission to .* denied/.test(p)), screen(r))
  } finally {
    sb.actors.gitHost.reset()
  }
  await until('the update written back', () => sb.store.get(IU)?.status?.lastUpdatedAt, 30_000)
  await until('the new tag running', () => (sb.store.get(APPLICATION('it-tools'))?.status?.summary?.images ?? []).some((i: string) => i.endsWith(':sha-abcdef1')), 30_000)
  const r = await report()
  const row = r.apps[0]
  assert.equal(row.images[0].running, 'sha-abcdef1', screen(r))
  assert.ok(row.lastUpdate, screen(r))
  assert.ok(row.recentUpdates.some((u) => u.endsWith('ghcr.io/meirongdev/it-tools:sha-abcdef1')), screen(r))
})

test("the app's Application deleted (the app moved away): exit 1 naming the app and 'matches no Application'", { timeout: 180_000 }, async () => {
  sb.store.delete({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'it-tools' })
  const r = await report()
  assert.equal(r.exitCode, 1, screen(r))
  const row = r.apps.find((a) => a.app === 'it-tools')
  assert.ok(row, screen(r))
  assert.equal(row.matches, false)
  // the ImageUpdater stays when it lives outside the deleted Application; when Argo CD's resources
  // finalizer took it along, the onboarded app is still named
  assert.ok(row.problems.some((p) => /matches no Application/.test(p.problem)), screen(r))
  const cli = await runSetup([], cliEnv(), 'scripts/status.ts')
  assert.equal(cli.code, 1, cli.stdout + cli.stderr)
  assert.match(cli.stdout, /✗ it-tools: .*matches no Application/)
})
