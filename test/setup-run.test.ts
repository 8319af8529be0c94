// The whole repo half of the setup on a realistic GitOps repo with a bare origin: resulting files,
// surgical diffs, the single commit, the idempotent rerun, dry-run and task selection.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { sampleFiles, SAMPLE_IMAGE_TAG } from '../sandbox/sample-repo.ts'
import { changedLines, fixture, git, gitRaw, read, runSetup, snapshot, withCluster } from './helpers.ts'

test('a full run brings the repo from before to after: one setup commit, then the log-level commit', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const originBefore = git(fx.origin, 'rev-parse', 'main')
    const run = await runSetup([], { ...fx.env, ...cluster.env })
    assert.equal(run.code, 0, run.stdout + run.stderr)

    // two new commits on origin: the setup (exactly the managed files), then task 9's log level
    assert.equal(git(fx.origin, 'rev-parse', 'main~2'), originBefore)
    assert.equal(git(fx.dir, 'rev-parse', 'HEAD'), git(fx.origin, 'rev-parse', 'main'))
    assert.equal(git(fx.dir, 'show', '--name-only', '--format=', 'HEAD'), 'k8s/helm/values/argocd-image-updater.yaml')
    assert.deepEqual(changedLines(gitRaw(fx.dir, 'show', 'HEAD~1:k8s/helm/values/argocd-image-updater.yaml'), read(fx.dir, 'k8s/helm/values/argocd-image-updater.yaml')), { removed: ['  log.level: debug'], added: ['  log.level: info'] })
    const files = git(fx.dir, 'show', '--no-renames', '--name-status', '--format=', 'HEAD~1').split('\n').sort()
    assert.deepEqual(files, [
      'A\targocd/applications/argocd-image-updater.yaml',
      'A\targocd/applications/it-tools.yaml',
      'A\tdocs/plans/argocd-image-updater.md',
      'A\tk8s/helm/manifests/github-external-secret.yaml',
      'A\tk8s/helm/manifests/it-tools/deployment.yaml',
      'A\tk8s/helm/manifests/it-tools/image-updater.yaml',
      'A\tk8s/helm/manifests/it-tools/kustomization.yaml',
      'A\tk8s/helm/manifests/it-tools/service.yaml',
      'A\tk8s/helm/values/argocd-image-updater.yaml',
      'D\tk8s/helm/manifests/it-tools.yaml',
      'M\targocd/applications/personal-services.yaml',
      'M\targocd/applications/vault-eso.yaml',
      'M\targocd/projects/homelab.yaml',
    ])
    assert.equal(git(fx.dir, 'status', '--porcelain'), '')

    // edited files: exactly the intended line each
    const project = changedLines(sampleFiles['argocd/projects/homelab.yaml'], read(fx.dir, 'argocd/projects/homelab.yaml'))
    assert.deepEqual(project, { removed: [], added: ['    - https://argoproj.github.io/argo-helm'] })
    const services = changedLines(sampleFiles['argocd/applications/personal-services.yaml'], read(fx.dir, 'argocd/applications/personal-services.yaml'))
    assert.deepEqual(services.added, ['      include: "{calibre-web.yaml,stirling-pdf.yaml,squoosh.yaml,homepage.yaml}"'])
    assert.equal(services.removed.length, 1)
    const eso = changedLines(sampleFiles['argocd/applications/vault-eso.yaml'], read(fx.dir, 'argocd/applications/vault-eso.yaml'))
    assert.deepEqual(eso.added, ["      include: '{vault-eso-config.yaml,cloudflare-external-secret.yaml,github-external-secret.yaml}'  # ESO 配置"])
    assert.equal(eso.removed.length, 1)

    // the user's Deployment and Service survive byte for byte
    const old = sampleFiles['k8s/helm/manifests/it-tools.yaml']
    const deployment = read(fx.dir, 'k8s/helm/manifests/it-tools/deployment.yaml')
    const service = read(fx.dir, 'k8s/helm/manifests/it-tools/service.yaml')
    assert.ok(old.includes(deployment), 'deployment.yaml is a verbatim slice of it-tools.yaml')
    assert.ok(old.includes(service), 'service.yaml is a verbatim slice of it-tools.yaml')
    assert.match(deployment, new RegExp(`image: "ghcr.io/meirongdev/it-tools:${SAMPLE_IMAGE_TAG}"`))
    assert.match(deployment, /# it-tools：开发者工具箱/)

    // kustomization: no namespace, lists the ImageUpdater
    const kustomization = parse(read(fx.dir, 'k8s/helm/manifests/it-tools/kustomization.yaml'))
    assert.equal(kustomization.namespace, undefined)
    assert.deepEqual(kustomization.resources, ['deployment.yaml', 'service.yaml', 'image-updater.yaml'])

    // ImageUpdater for chart 1.2.x: no spec.namespace, regexp: filter, newest-build, pull secret, git write-back
    const iu = parse(read(fx.dir, 'k8s/helm/manifests/it-tools/image-updater.yaml'))
    assert.equal(iu.apiVersion, 'argocd-image-updater.argoproj.io/v1alpha1')
    assert.equal(iu.metadata.namespace, 'argocd')
    assert.equal(iu.metadata.annotations['argocd.argoproj.io/sync-options'], 'SkipDryRunOnMissingResource=true')
    assert.equal(iu.spec.namespace, undefined)
    const ref = iu.spec.applicationRefs[0]
    assert.equal(ref.namePattern, 'it-tools')
    assert.deepEqual(ref.images[0], {
      alias: 'it-tools',
      imageName: 'ghcr.io/meirongdev/it-tools',
      commonUpdateSettings: { updateStrategy: 'newest-build', allowTags: 'regexp:^sha-[0-9a-f]+$', pullSecret: 'pullsecret:argocd/ghcr-pull-secret' },
    })
    assert.deepEqual(ref.writeBackConfig, { method: 'git:secret:argocd/git-creds', gitConfig: { branch: 'main' } })

    // the it-tools Application is a Kustomize app over that folder, same repo URL and project
    const app = parse(read(fx.dir, 'argocd/applications/it-tools.yaml'))
    assert.equal(app.spec.source.repoURL, 'https://github.com/meirongdev/homelab.git')
    assert.equal(app.spec.source.path, 'k8s/helm/manifests/it-tools')
    assert.equal(app.spec.project, 'homelab')
    assert.equal(app.spec.destination.namespace, 'personal-services')

    // ExternalSecrets
    const [pull, creds] = read(fx.dir, 'k8s/helm/manifests/github-external-secret.yaml').split(/^---$/m).map((d) => parse(d))
    assert.equal(pull.apiVersion, 'external-secrets.io/v1')
    assert.equal(pull.spec.secretStoreRef.name, 'vault-backend')
    assert.equal(pull.spec.target.template.type, 'kubernetes.io/dockerconfigjson')
    assert.match(pull.spec.target.template.data['.dockerconfigjson'], /^\{"auths":\{"ghcr\.io":\{.*"auth":"\{\{ printf "%s:%s" \.username \.pat \| b64enc \}\}"\}\}\}$/)
    assert.deepEqual(pull.spec.data.map((d: { remoteRef: { key: string; property: string } }) => d.remoteRef), [
      { key: 'secret/homelab/github', property: 'username' },
      { key: 'secret/homelab/github', property: 'pat' },
    ])
    assert.equal(creds.metadata.name, 'git-creds')
    assert.equal(creds.metadata.namespace, 'argocd')
    assert.deepEqual(creds.spec.data.map((d: { secretKey: string }) => d.secretKey), ['username', 'password'])

    // chart Application and values: log level under config."log.level"
    const chart = parse(read(fx.dir, 'argocd/applications/argocd-image-updater.yaml'))
    assert.equal(chart.spec.sources[0].repoURL, 'https://argoproj.github.io/argo-helm')
    assert.equal(chart.spec.sources[0].chart, 'argocd-image-updater')
    assert.equal(chart.spec.sources[0].targetRevision, '1.2.4')
    assert.deepEqual(chart.spec.sources[0].helm.valueFiles, ['$values/k8s/helm/values/argocd-image-updater.yaml'])
    assert.equal(chart.spec.sources[1].ref, 'values')
    assert.equal(chart.spec.destination.namespace, 'argocd')
    const values = parse(git(fx.dir, 'show', 'HEAD~1:k8s/helm/values/argocd-image-updater.yaml'))
    assert.equal(values.config['log.level'], 'debug')
    assert.equal(values.logLevel, undefined)
    assert.equal(values.config.registries[0].prefix, 'ghcr.io')
    assert.equal(values.config.registries[0].credentials, 'pullsecret:argocd/ghcr-pull-secret')

    // files the setup does not manage are untouched
    for (const rel of ['argocd/applications/calibre-web.yaml', 'k8s/helm/manifests/homepage.yaml', 'k8s/helm/values/calibre.yaml'])
      assert.equal(read(fx.dir, rel), sampleFiles[rel])
    assert.equal(existsSync(join(fx.dir, 'k8s/helm/manifests/it-tools.yaml')), false)

    // the rerun does nothing, says so per task, and makes no commit
    const head = git(fx.origin, 'rev-parse', 'main')
    const before = snapshot(fx.dir)
    cluster.sandbox.resetStats()
    const rerun = await runSetup([], { ...fx.env, ...cluster.env })
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    assert.equal((rerun.stdout.match(/: up to date/g) ?? []).length, 9)
    // task 8 checks rather than changes: it reports what it verified, not "up to date"
    assert.match(rerun.stdout, /8  Verify that Image Updater manages the app: verified \(\d+ checks passed; evidence below\)/)
    assert.equal(git(fx.origin, 'rev-parse', 'main'), head)
    assert.deepEqual(snapshot(fx.dir), before)
    assert.equal(cluster.sandbox.stats().mutatingTotal, 0, 'a converged rerun writes nothing to the cluster')

    // the token went into Vault, and nowhere into output or any exec command line
    assert.equal(cluster.sandbox.actors.vault.read('secret/homelab/github')?.pat, cluster.token)
    assert.doesNotMatch(run.stdout + run.stderr + rerun.stdout + rerun.stderr, new RegExp(cluster.token))
    assert.doesNotMatch(JSON.stringify(cluster.sandbox.stats().execCommands), new RegExp(cluster.token))
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('--dry-run shows diffs and actions, changes nothing, and exits 2 then 0', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const env = { ...fx.env, ...cluster.env }
  try {
    const before = snapshot(fx.dir)
    cluster.sandbox.resetStats()
    const dry = await runSetup(['--dry-run'], env)
    assert.equal(cluster.sandbox.stats().mutatingTotal, 0, 'dry-run writes nothing to the cluster')
    assert.equal(dry.code, 2, dry.stderr)
    assert.deepEqual(snapshot(fx.dir), before)
    assert.match(dry.stdout, /Task 6: edit argocd\/projects\/homelab\.yaml\n.*\n.*\n.*@@[^\n]*\n(?:.*\n)*?\s+\+    - https:\/\/argoproj\.github\.io\/argo-helm/)
    assert.match(dry.stdout, /would delete k8s\/helm\/manifests\/it-tools\.yaml/)
    assert.match(dry.stdout, /would git commit 13 file\(s\)/)
    assert.match(dry.stdout, /would git push origin main/)
    assert.deepEqual(readdirSync(fx.stateDir), [], 'dry-run saves no progress')

    assert.equal((await runSetup([], env)).code, 0)
    const after = await runSetup(['--dry-run'], env)
    assert.equal(after.code, 0, after.stdout + after.stderr)
    assert.match(after.stdout, /Nothing to do/)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('--only, --skip and --from select tasks by the plan numbers', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const only = await runSetup(['--only', '5'], fx.env)
    assert.equal(only.code, 0, only.stderr)
    assert.deepEqual(git(fx.dir, 'status', '--porcelain').split('\n').sort(), ['?? argocd/applications/argocd-image-updater.yaml', '?? k8s/helm/values/argocd-image-updater.yaml'])

    const skip = await runSetup(['--dry-run', '--skip', '1,5-9'], fx.env)
    assert.equal(skip.code, 2, skip.stderr)
    assert.doesNotMatch(skip.stdout, /Task [15-9]:/)
    assert.match(skip.stdout, /Task 0:[\s\S]*Task 2:[\s\S]*Task 3:[\s\S]*Task 4:/)

    // task 7 alone cannot deploy Applications whose files the skipped tasks would write
    const alone = await runSetup(['--dry-run', '--only', '7'], { ...fx.env, ...cluster.env })
    assert.equal(alone.code, 1)
    assert.match(alone.stderr, /argocd\/applications\/it-tools\.yaml does not exist/)
    assert.match(alone.stderr, /fix: run the repo tasks first/)

    const from = await runSetup(['--dry-run', '--only', '3-6'], fx.env)
    assert.equal(from.code, 2)
    assert.match(from.stdout, /Task 6:/)
    assert.doesNotMatch(from.stdout, /Task [0-2]:/)

    git(fx.dir, 'stash', '-u', '-q')
    const from5 = await runSetup(['--dry-run', '--from', '5', '--skip', '7-9'], fx.env)
    assert.equal(from5.code, 2, from5.stdout + from5.stderr)
    assert.match(from5.stdout, /Task 5:[\s\S]*Task 6:/)
    assert.doesNotMatch(from5.stdout, /Task [0-4]:|Task [7-9]:/)

    const bad = await runSetup(['--only', '42'], fx.env)
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /--only 42: no task 42/)
    assert.match(bad.stderr, /fix: task ids are 0, 1, 2, /)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('each task file runs alone', async () => {
  const fx = fixture()
  try {
    const run = await runSetup([], fx.env, 'tasks/06-allow-helm-repo.ts')
    assert.equal(run.code, 0, run.stderr)
    assert.equal(git(fx.dir, 'status', '--porcelain', '--untracked-files=all'), 'M argocd/projects/homelab.yaml')
  } finally {
    fx.cleanup()
  }
})

test("a pre-commit hook that rewrites the files and refuses (as pre-commit's formatters do): its version is committed, and the rerun blames nobody", async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  fx.env = { ...fx.env, ...cluster.env }
  try {
    // appends a marker comment to every staged YAML file without one, and refuses the commit when it changed anything
    const hook = [
      '#!/bin/sh',
      'changed=0',
      "for f in $(git diff --cached --name-only --diff-filter=AM -- '*.yaml'); do",
      "  if [ \"$(tail -n 1 \"$f\")\" != '# checked by the hook' ]; then printf '# checked by the hook\\n' >> \"$f\"; changed=1; fi",
      'done',
      'if [ $changed = 1 ]; then echo "files were modified by this hook" >&2; exit 1; fi',
      '',
    ].join('\n')
    writeFileSync(join(fx.dir, '.git/hooks/pre-commit'), hook, { mode: 0o755 })
    const run = await runSetup([], fx.env)
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /pre-commit hook refused the commit and rewrote .*argocd\/applications\/it-tools\.yaml.*; committing its version/)
    assert.match(gitRaw(fx.origin, 'show', 'main~1:argocd/applications/it-tools.yaml'), /# checked by the hook\n$/, 'the hook\'s version was pushed')
    assert.equal(git(fx.dir, 'status', '--porcelain'), '')
    const rerun = await runSetup([], fx.env)
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
    assert.doesNotMatch(rerun.stderr, /uncommitted edits/)
    assert.match(rerun.stdout, /Done: 0 task\(s\) changed something/, rerun.stdout)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('a run that fails mid-way saves progress, --list shows it, and the next run resumes', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  fx.env = { ...fx.env, ...cluster.env }
  try {
    // a pre-commit hook that refuses: tasks 0-6 write their files, task 7's commit fails
    writeFileSync(join(fx.dir, '.git/hooks/pre-commit'), '#!/bin/sh\necho "hook says no" >&2\nexit 1\n', { mode: 0o755 })
    const failed = await runSetup([], fx.env)
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /task 7 .*git commit failed: hook says no/)
    assert.match(failed.stderr, /run the same command again/)
    assert.equal(git(fx.origin, 'rev-parse', 'main'), git(fx.dir, 'rev-parse', 'HEAD'), 'nothing committed or pushed')

    const list = await runSetup(['--list'], fx.env)
    assert.equal(list.code, 0)
    assert.match(list.stdout, / 0  Save the plan to docs\/plans  \[done\]/)
    assert.match(list.stdout, / 6  Allow the argo-helm .*\[done\]/)
    assert.match(list.stdout, / 7  Commit, push and deploy  \[FAILED\]/)
    assert.match(list.stdout, /task 7 failed: git commit failed/)

    rmSync(join(fx.dir, '.git/hooks/pre-commit'))
    const resumed = await runSetup([], fx.env)
    assert.equal(resumed.code, 0, resumed.stderr)
    // the cluster task done is trusted (same settings, same cluster); repo tasks are planned again
    assert.match(resumed.stderr, /Resuming the run started .* \(tasks done: 1;/)
    assert.equal((resumed.stdout.match(/done earlier in this run/g) ?? []).length, 1)
    assert.equal((resumed.stdout.match(/^\S* ?[0-6]  .*: up to date$/gm) ?? []).length, 6, resumed.stdout)
    // what the earlier part of the run did is kept apart from "already up to date"
    const listed = await runSetup(['--list'], fx.env)
    assert.match(listed.stdout, /No run in progress\. The last run finished \d{4}-\d\d-\d\dT[\d:.]+Z \(started [^)]+\); it changed:\n {3}0 {2}Save the plan to docs\/plans \(earlier in this run\)\n(?:.*\n)* {3}7 {2}.*git commit 13 file/)
    assert.match(resumed.stdout, /7  Commit, push and deploy: .*git commit 13 file\(s\)/)
    assert.equal(git(fx.origin, 'rev-list', '--count', 'main'), '3', 'base, setup commit, log level')
    assert.equal(git(fx.dir, 'status', '--porcelain'), '')

    // after success the progress is cleared: the next run checks every task again
    const again = await runSetup([], fx.env)
    assert.equal((again.stdout.match(/: up to date/g) ?? []).length, 9)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})

test('--help works without any settings', async () => {
  const help = await runSetup(['--help'], {})
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--dry-run/)
})

test('chart 1.1.x gets the ImageUpdater shape its CRD requires (spec.namespace) and the setup verifies', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  try {
    const run = await runSetup([], { ...fx.env, ...cluster.env, CHART_VERSION: '1.1.1' })
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const iu = parse(read(fx.dir, 'k8s/helm/manifests/it-tools/image-updater.yaml'))
    assert.equal(iu.spec.namespace, 'argocd')
    const live = cluster.sandbox.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' })
    assert.equal(live?.spec?.namespace, 'argocd', 'the 1.1 CRD kept spec.namespace')
    assert.match(run.stdout, /PASS controller log shows it working: Processing results: applications=1/)
  } finally {
    await cluster.stop()
    fx.cleanup()
  }
})
