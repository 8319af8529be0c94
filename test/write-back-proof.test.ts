// Task 7's write-back proof and task 1's token check against a fake GitHub API on 127.0.0.1 (no
// test reaches the internet): each failure stops with cause and fix; offline is said, not failed.
// Also the pull secret's own name (task 2), whose ExternalSecret file these tests render.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import { SetupError } from '../src/errors.ts'
import secretsTask from '../tasks/02-external-secrets.ts'
import { checkToken, proveWriteBack, protectionProblem, schemeProblem } from '../src/cluster/write-back-proof.ts'
import { parseRepoUrl } from '../src/cluster/github-api.ts'

const TOKEN = ['ghp', 'fakeGithubApiToken0123456789abcdefXYZ'].join('_')

interface Fake {
  scopes?: string
  status?: number
  repo?: Record<string, unknown>
  branch?: Record<string, unknown>
  protection?: { status: number; body?: unknown }
  rules?: unknown[]
}
let fake: Fake = {}
const seen: { url: string; auth?: string }[] = []
let server: Server
let api: string
let repo: SampleRepo
let stateDir: string

function answer(req: IncomingMessage): { status: number; body: unknown } {
  const url = req.url ?? ''
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { message: 'Bad credentials' } }
  if (fake.status) return { status: fake.status, body: {} }
  if (url === '/repos/meirongdev/homelab') return { status: 200, body: { private: true, permissions: { admin: false, push: true, pull: true }, ...fake.repo } }
  if (url === '/repos/meirongdev/homelab/branches/main') return { status: 200, body: { name: 'main', protected: false, ...fake.branch } }
  if (url === '/repos/meirongdev/homelab/branches/main/protection') return { status: fake.protection?.status ?? 404, body: fake.protection?.body ?? { message: 'Not Found' } }
  if (url === '/repos/meirongdev/homelab/rules/branches/main') return { status: 200, body: fake.rules ?? [] }
  if (url === '/user') return { status: 200, body: { login: 'meirongdev' } }
  return { status: 404, body: { message: 'Not Found' } }
}

before(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization })
    const { status, body } = answer(req)
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 200 ? { 'x-oauth-scopes': fake.scopes ?? 'read:packages, repo' } : {}) })
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  api = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'wbp-state-'))
})
after(() => {
  server.close()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

async function makeCtx(env: Record<string, string> = {}, extra: Partial<Ctx> = {}): Promise<Ctx> {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', GITHUB_PAT: TOKEN, GITHUB_API_URL: api, STATE_DIR: stateDir, ...env }, cwd: '/nonexistent-dir' })
  const ctx = { settings, secrets, repoDir: repo.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: true, overlay: new Map(), yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(stateDir, repo.dir), ...extra } as Ctx
  // task 2's ExternalSecrets, as the dry-run overlay has them before the push
  for (const c of await secretsTask.plan(ctx)) if (c.preview) ctx.overlay!.set(c.preview.path, c.preview.content)
  return ctx
}

const rejectsWith = (p: Promise<unknown>, cause: RegExp, fix: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SetupError, String(e))
    assert.match(e.message, cause)
    assert.match(e.fix, fix)
    assert.ok(!e.message.includes(TOKEN) && !e.fix.includes(TOKEN), 'the token is never in a message')
    return true
  })

test('a token that can push to an unprotected branch passes; the token goes in a header, never a URL', async () => {
  fake = {}
  seen.length = 0
  const lines = await proveWriteBack(await makeCtx())
  assert.match(lines.join('\n'), /token scopes: read:packages, repo/)
  assert.match(lines.join('\n'), /the token can push to meirongdev\/homelab/)
  assert.match(lines.join('\n'), /branch main accepts a direct push/)
  assert.deepEqual([...new Set(seen.map((s) => s.url))], ['/repos/meirongdev/homelab', '/repos/meirongdev/homelab/branches/main', '/repos/meirongdev/homelab/rules/branches/main'])
  assert.ok(seen.every((s) => s.auth === `Bearer ${TOKEN}` && !s.url.includes(TOKEN)), 'header only')
})

