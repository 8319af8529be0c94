// Never push a repo that does not render: the render check refuses, with the file, the cause and a
// fix, a change whose Kustomize folder fails to build, that puts two objects with one identity in
// one app, or that holds an ImageUpdater the chosen chart's CRD refuses. In --dry-run (exit 1), in
// the runner's preflight (nothing written) and in task 7 right before the commit (nothing committed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import type { Ctx } from '../src/context.ts'
import { evalCel, imageUpdaterSchema, schemaProblems } from '../src/repo-model/crd-schema.ts'
import { fixture, git, PROJECT, runSetup } from './helpers.ts'

/** The runner with a repo task that writes `files` (test/fixtures/gate-run.ts), as a child process. */
async function run(argv: string[], files: Record<string, string>, include: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const r = await runSetup(argv, { ...env, GATE_FILES: JSON.stringify(files), GATE_INCLUDE: include.join(',') }, 'test/fixtures/gate-run.ts')
  return { code: r.code, out: r.stdout + r.stderr }
}

/** Files in a temp folder (no git: the model reads the folder as it is). */
function tempRepo(files: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'render-gate-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true })
    writeFileSync(join(dir, rel), text)
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const kustomizeApp = (name: string, path: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: https://github.com/meirongdev/homelab.git
    targetRevision: main
    path: ${path}
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
`

const BROKEN_KUSTOMIZE = {
  'argocd/applications/it-tools.yaml': kustomizeApp('it-tools', 'k8s/helm/manifests/it-tools'),
  'k8s/helm/manifests/it-tools/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
}

async function refusedBothWays(files: Record<string, string>, include: string[], expect: RegExp[], env: Record<string, string> = {}) {
  const fx = fixture({}, env)
  try {
    const head = git(fx.dir, 'rev-parse', 'HEAD')
    const dry = await run(['--dry-run', '--only', '3'], files, include, fx.env)
    assert.equal(dry.code, 1, dry.out)
    for (const re of expect) assert.match(dry.out, re)
    assert.match(dry.out, /nothing was changed \(dry run\)/)
    const real = await run(['--only', '3'], files, include, fx.env)
    assert.equal(real.code, 1, real.out)
    for (const re of expect) assert.match(real.out, re)
    // refused in the preflight: nothing written, nothing committed
    for (const rel of Object.keys(files)) assert.equal(existsSync(join(fx.dir, rel)), false, `${rel} was written`)
    assert.equal(git(fx.dir, 'status', '--porcelain'), '')
    assert.equal(git(fx.dir, 'rev-parse', 'HEAD'), head)
  } finally {
    fx.cleanup()
  }
}

test('render check: a Kustomize folder that fails to build is refused with its file, the cause and a fix', async () => {
  await refusedBothWays(BROKEN_KUSTOMIZE, [], [
    /render check: k8s\/helm\/manifests\/it-tools\/kustomization\.yaml: the Application it-tools would not render after this change \(kubectl kustomize k8s\/helm\/manifests\/it-tools\): .*deployment\.yaml/,
    /fix: make every resources: entry of k8s\/helm\/manifests\/it-tools\/kustomization\.yaml .* name a file or folder that exists/,
  ])
})

test('render check: two objects with one identity in one app are refused, naming both files', async () => {
  const copy = (await import('../sandbox/sample-repo.ts')).sampleFiles['k8s/helm/manifests/it-tools.yaml']!
  await refusedBothWays({ 'k8s/helm/manifests/it-tools-copy.yaml': copy }, ['it-tools-copy.yaml'], [
    /render check: 2 problems would be pushed:/,
    /k8s\/helm\/manifests\/it-tools-copy\.yaml:3 and k8s\/helm\/manifests\/it-tools\.yaml:3: two objects Deployment personal-services\/it-tools in the Application personal-services/,
    /fix: keep one Service personal-services\/it-tools \(delete the other document or drop its file from what personal-services syncs\)/,
  ])
})

test('render check: an ImageUpdater the chart version\'s CRD refuses is refused (spec.namespace on chart 1.2)', async () => {
  const updater = `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  namespace: argocd
  applicationRefs:
    - namePattern: it-tools
      useAnnotations: true
`
  await refusedBothWays({ 'k8s/helm/manifests/it-tools-updater.yaml': updater }, ['it-tools-updater.yaml'], [
    /render check: k8s\/helm\/manifests\/it-tools-updater\.yaml:1: the ImageUpdater argocd\/it-tools is invalid for chart 1\.2\.4 \(app 1\.2\): spec\.namespace: unknown field/,
    /fix: delete spec\.namespace \(chart 1\.2\.4 removed it/,
  ])
})

test('render check: task 7 renders what it would commit, and commits nothing that does not render', async () => {
  const fx = fixture()
  try {
    const { settings, secrets } = loadConfig({ env: fx.env, cwd: '/nonexistent-dir' })
    const ctx = { settings, secrets, repoDir: fx.dir, projectDir: PROJECT, dryRun: false, yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(fx.stateDir, fx.dir) } as unknown as Ctx
    // files an earlier run wrote (and recorded as its own), left uncommitted: the folder lacks deployment.yaml
    for (const [rel, text] of Object.entries(BROKEN_KUSTOMIZE)) {
      mkdirSync(dirname(join(fx.dir, rel)), { recursive: true })
      await ctx.state.recordWrite(rel, text)
      writeFileSync(join(fx.dir, rel), text)
    }
    const head = git(fx.dir, 'rev-parse', 'HEAD')
    const commit = (await import('../tasks/07-commit-and-deploy.ts')).default
    await assert.rejects(commit.plan(ctx), /render check: k8s\/helm\/manifests\/it-tools\/kustomization\.yaml: the Application it-tools would not render/)
    assert.equal(git(fx.dir, 'rev-parse', 'HEAD'), head)
  } finally {
    fx.cleanup()
  }
})

test('CRD schemas: the Image Updater CRDs of 1.0, 1.1 and 1.2 and their validation rules', () => {
  const ref = { namePattern: 'it-tools', images: [{ alias: 'it-tools', imageName: 'ghcr.io/o/it-tools' }] }
  const iu = (spec: object) => ({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', metadata: { name: 'x', namespace: 'argocd' }, spec })
  assert.deepEqual(schemaProblems(iu({ applicationRefs: [ref] }), imageUpdaterSchema('1.2').schema), [])
  assert.deepEqual(schemaProblems(iu({ namespace: 'argocd', applicationRefs: [ref] }), imageUpdaterSchema('1.0').schema), [])
  assert.deepEqual(schemaProblems(iu({ applicationRefs: [ref] }), imageUpdaterSchema('1.0').schema), ['spec.namespace: required'])
  assert.deepEqual(schemaProblems(iu({ applicationRefs: [{ namePattern: 'a', useAnnotations: true }] }), imageUpdaterSchema('1.0').schema), ['spec.namespace: required', 'spec.applicationRefs[0].images: required', 'spec.applicationRefs[0].useAnnotations: unknown field (the CRD does not declare it)'])
  assert.deepEqual(schemaProblems(iu({ applicationRefs: [{ namePattern: 'a' }] }), imageUpdaterSchema('1.2').schema), ['spec.applicationRefs[0]: Either useAnnotations must be true, or images must be provided with at least one item'])
  assert.deepEqual(schemaProblems(iu({ applicationRefs: [] }), imageUpdaterSchema('1.2').schema), ['spec.applicationRefs: needs at least 1 item(s)'])
  assert.deepEqual(schemaProblems(iu({ applicationRefs: 'it-tools' }), imageUpdaterSchema('1.2').schema), ['spec.applicationRefs: must be a list, found string "it-tools"'])
  // the CEL subset: has, size, ternaries, sums, short-circuit logic over missing keys
  const one = '(has(self.github) ? 1 : 0) + (has(self.gitlab) ? 1 : 0) == 1'
  assert.deepEqual([evalCel(one, { github: {} }), evalCel(one, {}), evalCel(one, { github: {}, gitlab: {} })], [true, false, false])
  assert.equal(evalCel('self.enabled == false || has(self.cosignKey)', { enabled: false }), true)
  assert.equal(evalCel('self.enabled == false || has(self.cosignKey)', { enabled: true }), false)
})

test('--dry-run says what it found for each app of the run: Application, file, cluster, source type, and the reasons given', async () => {
  const fx = fixture()
  try {
    const r = await runSetup(['--dry-run', '--only', '3'], { ...fx.env, GATE_FILES: '{}', GATE_INCLUDE: '', GATE_WHY: 'moved out: Image Updater skips Directory apps' }, 'test/fixtures/gate-run.ts')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /Found in the repo \(as Argo CD sees it\):\n  it-tools:\n    Deployment personal-services\/it-tools from k8s\/helm\/manifests\/it-tools\.yaml:3\n      Application personal-services \(argocd\/applications\/personal-services\.yaml:3\), Directory \(spec\.source\.directory is set\)\n      cluster in-cluster \(https:\/\/kubernetes\.default\.svc\), namespace personal-services\n    why: moved out: Image Updater skips Directory apps\n/)
    assert.match(r.stdout, /Vault \(store vault-backend, k8s\/helm\/manifests\/vault-eso-config\.yaml:\d+\): http:\/\/vault\.vault\.svc:8200 on cluster in-cluster/)
  } finally {
    fx.cleanup()
  }
})

test('render check: a second ImageUpdater of one name beside the first (the repair of a plan followed by hand) is refused as kustomize refuses it', async () => {
  const updater = (file: string) => `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  applicationRefs:
    - namePattern: it-tools
      images: [{alias: it-tools, imageName: ghcr.io/o/it-tools}] # ${file}
`
  const repo = tempRepo({
    'apps/it-tools.yaml': kustomizeApp('it-tools', 'k8s/it-tools'),
    'k8s/it-tools/kustomization.yaml': 'resources:\n  - imageupdater.yaml\n  - image-updater.yaml\n',
    'k8s/it-tools/imageupdater.yaml': updater('by hand'),
    'k8s/it-tools/image-updater.yaml': updater('by the setup'),
  })
  try {
    const { loadRepoModel } = await import('../src/repo-model/index.ts')
    const { renderGate } = await import('../src/repo-model/render-gate.ts')
    const { settings } = loadConfig({ env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'owner' }, cwd: '/nonexistent-dir' })
    await assert.rejects(renderGate({ repoDir: repo.dir, settings }, ['k8s/it-tools/image-updater.yaml']), (e: Error & { fix: string }) => {
      assert.match(e.message, /render check: k8s\/it-tools\/kustomization\.yaml: the Application it-tools would not render after this change \(kubectl kustomize k8s\/it-tools\): .*ImageUpdater.*it-tools/)
      assert.match(e.fix, /defines one object twice .*: keep one/)
      return true
    })
    assert.equal((await loadRepoModel({ repoDir: repo.dir, settings })).applications.length, 1)
  } finally {
    repo.cleanup()
  }
})
