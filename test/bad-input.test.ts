// Bad input on the repo side: every case exits non-zero, names the cause and the fix, and leaves
// every file of the GitOps checkout byte-identical.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sampleFiles } from '../sandbox/sample-repo.ts'
import { fixture, git, runSetup, snapshot, withCluster, type Fixture } from './helpers.ts'
import { APP, byHand, handFollowed, IU } from './by-hand.ts'

interface Case {
  name: string
  overrides?: Record<string, string | null>
  env?: NodeJS.ProcessEnv
  prepare?: (fx: Fixture) => void
  cause: RegExp
  fix: RegExp
}

const homelab = sampleFiles['argocd/projects/homelab.yaml']
const services = sampleFiles['argocd/applications/personal-services.yaml']

const cases: Case[] = [
  { name: 'missing GITOPS_REPO_DIR', env: { GITOPS_REPO_DIR: '' }, cause: /missing setting GITOPS_REPO_DIR/, fix: /fix: set GITOPS_REPO_DIR/ },
  { name: 'empty GITHUB_USERNAME', env: { GITHUB_USERNAME: ' ' }, cause: /missing setting GITHUB_USERNAME/, fix: /fix: set GITHUB_USERNAME/ },
  { name: 'GitOps dir that is not a repo', env: { GITOPS_REPO_DIR: tmpdir() }, cause: /is not a git checkout/, fix: /fix: point GITOPS_REPO_DIR/ },
  { name: 'invalid image reference', env: { IMAGE: 'ghcr.io/MeiRong/it-tools:latest' }, cause: /IMAGE "ghcr.io\/MeiRong\/it-tools:latest" is not an image reference/, fix: /fix: set IMAGE like/ },
  { name: 'regex that does not compile', env: { TAG_REGEX: '^sha-[0-9a-f+$' }, cause: /TAG_REGEX "\^sha-\[0-9a-f\+\$" does not compile: missing closing \]/, fix: /fix: set TAG_REGEX to a regular expression Go accepts/ },
  { name: 'regex Go refuses (a lookahead JavaScript takes)', env: { TAG_REGEX: '^sha-(?=[0-9a-f]{7})[0-9a-f]+$' }, cause: /TAG_REGEX "\^sha-\(\?=\[0-9a-f\]\{7\}\)\[0-9a-f\]\+\$" uses a lookahead `\(\?=`, which Go's regexp \(RE2\) refuses: Image Updater logs "Could not compile regexp" and then matches no tag at all/, fix: /fix: set TAG_REGEX=\^sha-\[0-9a-f\]\{7,\}\$ \(the same tags, in syntax Go accepts\)/ },
  { name: 'per-app regex Go refuses, with no rewrite to derive', env: { APP_IT_TOOLS_TAG_REGEX: '^(?!latest$).+$' }, cause: /APP_IT_TOOLS_TAG_REGEX "\^\(\?!latest\$\)\.\+\$" uses a negative lookahead `\(\?!`/, fix: /fix: take the negative lookahead \(\?!\.\.\.\) \(Go has no lookaround: list the tags to skip in ignore-tags instead\) out of APP_IT_TOOLS_TAG_REGEX/ },
  {
    name: 'a tag filter Go refuses in the annotations of a plan followed by hand',
    overrides: { ...handFollowed, [APP]: byHand[APP]!.replace('it-tools.tag-match-expr: ^sha-[0-9a-f]+$', 'it-tools.allow-tags: regexp:^sha-(?=[0-9a-f]{7})[0-9a-f]+$') },
    cause: /argocd\/applications\/it-tools\.yaml:\d+: the tag filter "\^sha-\(\?=\[0-9a-f\]\{7\}\)\[0-9a-f\]\+\$" uses a lookahead `\(\?=`, which Go's regexp \(RE2\) refuses/,
    fix: /fix: set the annotation argocd-image-updater\.argoproj\.io\/it-tools\.allow-tags in argocd\/applications\/it-tools\.yaml to regexp:\^sha-\[0-9a-f\]\{7,\}\$/,
  },
  {
    name: 'a tag filter Go refuses in an existing ImageUpdater',
    overrides: { ...byHand, [IU]: byHand[IU]!.replace(/allowTags: .*/, () => "allowTags: 'regexp:^v(\\d+)\\.\\1$'") },
    cause: /image-updater\.yaml:\d+: the tag filter "\^v\(\\d\+\)\\\.\\1\$" uses a backreference `\\1`/,
    fix: /fix: take the backreference \\1 \(Go has no backreferences: spell the repeated part out\) out of spec\.applicationRefs\.0\.images\.0\.commonUpdateSettings\.allowTags in k8s\/helm\/manifests\/it-tools\/image-updater\.yaml/,
  },
  { name: 'regex with its own regexp: prefix', env: { TAG_REGEX: 'regexp:^sha-[0-9a-f]+$' }, cause: /starts with "regexp:"/, fix: /fix: set TAG_REGEX=\^sha-/ },
  { name: 'unknown strategy', env: { UPDATE_STRATEGY: 'latest' }, cause: /UPDATE_STRATEGY "latest" is not an Image Updater strategy/, fix: /fix: set UPDATE_STRATEGY to one of semver, newest-build/ },
  { name: 'annotation-only chart 0.x', env: { CHART_VERSION: '0.14.0' }, cause: /Image Updater 0\.x, which is configured by annotations only/, fix: /fix: set CHART_VERSION=1\.2\.4/ },
  { name: 'chart newer than known', env: { CHART_VERSION: '2.0.0' }, cause: /newer than the charts this setup knows/, fix: /fix: set CHART_VERSION=1\.2\.4/ },
  { name: 'chart version that is not a version', env: { CHART_VERSION: 'latest' }, cause: /CHART_VERSION "latest" is not a chart version/, fix: /fix: set CHART_VERSION/ },
  { name: 'AppProject file missing', overrides: { 'argocd/projects/homelab.yaml': null }, cause: /argocd\/projects\/homelab\.yaml does not exist/, fix: /fix: check APPPROJECT_FILE/ },
  { name: 'AppProject that does not parse', overrides: { 'argocd/projects/homelab.yaml': homelab.replace('  description: "Homelab apps"', '  description: "Homelab apps\n  bad: [') }, cause: /argocd\/projects\/homelab\.yaml:\d+: YAML does not parse/, fix: /fix: / },
  { name: 'AppProject of the wrong kind', overrides: { 'argocd/projects/homelab.yaml': homelab.replace('kind: AppProject', 'kind: ConfigMap') }, cause: /homelab\.yaml:4: expected an Argo CD AppProject, found kind ConfigMap/, fix: /fix: point the setting/ },
  { name: 'AppProject without cluster-scoped kinds', overrides: { 'argocd/projects/homelab.yaml': homelab.replace(/  clusterResourceWhitelist:\n.*\n.*\n/, '') }, cause: /does not allow apiextensions\.k8s\.io\/CustomResourceDefinition/, fix: /fix: add them to spec\.clusterResourceWhitelist/ },
  { name: 'sourceRepos that is not a list', overrides: { 'argocd/projects/homelab.yaml': homelab.replace(/  sourceRepos:\n.*\n/, '  sourceRepos: https://github.com/meirongdev/homelab.git\n') }, cause: /homelab\.yaml:\d+: expected .*sequence|homelab\.yaml:\d+: expected .*list/i, fix: /fix: / },
  { name: 'personal-services missing', overrides: { 'argocd/applications/personal-services.yaml': null }, cause: /personal-services\.yaml does not exist/, fix: /fix: check PERSONAL_SERVICES_APP_FILE/ },
  { name: 'personal-services that does not parse', overrides: { 'argocd/applications/personal-services.yaml': services.replace('  project: homelab', '  project: homelab\n   bad indent: [') }, cause: /personal-services\.yaml:\d+: YAML does not parse/, fix: /fix: / },
  { name: 'include that is not a string', overrides: { 'argocd/applications/personal-services.yaml': services.replace(/include: ".*"/, 'include: [a.yaml]') }, cause: /personal-services\.yaml:16: expected spec\.source\.directory\.include to be a glob string/, fix: /fix: write include as a string/ },
  { name: 'include behind a YAML merge key', overrides: { 'argocd/applications/personal-services.yaml': services.replace(/    directory:\n.*\n.*\n/, '    directory: {<<: {include: "{it-tools.yaml,homepage.yaml}"}}\n') }, cause: /personal-services\.yaml:\d+: spec\.source\.directory uses a YAML merge key \(<<\)/, fix: /fix: write spec\.source\.directory .* out in full/ },
  { name: 'APP_NAME that names no app (typo)', env: { APP_NAME: 'it-tool' }, cause: /no app named it-tool: .*apps found: calibre-web, homepage, it-tools, squoosh/, fix: /fix: set APP_NAME to one of the names found/ },
  { name: 'per-app setting for an app not in the run', env: { APPS: 'it-tools', APP_SQOOSH_STRATEGY: 'semver' }, cause: /APP_SQOOSH_STRATEGY is set, but no app of this run is called that/, fix: /fix: rename APP_SQOOSH_STRATEGY/ },
  { name: 'app running several images', env: { APP_NAME: 'it-tools' }, overrides: { 'k8s/helm/manifests/it-tools.yaml': sampleFiles['k8s/helm/manifests/it-tools.yaml'].replace('          ports:\n', '        - name: sidecar\n          image: busybox:1.36\n          ports:\n') }, cause: /the it-tools Deployment runs several images \(ghcr\.io\/meirongdev\/it-tools:sha-3f2c1ab, busybox:1\.36\)/, fix: /fix: set APP_IT_TOOLS_IMAGE to one of them/ },
  { name: 'app that runs as a CronJob', env: { APP_NAME: 'backup' }, overrides: { 'k8s/helm/manifests/backup.yaml': 'apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: "@daily"\n', 'argocd/applications/personal-services.yaml': services.replace('homepage.yaml}', 'homepage.yaml,backup.yaml}') }, cause: /backup\.yaml:1: backup runs as a CronJob/, fix: /fix: leave backup out of APPS/ },
  { name: 'a tag with no obvious update policy', env: { APP_NAME: 'squoosh' }, overrides: { 'k8s/helm/manifests/squoosh.yaml': sampleFiles['k8s/helm/manifests/squoosh.yaml'].replace('dko0/squoosh:1.12.0', 'dko0/squoosh:nightly-2024') }, cause: /squoosh: cannot tell how to update dko0\/squoosh from its tag nightly-2024/, fix: /fix: set APP_SQUOOSH_STRATEGY .* and APP_SQUOOSH_TAG_REGEX/ },
  { name: 'vault-eso of the wrong kind', overrides: { 'argocd/applications/vault-eso.yaml': sampleFiles['argocd/applications/vault-eso.yaml'].replace('kind: Application', 'kind: AppProject') }, cause: /vault-eso\.yaml:3: expected an Argo CD Application, found kind AppProject/, fix: /fix: / },
  { name: 'app file with a document without kind', overrides: { 'k8s/helm/manifests/it-tools.yaml': sampleFiles['k8s/helm/manifests/it-tools.yaml'] + '---\nmetadata:\n  name: stray\n' }, cause: /it-tools\.yaml:50: a document without kind \(metadata:\)/, fix: /fix: give the document its apiVersion and kind, or delete it/ },
  { name: 'it-tools running another image', env: { IMAGE: 'ghcr.io/someone/other' }, cause: /runs ghcr\.io\/meirongdev\/it-tools:sha-3f2c1ab, not ghcr\.io\/someone\/other/, fix: /fix: set IMAGE to the image the Deployment runs/ },
  { name: 'values file whose config is not a map', overrides: { 'k8s/helm/values/argocd-image-updater.yaml': 'config: debug\n' }, cause: /argocd-image-updater\.yaml:1: expected config to be a map of chart settings/, fix: /fix: make config a map/ },
  { name: 'wrong branch', prepare: (fx) => git(fx.dir, 'switch', '-q', '-c', 'feature'), cause: /on branch feature, not main/, fix: /fix: git -C .* switch main/ },
  { name: 'detached HEAD', prepare: (fx) => git(fx.dir, 'checkout', '-q', '--detach'), cause: /has a detached HEAD/, fix: /fix: check out the branch/ },
  {
    name: 'unrelated staged changes',
    prepare: (fx) => {
      writeFileSync(join(fx.dir, 'notes.txt'), 'mine\n')
      git(fx.dir, 'add', 'notes.txt')
    },
    cause: /staged changes the setup does not manage: notes\.txt/,
    fix: /fix: commit them first, or unstage them/,
  },
  {
    name: "the user's own uncommitted edit in a managed file",
    prepare: (fx) => writeFileSync(join(fx.dir, 'argocd/projects/homelab.yaml'), homelab.replace('Homelab apps', 'My apps')),
    cause: /uncommitted edits that this setup did not make in argocd\/projects\/homelab\.yaml/,
    fix: /fix: commit them, or put them aside with git -C .* stash push --include-untracked -- argocd\/projects\/homelab\.yaml/,
  },
]

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const fx = fixture(c.overrides ?? {})
    try {
      c.prepare?.(fx)
      const before = snapshot(fx.dir)
      const run = await runSetup([], { ...fx.env, ...c.env })
      assert.equal(run.code, 1, `exit code; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
      assert.match(run.stderr, c.cause)
      assert.match(run.stderr, c.fix)
      assert.deepEqual(snapshot(fx.dir), before, 'every file byte-identical')
      assert.equal(git(fx.origin, 'rev-list', '--count', 'main'), '1', 'nothing pushed')
    } finally {
      fx.cleanup()
    }
  })
}

test('a push rejected because origin moved stops with what to do, and the run resumes after a pull', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  fx.env = { ...fx.env, ...cluster.env }
  try {
    // someone else pushes to origin after our last fetch
    const other = mkdtempSync(join(tmpdir(), 'other-'))
    git(other, 'clone', '-q', fx.origin, 'c')
    const clone = join(other, 'c')
    writeFileSync(join(clone, 'README.md'), '# homelab\n\nchanged elsewhere\n')
    git(clone, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '-qam', 'elsewhere')
    git(clone, 'push', '-q', 'origin', 'main')
    rmSync(other, { recursive: true, force: true })

    const run = await runSetup([], fx.env)
    assert.equal(run.code, 1)
    // not Image Updater's .argocd-source-* write-back (that is rebased onto): the user integrates it
    assert.match(run.stderr, /origin\/main has commits this checkout does not, and they change more than Image Updater's \.argocd-source-\* files: README\.md/)
    assert.match(run.stderr, /fix: integrate them yourself: commit or stash your own edits, run git -C .* pull --rebase origin main, then rerun/)

    git(fx.dir, 'pull', '-q', '--rebase', 'origin', 'main')
    const resumed = await runSetup([], fx.env)
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /7  Commit, push and deploy: pause auto-prune of Application argocd\/personal-services [^;]*; git push origin main/)
    assert.equal(git(fx.origin, 'rev-list', '--count', 'main'), '4', 'base, elsewhere, one setup commit, the log level')
    assert.equal(git(fx.origin, 'log', '-1', '--format=%s', 'main~1'), 'Set up Argo CD Image Updater for it-tools')
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('a branch without upstream stops before anything is written', async () => {
  const fx = fixture()
  try {
    git(fx.dir, 'branch', '--unset-upstream')
    const before = snapshot(fx.dir)
    const run = await runSetup([], fx.env)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /branch main has no upstream/)
    assert.match(run.stderr, /fix: push it once with tracking: git -C .* push -u origin main/)
    assert.deepEqual(snapshot(fx.dir), before)
  } finally {
    fx.cleanup()
  }
})

test('a second run while one holds the lock stops naming the holder; a stale lock is recovered', async () => {
  const fx = fixture()
  try {
    const { lockFileOf, processStart } = await import('../src/state.ts')
    const lock = lockFileOf(fx.dir)
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'run', procStart: processStart(process.pid) }))
    const blocked = await runSetup([], fx.env)
    assert.equal(blocked.code, 1)
    assert.match(blocked.stderr, new RegExp(`another setup run holds the lock of this GitOps repo: pid ${process.pid} \\(run\\), started 2026-01-01`))
    assert.match(blocked.stderr, /fix: wait for it to finish/)

    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'run' }))
    const recovered = await runSetup(['--only', '6'], fx.env)
    assert.equal(recovered.code, 0, recovered.stderr)
    assert.match(recovered.stderr, /recovered a stale run lock from pid \d+/)
  } finally {
    fx.cleanup()
  }
})

test('.env readable by others gives a warning; the state file is owner-only; secrets stay out of output and state', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const cwd = mkdtempSync(join(tmpdir(), 'envfile-'))
  try {
    const canary = cluster.token
    const lines = Object.entries({ ...fx.env, ...cluster.env }).map(([k, v]) => `${k}=${v}`)
    writeFileSync(join(cwd, '.env'), `${lines.join('\n')}\n`)
    chmodSync(join(cwd, '.env'), 0o644)
    const run = await runSetup([], {}, 'scripts/run.ts', cwd)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /\.env is readable by other users and may hold secrets: run chmod 600/)
    const { statSync, readFileSync } = await import('node:fs')
    const { stateFileOf } = await import('../src/state.ts')
    const stateFile = stateFileOf(fx.stateDir, fx.dir)
    assert.equal(statSync(stateFile).mode & 0o077, 0)
    assert.doesNotMatch(run.stdout + run.stderr + readFileSync(stateFile, 'utf8'), new RegExp(canary))
    assert.equal(cluster.sandbox.actors.vault.read('secret/homelab/github')?.pat, canary, 'the token from .env reached Vault')
  } finally {
    await cluster.stop()
    rmSync(cwd, { recursive: true, force: true })
    fx.cleanup()
  }
})