test('a token that cannot push, or cannot see the repo, stops with cause and fix', async () => {
  fake = { repo: { permissions: { push: false, pull: true } } }
  await rejectsWith(proveWriteBack(await makeCtx()), /cannot push to meirongdev\/homelab \(GitHub permissions.push is false\)/, /write access.*GITHUB_PAT.*--from 1/)
  fake = { status: 404 }
  await rejectsWith(proveWriteBack(await makeCtx()), /cannot see meirongdev\/homelab on GitHub \(404\)/, /repo scope/)
  fake = {}
  await rejectsWith(proveWriteBack(await makeCtx({ GITHUB_PAT: 'ghp_wrongwrongwrongwrongwrong' })), /401 Bad credentials/, /classic token with read:packages and repo/)
})

test('scopes: read:packages and repo needed (public_repo for a public repo); a fine-grained token is refused for ghcr.io', async () => {
  fake = { scopes: 'repo' }
  await rejectsWith(checkToken(await makeCtx(), TOKEN), /lacks the scope read:packages \(ghcr.io pulls\) \(it has: repo\)/, /add read:packages/)
  fake = { scopes: 'read:packages, public_repo' }
  await rejectsWith(checkToken(await makeCtx(), TOKEN), /lacks the scope repo \(git write-back to a private repository\)/, /add repo/)
  fake = { scopes: 'read:packages, public_repo', repo: { private: false } }
  assert.match(await checkToken(await makeCtx(), TOKEN), /token scopes: read:packages, public_repo/)
  fake = { scopes: 'write:packages, repo' }
  assert.match(await checkToken(await makeCtx(), TOKEN), /token scopes/)
  const fine = ['github', 'pat', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'].join('_')
  await rejectsWith(checkToken(await makeCtx({}, { offline: true }), fine), /fine-grained token \(github_pat_…\): ghcr.io does not accept/, /classic personal access token with read:packages and repo/)
})

test('a protected branch that refuses a direct push stops before the push; unreadable rules are said', async () => {
  fake = { branch: { protected: true }, protection: { status: 200, body: { required_pull_request_reviews: { required_approving_review_count: 1 } } } }
  await rejectsWith(proveWriteBack(await makeCtx()), /branch main of meirongdev\/homelab is protected and requires pull request reviews/, /push to main directly.*--from 7/)
  fake = { rules: [{ type: 'deletion' }, { type: 'pull_request', parameters: {} }] }
  await rejectsWith(proveWriteBack(await makeCtx()), /ruleset rules that refuse a direct push \(pull_request\)/, /bypass list/)
  fake = { branch: { protected: true }, protection: { status: 404 } }
  assert.match((await proveWriteBack(await makeCtx())).join('\n'), /protected; its rules are not readable with this token/)
  assert.equal(protectionProblem({ restrictions: { users: [{ login: 'MeiRongDev' }], teams: [] } }, 'meirongdev'), undefined)
  assert.match(protectionProblem({ restrictions: { users: [{ login: 'other' }], teams: [] } }, 'meirongdev')!, /only from other/)
})

test('an SSH repoURL with a username/password Secret stops with the https URL to use, without any network', async () => {
  seen.length = 0
  await rejectsWith(proveWriteBack(await makeCtx({ GITOPS_REPO_URL: 'git@github.com:meirongdev/homelab.git' })), /is SSH, but the write-back Secret git-creds .* holds username, password: Image Updater needs sshPrivateKey/, /GITOPS_REPO_URL=https:\/\/github.com\/meirongdev\/homelab.git/)
  assert.equal(seen.length, 0)
  assert.equal(schemeProblem('https://github.com/a/b.git', { name: 's', keys: ['sshPrivateKey'] }, 'f')?.message.includes('needs username and password'), true)
  assert.deepEqual(parseRepoUrl('ssh://git@github.com/a/b.git'), { host: 'github.com', owner: 'a', repo: 'b', ssh: true })
  assert.deepEqual(parseRepoUrl('https://github.com/a/b'), { host: 'github.com', owner: 'a', repo: 'b', ssh: false })
})

test('offline or no network: the checks say they were skipped and do not fail', async () => {
  fake = { repo: { permissions: { push: false } } }
  assert.match((await proveWriteBack(await makeCtx({}, { offline: true }))).join('\n'), /skipped \(--offline\)/)
  assert.match((await proveWriteBack(await makeCtx({ GITHUB_API_URL: 'off' }))).join('\n'), /skipped \(GITHUB_API_URL=off\)/)
  const closed = createServer()
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
  const port = (closed.address() as { port: number }).port
  await new Promise<void>((r) => closed.close(() => r()))
  assert.match((await proveWriteBack(await makeCtx({ GITHUB_API_URL: `http://127.0.0.1:${port}` }))).join('\n'), /skipped \(GitHub API at http:\/\/127.0.0.1:\d+ not reachable: ECONNREFUSED\)/)
  assert.match(await checkToken(await makeCtx({}, { offline: true }), TOKEN), /token scope check skipped \(--offline\)/)
})

// ---------- the pull secret's own name, and the migration of a repo with the old one ----------
import { OLD_PULL_SECRET, PULL_SECRET, migratePullSecretName } from '../src/pull-secret.ts'
import { pullSecretRef } from '../src/repo-facts.ts'
import { readFileSync } from 'node:fs'

test('the pull secret is ghcr-pull-secret everywhere; a file with the old name changes in exactly those two values', async () => {
  const ctx = await makeCtx()
  const rel = 'k8s/helm/manifests/github-external-secret.yaml'
  const fresh = ctx.overlay!.get(rel)!
  assert.ok(!fresh.includes(OLD_PULL_SECRET), 'the new file never names the chart\'s Secret')
  assert.equal(fresh.match(new RegExp(`name: ${PULL_SECRET}$`, 'gm'))?.length, 2)
  // the ImageUpdater's pullSecret and the registries credentials are rendered from this reference
  assert.equal(pullSecretRef(ctx), 'pullsecret:argocd/ghcr-pull-secret')
  assert.ok(!readFileSync(resolve(import.meta.dirname, '..', 'manifests/image-updater-values.yaml'), 'utf8').includes(OLD_PULL_SECRET))
  // the file as an earlier version wrote it (old name, a user's comment kept by the rename)
  const old = fresh.replaceAll(PULL_SECRET, OLD_PULL_SECRET).replace('refreshInterval: 1h', 'refreshInterval: 1h # mine')
  const migrated = migratePullSecretName(old, rel)
  const changed = old.split('\n').filter((l, i) => l !== migrated.split('\n')[i])
  assert.deepEqual(changed.map((l) => l.trim()), [`name: ${OLD_PULL_SECRET}`, `name: ${OLD_PULL_SECRET}`])
  assert.match(migrated, /refreshInterval: 1h # mine/)
  assert.equal(migratePullSecretName(fresh, rel), fresh)
  // task 2 on a repo that has the old name: says so, and its edit is exactly the rename
  const logs: string[] = []
  const c2 = await makeCtx({}, { log: (l: string) => logs.push(l) })
  const oldFile = fresh.replaceAll(PULL_SECRET, OLD_PULL_SECRET)
  c2.overlay!.set(rel, oldFile)
  const plan = await secretsTask.plan(c2)
  const edit = plan.find((c) => c.preview?.path === rel)!
  assert.equal(edit.preview!.content, migratePullSecretName(oldFile, rel))
  assert.match(logs.join('\n'), /pull secret argocd-image-updater-secret renamed to ghcr-pull-secret/)
})
