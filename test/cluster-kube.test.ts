// The cluster access layer against the sandbox API server (no simulated controllers): reads with
// retry, server-side apply, and watch-based waits that see a change at once, survive dropped
// watches, never count an error as ready, and time out naming the last state.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kubeconfigYaml, startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createPki } from '../sandbox/apiserver/pki.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { kube, type Kube } from '../src/cluster/kube.ts'
import { clientCertificateProblem } from '../src/cluster/client-cert.ts'

let sb: Sandbox
let k: Kube

function ctxFor(kubeconfig: string, kubeContext?: string): Ctx {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: '/tmp/none', GITHUB_USERNAME: 'meirongdev', KUBECONFIG: kubeconfig, ...(kubeContext !== undefined ? { KUBE_CONTEXT: kubeContext } : {}) }, cwd: '/nonexistent-dir' })
  return { settings, secrets, repoDir: '/tmp/none', projectDir: '/tmp', dryRun: false, yes: false, log: () => {}, touchedPaths: new Set() } as unknown as Ctx
}

const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: 'default' }, data })
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'probe' }

before(async () => {
  sb = await startSandbox({ repoDir: '/tmp/none', actors: false })
  k = await kube(ctxFor(sb.kubeconfigPath))
  if (!sb.store.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' }))
    sb.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } })
})
after(async () => {
  await sb?.stop()
})

test('get of a missing object is undefined; server-side apply creates and records our manager', async () => {
  assert.equal(await k.get({ ...ref, name: 'nope' }), undefined)
  await k.apply(cm({ level: 'debug' }), { force: true })
  const got = await k.get(ref)
  assert.equal(got?.data.level, 'debug')
  const managers = (got?.metadata.managedFields as { manager: string }[] | undefined)?.map((m) => m.manager) ?? []
  assert.ok(managers.includes('image-updater-setup'), `managers: ${managers}`)
  assert.ok((sb.stats().mutating['PATCH configmaps'] ?? 0) >= 1)
})

test('reads are retried through transient 500s', async () => {
  sb.faults.fail500Next(2, 'configmaps')
  assert.equal((await k.get(ref))?.data.level, 'debug')
})

test('a wait sees the change within a fraction of a second (watch, not sleep)', async () => {
  setTimeout(() => {
    const cur = sb.store.get(ref)!
    sb.store.update({ ...cur, data: { level: 'info' } })
  }, 100)
  const t0 = Date.now()
  const obj = await k.waitFor(ref, (o) => (o?.data?.level === 'info' ? { ready: true } : { waiting: `level=${o?.data?.level}` }), { timeoutMs: 5000, what: 'probe info' })
  assert.equal(obj.data.level, 'info')
  assert.ok(Date.now() - t0 < 800, `took ${Date.now() - t0}ms`)
})

test('a dropped watch is re-established and the change is still seen', async () => {
  const reads = () => Object.entries(sb.stats().requests).filter(([key]) => !key.startsWith('PATCH') && key.includes('configmaps')).reduce((n, [, v]) => n + v, 0)
  const readsBefore = reads()
  sb.faults.dropWatchesAfterMs(50)
  try {
    const waiting = k.waitFor(ref, (o) => (o?.data?.level === 'warn' ? { ready: true } : { waiting: `level=${o?.data?.level}` }), { timeoutMs: 15_000, what: 'probe warn' })
    // the change comes once the watch has dropped and come back a few times, however busy the machine
    const deadline = Date.now() + 10_000
    while (reads() - readsBefore < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const cur = sb.store.get(ref)!
    sb.store.update({ ...cur, data: { level: 'warn' } })
    const obj = await waiting
    assert.equal(obj.data.level, 'warn')
    assert.ok(reads() - readsBefore >= 4, `only ${reads() - readsBefore} reads/watches: the watch was not re-established`)
  } finally {
    sb.faults.dropWatchesAfterMs(-1)
  }
})

test('a run of API calls shares one TLS connection (client-node alone opens one per request)', async () => {
  sb.resetStats()
  for (let i = 0; i < 10; i++) await k.get(ref)
  await k.list('v1', 'ConfigMap', 'default')
  await k.apply(cm({ level: 'warn' }), { force: true })
  const { tlsConnections } = sb.stats()
  // 0 when the connection kept from the tests before is still open
  assert.ok(tlsConnections <= 1, `${tlsConnections} TLS connections for 12 requests`)
})

test('an exec between requests does not cost the requests their kept connection', async () => {
  sb.store.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'exec-target', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } }, 'test', { force: true })
  sb.pods.registerExec('default', 'exec-target', async () => ({ stdout: 'ok', stderr: '', exitCode: 0 }))
  await k.get(ref)
  sb.resetStats()
  await k.get(ref)
  for (let i = 0; i < 2; i++) {
    assert.equal((await k.exec('default', 'exec-target', undefined, ['true'])).stdout, 'ok')
    await k.get(ref)
  }
  // each exec's WebSocket takes a connection of its own; the reads stay on the one kept before
  assert.equal(sb.stats().tlsConnections, 2)
})

