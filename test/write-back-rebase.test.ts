// Task 9 (and any later setup push) after Image Updater's write-back: origin is ahead with commits
// that only add .argocd-source-*.yaml; the setup rebases its commit onto them (no merge, no force
// push) and says so. Anything else on origin stops the run with the files and a fix that works.
// Real temp git repos: the sample checkout, its bare origin, and a second clone playing Image Updater.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import { planPublish } from '../src/publish.ts'
import { SetupError } from '../src/errors.ts'

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim()

function setup(t: { after(fn: () => void): void }) {
  const repo: SampleRepo = createSampleRepo()
  const stateDir = mkdtempSync(join(tmpdir(), 'rebase-state-'))
  const other = join(repo.root, 'image-updater-clone')
  git(repo.root, 'clone', '-q', repo.origin, other)
  t.after(() => {
    rmSync(repo.root, { recursive: true, force: true })
    rmSync(stateDir, { recursive: true, force: true })
  })
  const logs: string[] = []
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', STATE_DIR: stateDir, GITHUB_API_URL: 'off' }, cwd: '/nonexistent-dir' })
  const ctx = { settings, secrets, repoDir: repo.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: false, log: (l: string) => logs.push(l), touchedPaths: new Set(), state: new StateStore(stateDir, repo.dir) } as Ctx
  /** A commit on origin made elsewhere (Image Updater's write-back, or a user's). */
  const pushElsewhere = (files: Record<string, string>, author = 'argocd-image-updater <noreply@argoproj.io>') => {
    git(other, 'pull', '-q', '--rebase', 'origin', 'main')
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(other, rel)), { recursive: true })
      writeFileSync(join(other, rel), content)
    }
    git(other, 'add', '-A')
    git(other, '-c', 'user.name=x', '-c', 'user.email=x@example.com', 'commit', '-q', `--author=${author}`, '-m', 'build: automatic update of it-tools')
    git(other, 'push', '-q', 'origin', 'main')
    return git(other, 'rev-parse', 'HEAD')
  }
  /** The setup's own edit of a managed file, recorded as its write. */
  const ourEdit = async (rel: string, content: string) => {
    await ctx.state.recordWrite(rel, content)
    writeFileSync(join(repo.dir, rel), content)
  }
  const publish = async (rel: string) => {
    for (const c of await planPublish(ctx, [rel], 'Lower argocd-image-updater log level')) await c.apply()
  }
  return { repo, ctx, logs, pushElsewhere, ourEdit, publish }
}

const VALUES = 'k8s/helm/values/homepage.yaml'
const WRITE_BACK = { 'k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml': 'kustomize:\n  images:\n  - ghcr.io/meirongdev/it-tools:sha-9e8d7c6\n' }

test('origin ahead with write-back commits: our commit is rebased onto them and pushed, no merge, no force', async (t) => {
  const { repo, ctx, logs, pushElsewhere, ourEdit, publish } = setup(t)
  await ourEdit(VALUES, 'config:\n  log.level: info\n')
  const writeBack = pushElsewhere(WRITE_BACK)
  // the user's own uncommitted edit elsewhere stays as it is
  writeFileSync(join(repo.dir, 'README.local'), 'mine\n')
  await publish(VALUES)
  const head = git(repo.origin, 'rev-parse', 'main')
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), head, 'pushed')
  assert.equal(git(repo.origin, 'rev-parse', 'main^'), writeBack, 'our commit sits on top of the write-back commit')
  assert.equal(git(repo.origin, 'rev-list', '--merges', 'main'), '', 'no merge commit')
  assert.deepEqual(git(repo.origin, 'show', '--format=', '--name-only', 'main').split('\n'), [VALUES], 'our commit holds only our file')
  assert.match(logs.join('\n'), /had 1 commit\(s\) by Image Updater's write-back \(k8s\/helm\/manifests\/it-tools\/\.argocd-source-it-tools\.yaml\): rebased the setup commit onto them \(no merge, no force push\)/)
  assert.equal(git(repo.dir, 'status', '--porcelain'), '?? README.local')
})

test('origin ahead when the plan runs (already fetched): the commit still goes ahead and is rebased at the push', async (t) => {
  const { repo, pushElsewhere, ourEdit, publish } = setup(t)
  const writeBack = pushElsewhere(WRITE_BACK)
  git(repo.dir, 'fetch', '-q', 'origin')
  await ourEdit(VALUES, 'config:\n  log.level: info\n')
  await publish(VALUES)
  assert.equal(git(repo.origin, 'rev-parse', 'main^'), writeBack)
  assert.equal(git(repo.dir, 'rev-parse', 'HEAD'), git(repo.origin, 'rev-parse', 'main'))
})

test('the write-back commits cannot be fetched: the run stops with the cause and a fix that works, nothing pushed', async (t) => {
  const { repo, ctx, pushElsewhere, ourEdit, publish } = setup(t)
  pushElsewhere(WRITE_BACK)
  const originMain = git(repo.origin, 'rev-parse', 'main')
  // pushes still reach origin (and are refused: it moved on); fetches go to a path that is gone
  git(repo.dir, 'config', 'remote.origin.pushurl', repo.origin)
  git(repo.dir, 'config', 'remote.origin.url', join(repo.root, 'gone.git'))
  await ourEdit(VALUES, 'config:\n  log.level: info\n')
  await assert.rejects(publish(VALUES), (err: SetupError) => {
    assert.match(err.message, /^origin\/main took Image Updater's write-back commits, so the push was refused, and fetching them failed \(.*gone\.git.*\); nothing was pushed$/)
    assert.equal(err.fix, `check that origin answers: git -C ${ctx.repoDir} fetch origin main; then rerun (the setup rebases its commit onto the write-back commits)`)
    return true
  })
  assert.equal(git(repo.origin, 'rev-parse', 'main'), originMain, 'nothing pushed')
  // the fix, followed once origin answers again: the rerun rebases and pushes
  git(repo.dir, 'config', 'remote.origin.url', repo.origin)
  git(repo.dir, 'fetch', '-q', 'origin', 'main')
  await publish(VALUES)
  assert.equal(git(repo.origin, 'rev-parse', 'main^'), originMain)
})

test('incoming commits that touch anything else stop with the files and a fix; nothing is pushed or rewritten', async (t) => {
  const { repo, ctx, pushElsewhere, ourEdit, publish } = setup(t)
  await ourEdit(VALUES, 'config:\n  log.level: info\n')
  const theirs = pushElsewhere({ ...WRITE_BACK, 'argocd/applications/homepage.yaml': 'changed by someone\n' }, 'Someone <s@example.com>')
  await assert.rejects(publish(VALUES), (e: unknown) => {
    assert.ok(e instanceof SetupError, String(e))
    assert.match(e.message, /change more than Image Updater's \.argocd-source-\* files: argocd\/applications\/homepage\.yaml/)
    assert.match(e.fix, /pull --rebase origin main/)
    return true
  })
  assert.equal(git(repo.origin, 'rev-parse', 'main'), theirs, 'origin untouched')
  assert.equal(git(repo.dir, 'rev-list', '--count', 'refs/remotes/origin/main..HEAD'), '1', 'our commit is still ours, not rewritten onto theirs')
  // the same refusal comes before the commit once origin's commits are known
  await ourEdit('k8s/helm/values/other.yaml', 'x: 1\n')
  await assert.rejects(planPublish(ctx, ['k8s/helm/values/other.yaml'], 'm'), /change more than Image Updater's/)
})
