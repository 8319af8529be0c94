// Ctrl-C during a lifecycle command (`--pause`, `--resume`, `--retire`), as a terminal sends it: SIGINT
// to the whole foreground process group (node and any git or kubectl it started), at a moment the
// command is busy. Each stop exits 130 with one line that says what stays and how to finish, the lock
// is released, and the same command, run again, finishes the job: nothing half-done is left behind,
// no app is recreated, and one more run has nothing to do.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fixture, git, PROJECT, runSetup, sandboxCtx, withCluster, type Cluster, type Fixture } from './helpers.ts'
import { planRetireRepo, retireFacts } from '../src/lifecycle/retire.ts'
import { lockFileOf } from '../src/state.ts'

const TSX = join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')

interface Ran {
  code: number | null
  stdout: string
  stderr: string
  /** the stdout line the Ctrl-C followed ('' when none was sent) */
  at: string
}

/**
 * Runs `scripts/run.ts ...args` as a user does, in a process group of its own (a terminal's
 * foreground job). `onLine` sees each stdout line; calling `ctrlC(delayMs)` from it sends SIGINT to
 * the whole group that long after, as Ctrl-C on a terminal does.
 */
function runCli(args: string[], env: NodeJS.ProcessEnv, onLine: (line: string, ctrlC: (delayMs: number) => void) => void = () => {}): Promise<Ran> {
  const cwd = mkdtempSync(join(tmpdir(), 'lifecycle-stop-cwd-'))
  writeFileSync(join(cwd, '.env'), '', { mode: 0o600 })
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, join(PROJECT, 'scripts', 'run.ts'), ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig)
      } catch {
        // the group is gone already
      }
    }
    let stdout = ''
    let stderr = ''
    let at = ''
    const guard = setTimeout(() => signal('SIGKILL'), 150_000)
    child.stdout.on('data', (d) => (stdout += d))
    createInterface({ input: child.stdout }).on('line', (line) =>
      onLine(line, (delayMs) => {
        if (at) return
        at = line
        setTimeout(() => signal('SIGINT'), delayMs)
      }),
    )
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', fail)
    child.on('close', (code) => {
      clearTimeout(guard)
      rmSync(cwd, { recursive: true, force: true })
      done({ code, stdout, stderr, at })
    })
  })
}

/** Ctrl-C `delayMs` after the first stdout line matching `when`. */
const runAndCtrlC = (args: string[], env: NodeJS.ProcessEnv, when: RegExp, delayMs: number) => runCli(args, env, (line, ctrlC) => when.test(line) && ctrlC(delayMs))

/** The same command again, with Argo CD's held sync let go once it is waiting for it. */
const finish = (args: string[], env: NodeJS.ProcessEnv, release: () => void) => runCli(args, env, (line) => /^→ sync Application argocd\/it-tools/.test(line) && release())