test('reads started together discover their apiVersion once (client-node alone sends one discovery GET each)', async () => {
  const fresh = await kube(ctxFor(sb.kubeconfigPath))
  sb.resetStats()
  await Promise.all([
    fresh.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'a' }),
    fresh.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'b' }),
    fresh.get({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'default', name: 'c' }),
    fresh.list('apps/v1', 'ReplicaSet', 'default'),
  ])
  assert.equal(sb.stats().reads['/apis/apps/v1'], 1)
  // a kind the kept list lacks is looked up again (a CRD installed since the first discovery)
  await assert.rejects(fresh.get({ apiVersion: 'apps/v1', kind: 'NoSuchKind', namespace: 'default', name: 'x' }))
  assert.ok(sb.stats().reads['/apis/apps/v1']! >= 2)
})

test('the shared TLS context still checks the server: a kubeconfig that trusts another CA is refused, for requests and execs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-ca-'))
  try {
    const other = createPki()
    const file = join(dir, 'kubeconfig')
    // the sandbox's own token, another CA: only the server's certificate can fail here
    writeFileSync(file, kubeconfigYaml(sb.url, { ...sb.pki, caPem: other.caPem }, sb.token), { mode: 0o600 })
    const wrong = await kube(ctxFor(file))
    await assert.rejects(wrong.get(ref), /SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i)
    await assert.rejects(wrong.exec('default', 'probe', undefined, ['true']), /SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i)
    // control: the same file with the sandbox's CA reads fine
    writeFileSync(file, kubeconfigYaml(sb.url, sb.pki, sb.token), { mode: 0o600 })
    await (await kube(ctxFor(file))).list('v1', 'ConfigMap', 'default')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a k3s.yaml copied over a year ago: its expired client certificate is named with its date and the fix, before any request; the API server itself answers 401", async () => {
  const issued = new Date(Date.now() - 400 * 86_400_000)
  const old = await startSandbox({ repoDir: '/tmp/none', actors: false, pki: createPki(new Date(), { clientIssuedAt: issued }) })
  try {
    old.resetStats()
    await assert.rejects(kube(ctxFor(old.kubeconfigPath)), (e: Error & { fix?: string }) => {
      assert.match(e.message, /^the client certificate of kubeconfig user sandbox \(context sandbox, CN=sandbox-admin\) expired on \d{4}-\d\d-\d\d \(3[45] day\(s\) ago\), so the API server at https:\/\/127\.0\.0\.1:\d+ answers 401 Unauthorized to everything; nothing was changed$/)
      assert.equal(e.fix, `on the k3s server, restart k3s (sudo systemctl restart k3s: it renews certificates within 90 days of expiry as it starts), copy /etc/rancher/k3s/k3s.yaml from there to ${old.kubeconfigPath} with its server: line set to ${old.url}, then rerun`)
      return true
    })
    assert.deepEqual(old.stats().requests, {}, 'nothing was sent')
    // what kubectl (and the product without this check) gets from the API server for that certificate
    // (async: the sandbox answers from this process)
    const got = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile('kubectl', ['--kubeconfig', old.kubeconfigPath, 'get', 'ns'], { encoding: 'utf8', timeout: 30_000 }, (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr })),
    )
    assert.notEqual(got.code, 0)
    assert.match(got.stderr, /Unauthorized|must be logged in/)
  } finally {
    await old.stop()
  }
  // a certificate that is valid passes the check (the shared sandbox above signs in with one)
  await kube(ctxFor(sb.kubeconfigPath))
})

