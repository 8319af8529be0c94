// The run lock belongs to the GitOps repo (its common git dir), saved progress to one file per repo:
// two STATE_DIRs cannot write one repo at once, one STATE_DIR for two repos keeps their write records
// apart, and a stale lock whose pid now belongs to another process is recovered.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fixture, git, runSetup } from './helpers.ts'
import { lockFileOf, processStart, stateFileOf } from '../src/state.ts'
import { gitDirs } from '../src/git.ts'

test('the lock lives in the common git dir (as git rev-parse says), also for a linked worktree', () => {
  const fx = fixture()
  try {
    const wt = join(fx.root, 'linked')
    git(fx.dir, 'worktree', 'add', '-q', '-b', 'other', wt)
    for (const dir of [fx.dir, wt]) {
      const dirs = gitDirs(dir)!
      assert.equal(dirs.gitDir, git(dir, 'rev-parse', '--absolute-git-dir'))
      assert.equal(dirs.commonDir, resolve(dir, git(dir, 'rev-parse', '--git-common-dir')))
    }
    assert.equal(lockFileOf(wt), lockFileOf(fx.dir))
    assert.equal(lockFileOf(fx.dir), join(fx.dir, '.git', 'image-updater-setup.lock'))
  } finally {
    fx.cleanup()
  }
})

test('two runs with different STATE_DIRs share the repo lock', async () => {
  const fx = fixture()
  const otherState = mkdtempSync(join(tmpdir(), 'setup-state-'))
  try {
    writeFileSync(lockFileOf(fx.dir), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'run', procStart: processStart(process.pid) }))
    const blocked = await runSetup(['--only', '6'], { ...fx.env, STATE_DIR: otherState })
    assert.equal(blocked.code, 1)
    assert.match(blocked.stderr, /another setup run holds the lock of this GitOps repo: pid \d+/)
    assert.equal(git(fx.dir, 'status', '--porcelain'), '', 'nothing written')
  } finally {
    rmSync(otherState, { recursive: true, force: true })
    fx.cleanup()
  }
})

test('a stale lock whose pid now belongs to another process is recovered, not "kill <pid>"', async () => {
  const fx = fixture()
  const other = spawn('sleep', ['60'], { stdio: 'ignore' })
  try {
    // the pid is alive, but it is not the process that took the lock (another start time)
    writeFileSync(lockFileOf(fx.dir), JSON.stringify({ pid: other.pid, host: hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'run', procStart: '1' }))
    const run = await runSetup(['--only', '6'], fx.env)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, new RegExp(`recovered a stale run lock from pid ${other.pid}`))
    assert.doesNotMatch(run.stderr, /kill /)
    // an old-format lock (no start time) held by a pid that is not node: recovered too
    writeFileSync(lockFileOf(fx.dir), JSON.stringify({ pid: other.pid, host: hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'run' }))
    const again = await runSetup(['--only', '6'], fx.env)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /recovered a stale run lock/)
  } finally {
    other.kill()
    fx.cleanup()
  }
})

test('one STATE_DIR for two repos keeps their write records apart', async () => {
  const a = fixture()
  const b = fixture()
  try {
    const env = (fx: typeof a) => ({ ...fx.env, STATE_DIR: a.stateDir })
    // task 6 edits the AppProject file; it stays uncommitted (task 7 is not run)
    for (const fx of [a, b]) {
      const run = await runSetup(['--only', '6'], env(fx))
      assert.equal(run.code, 0, run.stderr)
    }
    assert.notEqual(stateFileOf(a.stateDir, a.dir), stateFileOf(a.stateDir, b.dir))
    assert.match(readFileSync(stateFileOf(a.stateDir, a.dir), 'utf8'), /argocd\/projects\/homelab\.yaml/)
    // repo A's edit is still known as the setup's own: a rerun does not blame the user for it
    const rerun = await runSetup(['--only', '0,2-6'], env(a))
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.doesNotMatch(rerun.stderr, /did not make/)
  } finally {
    a.cleanup()
    b.cleanup()
  }
})

test('a linked worktree killed during a commit: the git-lock sweep finds its git dir and the shared refs', async () => {
  const { staleGitLocks, removeStaleGitLocks } = await import('../src/git.ts')
  const fx = fixture()
  try {
    const wt = join(fx.root, 'linked')
    git(fx.dir, 'worktree', 'add', '-q', '-b', 'other', wt)
    const since = new Date()
    const { gitDir, commonDir } = gitDirs(wt)!
    const index = join(gitDir, 'index.lock')
    const ref = join(commonDir, 'refs', 'heads', 'other.lock')
    writeFileSync(index, '')
    writeFileSync(ref, '')
    assert.deepEqual(staleGitLocks(wt, since).sort(), [index, ref].sort())
    removeStaleGitLocks(wt, since)
    // git can commit in the worktree again
    git(wt, 'commit', '-q', '--allow-empty', '-m', 'after the sweep')
  } finally {
    fx.cleanup()
  }
})

test('reading the checkout never takes git\'s index lock, so a run killed mid-read leaves none behind', async () => {
  const { repoStatus } = await import('../src/git.ts')
  const fx = fixture()
  try {
    const { gitDir } = gitDirs(fx.dir)!
    const indexFile = join(gitDir, 'index')
    // a tracked file whose stat no longer matches the index (same content): a plain `git status`
    // takes index.lock and writes the refreshed index
    const tracked = join(fx.dir, 'argocd', 'projects', 'homelab.yaml')
    const past = new Date(Date.now() - 60_000)
    utimesSync(tracked, past, past)
    const before = readFileSync(indexFile)
    const status = await repoStatus(fx.dir)
    assert.deepEqual(status.changed, [])
    assert.ok(readFileSync(indexFile).equals(before), 'repoStatus rewrote .git/index (it took index.lock)')
    // the control: git on its own does refresh it, so the check above can fail
    git(fx.dir, 'status', '--porcelain')
    assert.ok(!readFileSync(indexFile).equals(before), 'plain git status did not refresh the index: the test shows nothing')
  } finally {
    fx.cleanup()
  }
})