let fx: Fixture
let cluster: Cluster
let env: NodeJS.ProcessEnv
const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'it-tools' }
const DEPLOYMENT = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' }
const IU = { apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' }
const running = () => cluster.sandbox.store.get(DEPLOYMENT)?.spec?.template?.spec?.containers?.[0]?.image as string | undefined
const uid = () => cluster.sandbox.store.get(DEPLOYMENT)?.metadata?.uid as string | undefined
const pushed = () => git(fx.dir, 'rev-parse', 'HEAD') === git(fx.dir, 'rev-parse', 'origin/main')

function assertStopped(r: Ran, what: string): void {
  const all = `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n--- git log ---\n${git(fx.dir, 'log', '--format=%h %s', '-6')}`
  assert.ok(r.at, `the command never reached the moment to stop it:\n${all}`)
  assert.equal(r.code, 130, all)
  assert.match(r.stderr, new RegExp(`stopped by Ctrl-C during ${what}: the steps done so far stay; run the same command again to finish`), all)
  assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace')
  assert.equal(existsSync(lockFileOf(fx.dir)), false, 'the lock is released')
}

before(async () => {
  fx = fixture()
  cluster = await withCluster(fx)
  env = { ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '120' }
  const setup = await runSetup([], env)
  assert.equal(setup.code, 0, setup.stdout + setup.stderr)
})

after(async () => {
  await cluster?.stop()
  fx?.cleanup()
})

test('Ctrl-C while --pause waits for Argo CD: exit 130, the pause is pushed and finished by the same command; the app keeps its tag and its uid', { timeout: 180_000 }, async () => {
  const image = running()
  const before = uid()
  // Argo CD's sync of it-tools starts and stays under way: the command waits for it
  const release = cluster.sandbox.actors.faults.holdSync('it-tools')
  const r = await runAndCtrlC(['--pause', 'it-tools'], env, /^→ sync Application argocd\/it-tools/, 1500)
  assertStopped(r, '--pause it-tools')
  assert.ok(pushed(), 'the pause commit was pushed before the wait')
  assert.match(git(fx.dir, 'log', '-1', '--format=%s'), /^Pause Image Updater for it-tools$/)
  assert.ok(cluster.sandbox.store.get(IU), 'the stop came before Argo CD pruned the ImageUpdater')
  // the same command: the repo is done, so it goes on with the sync (Argo CD's held one lands meanwhile)
  const again = await finish(['--pause', 'it-tools'], env, release)
  assert.equal(again.code, 0, again.stdout + again.stderr)
  assert.match(again.stdout, /it-tools: paused/)
  assert.equal(cluster.sandbox.store.get(IU), undefined, 'the ImageUpdater is pruned')
  assert.equal(running(), image)
  assert.equal(uid(), before)
  const third = await runSetup(['--pause', 'it-tools'], env)
  assert.equal(third.code, 0, third.stdout + third.stderr)
  assert.match(third.stdout, /Nothing to do: everything is already so\./)
})

test('Ctrl-C while --resume waits for Argo CD: exit 130, the same command finishes; the ImageUpdater is back and reconciled', { timeout: 180_000 }, async () => {
  const before = uid()
  const release = cluster.sandbox.actors.faults.holdSync('it-tools')
  const r = await runAndCtrlC(['--resume', 'it-tools'], env, /^→ sync Application argocd\/it-tools/, 1500)
  assertStopped(r, '--resume it-tools')
  assert.ok(pushed())
  assert.equal(cluster.sandbox.store.get(IU), undefined, 'the stop came before Argo CD created the ImageUpdater')
  const again = await finish(['--resume', 'it-tools'], env, release)
  assert.equal(again.code, 0, again.stdout + again.stderr)
  assert.match(again.stdout, /it-tools: ImageUpdater it-tools is back and reconciled without errors/)
  assert.ok(cluster.sandbox.store.get(IU))
  assert.equal(uid(), before)
  const third = await runSetup(['--resume', 'it-tools'], env)
  assert.match(third.stdout, /Nothing to do: everything is already so\./, third.stdout + third.stderr)
})

test('--retire stopped amid its file changes, then by Ctrl-C during its commit, then while it waits after the push: each time the same command goes on; it finishes the retirement, verified; then nothing to do', { timeout: 300_000 }, async () => {
  const before = uid()
  const image = running()
  // 1. amid its file changes: what a run stopped after its third file change leaves (the file
  // writes take a millisecond each, too quick to stop from outside at a chosen one)
  const ctx = sandboxCtx({ repoDir: fx.dir, kubeconfig: cluster.sandbox.kubeconfigPath, stateDir: fx.stateDir, pat: cluster.token })
  const changes = await planRetireRepo(ctx, (await retireFacts(ctx)).footprint)
  assert.ok(changes.length > 3, changes.map((c) => c.summary).join('\n'))
  for (const c of changes.slice(0, 3)) {
    await ctx.state.recordLifecycleWrites(c.paths ?? [])
    await c.apply()
  }
  assert.equal(git(fx.dir, 'status', '--porcelain').split('\n').filter(Boolean).length, 3)
  // 2. Ctrl-C while the repo's pre-commit hook runs (a slow linter): the commit is not made
  const hook = join(fx.dir, '.git', 'hooks', 'pre-commit')
  writeFileSync(hook, '#!/bin/sh\nsleep 60\n', { mode: 0o755 })
  const early = await runAndCtrlC(['--retire'], env, /^→ git commit/, 700)
  rmSync(hook)
  assertStopped(early, '--retire')
  assert.match(early.stdout, /^→ delete k8s\/helm\/manifests\/github-external-secret\.yaml/m, 'the rest of the file changes, found though the stopped run had deleted the ImageUpdater and the values that named them')
  assert.doesNotMatch(git(fx.dir, 'log', '-1', '--format=%s'), /^Retire/, 'no commit')
  assert.ok(pushed(), 'nothing was pushed')
  // 3. after the push, while the app's sync (which prunes its ImageUpdater) is under way
  const release = cluster.sandbox.actors.faults.holdSync('it-tools')
  const late = await runAndCtrlC(['--retire'], env, /^→ sync Application argocd\/it-tools/, 1500)
  assertStopped(late, '--retire')
  assert.ok(cluster.sandbox.store.get(IU), 'the stop came before Argo CD pruned the ImageUpdater')
  assert.ok(pushed(), 'the retirement commit was pushed before the wait')
  assert.equal(git(fx.dir, 'status', '--porcelain'), '', 'the commit holds what the stopped runs wrote too')
  assert.match(git(fx.dir, 'log', '-1', '--format=%s'), /^Retire Argo CD Image Updater$/)
  assert.match(git(fx.dir, 'show', '--stat', '--format=', 'HEAD'), /k8s\/helm\/manifests\/it-tools\/image-updater\.yaml/)
  // 4. the same command finishes what the cluster still holds, though the repo no longer names it
  const again = await finish(['--retire'], env, release)
  assert.equal(again.code, 0, again.stdout + again.stderr)
  assert.match(again.stdout, /^→ sync Application argocd\/it-tools at [0-9a-f]{7}: Argo CD prunes ImageUpdater argocd\/it-tools while the controller runs/m, 'the app syncs first, before the controller goes')
  assert.match(again.stdout, /verified: nothing of Image Updater left; it-tools Synced and Healthy, running what they ran/)
  for (const ref of [IU, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }, { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name: 'ghcr-pull-secret' }, { apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: 'git-creds' }])
    assert.equal(cluster.sandbox.store.get(ref), undefined, `${ref.kind} ${ref.name} is gone`)
  assert.equal(cluster.sandbox.store.get(APP)?.status?.sync?.status, 'Synced')
  assert.equal(running(), image)
  assert.equal(uid(), before, 'it-tools was never recreated')
  const third = await runSetup(['--retire'], env)
  assert.equal(third.code, 0, third.stdout + third.stderr)
  assert.match(third.stdout, /Nothing to do: everything is already so\./)
})