test('the client certificate check: not valid yet is a clock problem; a user with a token, or a valid certificate, passes', () => {
  const now = new Date()
  const certData = (pki: ReturnType<typeof createPki>) => Buffer.from(pki.client.certPem).toString('base64')
  const future = createPki(now, { clientIssuedAt: new Date(now.getTime() + 2 * 86_400_000) })
  const early = clientCertificateProblem({ name: 'admin', certData: certData(future) }, 'home', '/k', 'https://k3s:6443', now)
  assert.match(early?.message ?? '', /^the client certificate of kubeconfig user admin \(context home, CN=sandbox-admin\) is valid only from \S+, later than this machine's clock/)
  assert.equal(early?.fix, "set this machine's clock right (timedatectl set-ntp true), then rerun")
  const expired = createPki(now, { clientIssuedAt: new Date(now.getTime() - 400 * 86_400_000) })
  assert.ok(clientCertificateProblem({ name: 'admin', certData: certData(expired) }, 'home', '/k', 'https://k3s:6443', now))
  assert.equal(clientCertificateProblem({ name: 'admin', certData: certData(expired), token: 'also-a-token' }, 'home', '/k', 'https://k3s:6443', now), undefined, 'the token signs in')
  assert.equal(clientCertificateProblem({ name: 'admin', certData: certData(createPki(now)) }, 'home', '/k', 'https://k3s:6443', now), undefined)
  assert.equal(clientCertificateProblem({ name: 'admin', certData: 'bm90IGEgY2VydA==' }, 'home', '/k', 'https://k3s:6443', now), undefined, 'not a certificate: the handshake says so')
})

test('KUBECONFIG listing several files reads them merged, as kubectl does: a missing one skipped, the first to name a context wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-merge-'))
  try {
    // another cluster's kubeconfig first, with its own current-context and a context also named sandbox
    const other = join(dir, 'other.yaml')
    writeFileSync(other, kubeconfigYaml('https://10.9.9.9:6443', createPki(), 'other-token').replace(/name: sandbox\b/g, 'name: office').replace(/cluster: sandbox\b/g, 'cluster: office').replace(/user: sandbox\b/g, 'user: office').replace(/current-context: sandbox\b/, 'current-context: office'), { mode: 0o600 })
    const list = [join(dir, 'missing.yaml'), other, sb.kubeconfigPath].join(':')
    const merged = await kube(ctxFor(list, 'sandbox'))
    assert.equal(merged.contextName, 'sandbox')
    assert.equal(merged.server, sb.url)
    await merged.list('v1', 'ConfigMap', 'default')
    // with KUBE_CONTEXT empty, the first file's current-context decides, as in kubectl
    const first = await kube(ctxFor(list, ''))
    assert.equal(first.contextName, 'office')
    assert.equal(first.server, 'https://10.9.9.9:6443')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a timeout names what was awaited and the last state seen; a failing check is never ready', async () => {
  await assert.rejects(
    k.waitFor(ref, (o) => ({ waiting: `level=${o?.data?.level}` }), { timeoutMs: 300, what: 'probe error', fix: 'do X' }),
    (err: Error & { fix?: string }) => /timed out after 0s waiting for probe error; last seen: level=warn/.test(err.message) && err.fix === 'do X',
  )
  await assert.rejects(
    k.waitFor(ref, () => {
      throw new Error('boom')
    }, { timeoutMs: 300, what: 'probe throwing' }),
    /last seen: error while checking: boom/,
  )
  await assert.rejects(k.waitFor(ref, () => ({ failed: 'sync Failed' }), { timeoutMs: 3000, what: 'probe failing' }), /probe failing: sync Failed/)
})

test('merge patch changes only what it names', async () => {
  await k.mergePatch(ref, { metadata: { annotations: { a: 'b' } } })
  const got = await k.get(ref)
  assert.equal(got?.metadata.annotations?.a, 'b')
  assert.equal(got?.data.level, 'warn')
})

test('a kind the cluster does not serve is named, with "is its CRD installed?", never the API server health; not retried, a wait ends at once', async () => {
  const widget = (apiVersion: string) => ({ apiVersion, kind: 'Widget', metadata: { name: 'w', namespace: 'default' } })
  for (const apiVersion of ['v1', 'widgets.example.com/v1']) {
    const requests = () => Object.values(sb.stats().requests).reduce((a, b) => a + b, 0)
    const before = requests()
    const err: any = await k.apply(widget(apiVersion), { force: true }).then(() => assert.fail('applied'), (e) => e)
    assert.match(err.message, new RegExp(`does not serve Widget \\(${apiVersion.replace('.', '\\.')}\\), so the setup cannot apply Widget default/w`))
    assert.match(err.fix, /^is its CRD installed\? kubectl api-resources --api-group=/)
    assert.doesNotMatch(`${err.message} ${err.fix}`, /readyz|health/)
    assert.ok(requests() - before <= 1, `one discovery read, no retries (${requests() - before})`)
  }
  const listed: any = await k.list('widgets.example.com/v1', 'Widget').then(() => assert.fail('listed'), (e) => e)
  assert.match(listed.fix, /is its CRD installed\?.*--api-group=widgets\.example\.com/)
  const started = Date.now()
  const waited: any = await k.waitFor({ apiVersion: 'v1', kind: 'Widget', namespace: 'default', name: 'w' }, () => ({ waiting: 'never' }), { timeoutMs: 10_000, what: 'widget w' }).then(() => assert.fail('waited'), (e) => e)
  assert.match(waited.message, /does not serve Widget \(v1\)/)
  assert.ok(Date.now() - started < 5_000, 'the wait did not run to its timeout')
})
