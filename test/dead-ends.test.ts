// Every fix line works when followed literally: each case stops with a cause and a fix, the test
// does what the fix says, and the rerun goes through.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execSync } from 'node:child_process'
import { fixture, git, runSetup, snapshot } from './helpers.ts'
import { stateFileOf } from '../src/state.ts'
import { pushBranch } from '../src/git.ts'
import { SetupError } from '../src/errors.ts'

const REPO_TASKS = ['--only', '0,2-6']

/** Runs the shell command a fix line names (the part in backquotes-free form "…(git -C … abort)…"). */
function follow(fix: string, pattern: RegExp): void {
  const m = pattern.exec(fix)
  assert.ok(m, `the fix names a command matching ${pattern}: ${fix}`)
  execSync(m[0], { stdio: 'ignore' })
}

test('corrupt saved progress: both fixes (--fresh, deleting the file) work', async () => {
  const fx = fixture()
  try {
    const file = stateFileOf(fx.stateDir, fx.dir)
    mkdirSync(fx.stateDir, { recursive: true })
    writeFileSync(file, '{"version": 1, "repoDir": ')
    const run = await runSetup(REPO_TASKS, fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /saved progress .* is not valid JSON/)
    assert.match(run.stderr, /fix: rerun with --fresh .*, or delete the file \(rm \S+\)/)
    const fresh = await runSetup([...REPO_TASKS, '--fresh'], fx.env)
    assert.equal(fresh.code, 0, fresh.stderr)
    writeFileSync(file, 'garbage')
    follow((await runSetup(REPO_TASKS, fx.env)).stderr, /rm \S+(?=\))/)
    // with the record of what the setup wrote gone, its uncommitted files are not known as its own:
    // the run says so, and its fix (stash them, new files too) followed, the rerun writes them again
    const unknown = await runSetup(REPO_TASKS, fx.env)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /uncommitted edits that this setup did not make/)
    follow(unknown.stderr, /git -C \S+ stash push --include-untracked -- [^(]+(?= \()/)
    const rerun = await runSetup(REPO_TASKS, fx.env)
    assert.equal(rerun.code, 0, rerun.stderr)
  } finally {
    fx.cleanup()
  }
})

test('a rebase in progress is named, and its abort fix works (not "git switch main")', async () => {
  const fx = fixture()
  try {
    writeFileSync(join(fx.dir, 'notes.md'), 'mine\n')
    git(fx.dir, 'add', 'notes.md')
    git(fx.dir, 'commit', '-q', '-m', 'notes')
    try {
      git(fx.dir, 'rebase', '-q', '-x', 'false', 'HEAD~1')
    } catch {
      // the exec step fails: the rebase stops half done, as intended
    }
    const before = snapshot(fx.dir)
    const run = await runSetup(REPO_TASKS, fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /is in the middle of a rebase, so the setup does not touch it/)
    assert.doesNotMatch(run.stderr, /switch main/)
    assert.deepEqual(snapshot(fx.dir), before)
    follow(run.stderr, /git -C \S+ rebase --abort/)
    const rerun = await runSetup(REPO_TASKS, fx.env)
    assert.equal(rerun.code, 0, rerun.stderr)
  } finally {
    fx.cleanup()
  }
})

test('a merge in progress is noticed before anything is written, and its abort fix works', async () => {
  const fx = fixture()
  try {
    git(fx.dir, 'switch', '-q', '-c', 'side')
    writeFileSync(join(fx.dir, 'notes.md'), 'side\n')
    git(fx.dir, 'add', 'notes.md')
    git(fx.dir, 'commit', '-q', '-m', 'side notes')
    git(fx.dir, 'switch', '-q', 'main')
    writeFileSync(join(fx.dir, 'notes.md'), 'main\n')
    git(fx.dir, 'add', 'notes.md')
    git(fx.dir, 'commit', '-q', '-m', 'main notes')
    try {
      git(fx.dir, 'merge', '-q', 'side')
    } catch {
      // a conflict: the merge stays in progress
    }
    const before = snapshot(fx.dir)
    const run = await runSetup(REPO_TASKS, fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /is in the middle of a merge/)
    assert.deepEqual(snapshot(fx.dir), before, 'noticed before any file was written')
    follow(run.stderr, /git -C \S+ merge --abort/)
    const rerun = await runSetup(REPO_TASKS, fx.env)
    assert.equal(rerun.code, 0, rerun.stderr)
  } finally {
    fx.cleanup()
  }
})

test('a push refused by a server hook says so with the server\'s words, not "check that origin is reachable"', async () => {
  const fx = fixture()
  try {
    const hook = join(fx.origin, 'hooks', 'pre-receive')
    writeFileSync(hook, '#!/bin/sh\necho "commits must be signed" >&2\nexit 1\n', { mode: 0o755 })
    git(fx.dir, 'commit', '-q', '--allow-empty', '-m', 'to push')
    await assert.rejects(pushBranch(fx.dir, 'main', 10, 1), (err: unknown) => {
      assert.ok(err instanceof SetupError)
      assert.match(err.message, /origin refused the push to main \(pre-receive hook declined\): commits must be signed/)
      assert.match(err.fix, /do what origin's message asks, or have its owner allow the push/)
      assert.doesNotMatch(err.message + err.fix, /reachable/)
      return true
    })
    // doing what it asks (here: the owner drops the hook), the push goes through
    writeFileSync(hook, '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    await pushBranch(fx.dir, 'main', 10, 1)
    assert.equal(git(fx.origin, 'rev-parse', 'main'), git(fx.dir, 'rev-parse', 'HEAD'))
  } finally {
    fx.cleanup()
  }
})
