// Symlinks and file modes in the GitOps repo: a symlinked folder or file is edited where it points
// (the link stays a link), the commit holds what really changed, a path that leads outside the
// repo is refused before anything is written, and a read-only file stops the run up front.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, lstatSync, mkdirSync, readlinkSync, renameSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { fixture, git, PROJECT, read, runSetup, snapshot, type Fixture } from './helpers.ts'
import type { Ctx } from '../src/context.ts'

const PROJECT_FILE = 'argocd/projects/homelab.yaml'
const HELM_REPO = 'https://argoproj.github.io/argo-helm'

/** Moves `from` to `to` in the repo, leaves a relative symlink at `from`, commits and pushes. */
function linkAway(fx: Fixture, from: string, to: string, target: string): void {
  mkdirSync(join(fx.dir, to, '..'), { recursive: true })
  renameSync(join(fx.dir, from), join(fx.dir, to))
  symlinkSync(target, join(fx.dir, from))
  git(fx.dir, 'add', '-A')
  git(fx.dir, 'commit', '-q', '-m', 'symlinked')
  git(fx.dir, 'push', '-q', 'origin', 'main')
}

test('a symlinked folder: the edit lands in its target, the setup commit holds it, origin gets it, a rerun is up to date', async () => {
  const fx = fixture()
  try {
    linkAway(fx, 'argocd/projects', 'shared/projects', '../shared/projects')
    const run = await runSetup(['--only', '0,2-6'], fx.env)
    assert.equal(run.code, 0, run.stderr)
    assert.ok(lstatSync(join(fx.dir, 'argocd/projects')).isSymbolicLink(), 'the link stays')
    assert.match(read(fx.dir, 'shared/projects/homelab.yaml'), new RegExp(HELM_REPO))
    // the git half of task 7 (its cluster half needs Argo CD to follow in-repo links, which the
    // sandbox's repo reader does not do yet)
    const { loadConfig } = await import('../src/settings.ts')
    const { StateStore } = await import('../src/state.ts')
    const { planPublish } = await import('../src/publish.ts')
    const { managedPaths, commitMessage } = await import('../tasks/07-commit-and-deploy.ts')
    const { settings, secrets } = loadConfig({ env: fx.env, cwd: '/nonexistent' })
    const ctx = { settings, secrets, repoDir: fx.dir, projectDir: PROJECT, dryRun: false, yes: false, log: () => {}, touchedPaths: new Set<string>(), state: new StateStore(fx.stateDir, fx.dir) } as unknown as Ctx
    const changes = await planPublish(ctx, managedPaths(ctx), commitMessage(ctx))
    assert.match(changes[0].diff ?? '', /shared\/projects\/homelab\.yaml/)
    for (const c of changes) await c.apply()
    assert.equal(git(fx.dir, 'status', '--porcelain'), '', 'nothing left uncommitted')
    assert.match(git(fx.origin, 'show', 'main:shared/projects/homelab.yaml'), new RegExp(HELM_REPO), 'origin has the edit')
    assert.equal(git(fx.origin, 'cat-file', '-t', 'main:argocd/projects'), 'blob', 'origin still has the link (a blob), not a folder')
    const dry = await runSetup(['--only', '0,2-6', '--dry-run'], fx.env)
    assert.equal(dry.code, 0, dry.stdout + dry.stderr)
  } finally {
    fx.cleanup()
  }
})

test('a symlinked file is edited in place: the link stays, its target changes and keeps its mode', async () => {
  const fx = fixture()
  try {
    linkAway(fx, PROJECT_FILE, 'shared/homelab-project.yaml', '../../shared/homelab-project.yaml')
    chmodSync(join(fx.dir, 'shared/homelab-project.yaml'), 0o640)
    const run = await runSetup(['--only', '6'], fx.env)
    assert.equal(run.code, 0, run.stderr)
    assert.ok(lstatSync(join(fx.dir, PROJECT_FILE)).isSymbolicLink())
    assert.equal(readlinkSync(join(fx.dir, PROJECT_FILE)), '../../shared/homelab-project.yaml')
    assert.match(read(fx.dir, 'shared/homelab-project.yaml'), new RegExp(HELM_REPO))
    assert.equal(statSync(join(fx.dir, 'shared/homelab-project.yaml')).mode & 0o777, 0o640, 'mode kept')
    assert.equal(git(fx.dir, 'status', '--porcelain'), 'M shared/homelab-project.yaml')
  } finally {
    fx.cleanup()
  }
})

test('a managed path that leads outside the repo is refused with cause and fix; nothing is written', async () => {
  const fx = fixture()
  try {
    // the folder lives outside the checkout, the repo holds only a link to it
    renameSync(join(fx.dir, 'argocd/projects'), join(fx.root, 'outside-projects'))
    symlinkSync(join(fx.root, 'outside-projects'), join(fx.dir, 'argocd/projects'))
    git(fx.dir, 'add', '-A')
    git(fx.dir, 'commit', '-q', '-m', 'link out')
    git(fx.dir, 'push', '-q', 'origin', 'main')
    const before = snapshot(fx.dir)
    const outside = read(fx.root, 'outside-projects/homelab.yaml')
    const run = await runSetup(['--only', '0,2-6'], fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /argocd\/projects\/homelab\.yaml leads outside the GitOps repo .* through a symbolic link/)
    assert.match(run.stderr, /fix: replace the symbolic link on that path with the file or folder it points to/)
    assert.deepEqual(snapshot(fx.dir), before)
    assert.equal(read(fx.root, 'outside-projects/homelab.yaml'), outside)
  } finally {
    fx.cleanup()
  }
})

test('a read-only file the setup must change stops the run before anything is written', async () => {
  const fx = fixture()
  try {
    chmodSync(join(fx.dir, PROJECT_FILE), 0o444)
    const before = snapshot(fx.dir)
    const run = await runSetup(['--only', '0,2-6'], fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /cannot write: argocd\/projects\/homelab\.yaml is read-only \(mode 444\)/)
    assert.match(run.stderr, /fix: make them writable \(chmod u\+w/)
    assert.deepEqual(snapshot(fx.dir), before, 'tasks 0-5 wrote nothing')
    // the fix, followed
    chmodSync(join(fx.dir, PROJECT_FILE), 0o644)
    const rerun = await runSetup(['--only', '0,2-6'], fx.env)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.equal(statSync(join(fx.dir, PROJECT_FILE)).mode & 0o777, 0o644)
  } finally {
    fx.cleanup()
  }
})
