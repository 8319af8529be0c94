// A server that accepts connections and never answers: the run ends on its own, in bounded time,
// with one cause and one fix, whether the stalled server is the Kubernetes API or origin.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixture, git, runSetup } from './helpers.ts'
import { pushBranch } from '../src/git.ts'
import { SetupError } from '../src/errors.ts'
import { startSandbox } from '../sandbox/index.ts'
import { loadConfig } from '../src/settings.ts'
import { kube } from '../src/cluster/kube.ts'
import type { Ctx } from '../src/context.ts'

function ctxFor(kubeconfig: string, env: Record<string, string> = {}): Ctx {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: '/tmp/none', GITHUB_USERNAME: 'meirongdev', KUBECONFIG: kubeconfig, ...env }, cwd: '/nonexistent-dir' })
  return { settings, secrets, repoDir: '/tmp/none', projectDir: '/tmp', dryRun: false, yes: false, log: () => {}, touchedPaths: new Set() } as unknown as Ctx
}

/** A TCP server that accepts and then says nothing, ever. */
async function stalledServer(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

test('a stalled Kubernetes API: the run stops in bounded time with one cause and one fix', { timeout: 90_000 }, async () => {
  const fx = fixture()
  const stalled = await stalledServer()
  try {
    const kubeconfig = join(fx.stateDir, 'stalled-kubeconfig')
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: https://127.0.0.1:${stalled.port}\n    insecure-skip-tls-verify: true\nusers:\n- name: s\n  user:\n    token: x\ncontexts:\n- name: s\n  context:\n    cluster: s\n    user: s\ncurrent-context: s\n`,
    )
    const started = Date.now()
    const run = await runSetup(['--only', '1', '--dry-run'], { ...fx.env, KUBECONFIG: kubeconfig, KUBE_CONTEXT: 's', GITHUB_PAT: 'x', REQUEST_TIMEOUT_SECONDS: '1' })
    const seconds = (Date.now() - started) / 1000
    assert.equal(run.code, 1, run.stderr)
    // 4 attempts of 1 s with backoff, plus start-up: far below the bound even on a loaded machine
    assert.ok(seconds < 45, `took ${seconds}s`)
    assert.match(run.stderr, /is not reachable: .*no answer from the API server within (1s|the request timeout)/)
    assert.equal((run.stderr.match(/fix: /g) ?? []).length, 1, run.stderr)
    assert.ok(run.stderr.length < 600, `one short cause: ${run.stderr}`)
  } finally {
    await stalled.close()
    fx.cleanup()
  }
})

test('a stalled push is stopped, tried again once, then fails with cause and fix in bounded time', { timeout: 60_000 }, async () => {
  const fx = fixture()
  const stalled = await stalledServer()
  try {
    git(fx.dir, 'remote', 'set-url', 'origin', `http://127.0.0.1:${stalled.port}/homelab.git`)
    git(fx.dir, 'commit', '-q', '--allow-empty', '-m', 'something to push')
    const started = Date.now()
    await assert.rejects(pushBranch(fx.dir, 'main', 1, 2), (err: unknown) => {
      assert.ok(err instanceof SetupError)
      assert.match(err.message, /git push to origin\/main got no answer: 2 attempts, each stopped after 1s/)
      assert.match(err.fix, /raise REQUEST_TIMEOUT_SECONDS/)
      return true
    })
    const seconds = (Date.now() - started) / 1000
    assert.ok(seconds < 15, `took ${seconds}s`)
  } finally {
    await stalled.close()
    fx.cleanup()
  }
})

test('an API outage during a wait: one cause, said once, with the API fix, within SYNC_TIMEOUT', { timeout: 60_000 }, async () => {
  const sb = await startSandbox({ repoDir: '/tmp/none', actors: false })
  try {
    const k = await kube(ctxFor(sb.kubeconfigPath, { REQUEST_TIMEOUT_SECONDS: '1' }))
    const waiting = k.waitFor({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'never' }, () => ({ waiting: 'absent' }), {
      timeoutMs: 4000,
      what: 'ConfigMap default/never',
      fix: 'open the Argo CD UI',
    })
    await new Promise((r) => setTimeout(r, 300))
    await sb.stop()
    const started = Date.now()
    await assert.rejects(waiting, (err: unknown) => {
      assert.ok(err instanceof SetupError)
      assert.match(err.message, /the Kubernetes API at \S+ stopped answering while waiting 4s for ConfigMap default\/never: /)
      assert.ok((err.message.match(/ECONNREFUSED|no answer/g) ?? []).length <= 1, err.message)
      assert.ok(err.message.length < 300, err.message)
      assert.match(err.fix, /kubectl get --raw \/readyz/)
      assert.doesNotMatch(err.fix, /Argo CD UI/)
      return true
    })
    assert.ok(Date.now() - started < 6000)
  } finally {
    await sb.stop()
  }
})

test('a wait on a stalled API ends at SYNC_TIMEOUT, not later', { timeout: 60_000 }, async () => {
  const stalled = await stalledServer()
  const fx = fixture()
  try {
    const kubeconfig = join(fx.stateDir, 'stalled-kubeconfig')
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: https://127.0.0.1:${stalled.port}\n    insecure-skip-tls-verify: true\nusers:\n- name: s\n  user:\n    token: x\ncontexts:\n- name: s\n  context:\n    cluster: s\n    user: s\ncurrent-context: s\n`,
    )
    // a request timeout far longer than the wait: the wait's own deadline must still hold
    const k = await kube(ctxFor(kubeconfig, { REQUEST_TIMEOUT_SECONDS: '60' }))
    const started = Date.now()
    await assert.rejects(k.waitFor({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'x' }, () => ({ ready: true }), { timeoutMs: 2000, what: 'ConfigMap default/x' }), /timed out after 2s waiting for ConfigMap default\/x/)
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`)
  } finally {
    await stalled.close()
    fx.cleanup()
  }
})
