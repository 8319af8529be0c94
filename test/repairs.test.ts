// A setup made by hand from the plan (or by an older run) is converged, not refused: each known
// mistake is one repair with its reason and a diff that touches only the lines at fault; the
// user's own tuning stays byte for byte; files the controller wrote are left alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createSampleRepo, sampleFiles, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import type { Change } from '../src/task.ts'
import { managedPaths, REPO_TASKS } from '../tasks/07-commit-and-deploy.ts'

function makeCtx(repo: SampleRepo, stateDir: string, env: Record<string, string> = {}): Ctx {
  const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', STATE_DIR: stateDir, ...env }, cwd: '/nonexistent-dir' })
  return { settings, secrets, repoDir: repo.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(stateDir, repo.dir) } as Ctx
}

async function planAll(ctx: Ctx): Promise<Change[]> {
  const all: Change[] = []
  for (const t of REPO_TASKS) {
    const changes = await t.plan(ctx)
    for (const c of changes) await c.apply()
    all.push(...changes)
  }
  return all
}

import { APP, byHand, HAND_IU, handFollowed, IU, KUST, VALUES } from './by-hand.ts'
import { findImageUpdaters } from '../src/image-updaters.ts'
import { choicesFor } from '../src/repo-model/report.ts'
import { imageUpdaterCrd } from '../sandbox/actors/crds.ts'
import { validateCustomObject } from '../sandbox/apiserver/schema.ts'

function withRepo(files: Record<string, string | null>, fn: (repo: SampleRepo, ctx: Ctx) => Promise<void>, env: Record<string, string> = {}) {
  return async () => {
    const repo = createSampleRepo(files)
    const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
    try {
      await fn(repo, makeCtx(repo, state, env))
    } finally {
      rmSync(repo.root, { recursive: true, force: true })
      rmSync(state, { recursive: true, force: true })
    }
  }
}

const read = (repo: SampleRepo, rel: string) => readFileSync(join(repo.dir, rel), 'utf8')
/** Lines only in a, lines only in b. */
function changed(a: string, b: string) {
  const la = a.split('\n')
  const lb = b.split('\n')
  return { removed: la.filter((l) => !lb.includes(l)), added: lb.filter((l) => !la.includes(l)) }
}

test('all the plan-by-hand mistakes at once: one repair per file with every reason, user tuning kept, then converged', withRepo(byHand, async (repo, ctx) => {
  const changes = await planAll(ctx)
  const repairs = changes.filter((c) => c.summary.startsWith('repair '))
  assert.deepEqual(repairs.map((c) => c.summary.split(':')[0]).sort(), [`repair ${APP}`, `repair ${KUST}`, `repair ${IU}`, `repair ${VALUES}`].sort())
  const summary = repairs.map((c) => c.summary).join('\n')
  for (const reason of [/SkipDryRunOnMissingResource/, /tag-match-expr exists in no Image Updater release; the tag filter is it-tools\.allow-tags: regexp:/, /strategy "latest" is a deprecated alias/, /spec\.namespace was removed in Image Updater 1\.2/, /allowTags "\^sha-\[0-9a-f\]\+\$" lacks the regexp: prefix/, /a top-level namespace \(personal-services\) would move the ImageUpdater/, /config\."log\.level", not a top-level logLevel/, /a top-level logLevel is read by no chart version/, /argocd-image-updater-secret is the chart's own Secret, not the pull secret ESO makes: pullsecret:argocd\/ghcr-pull-secret/])
    assert.match(summary, reason)
  assert.deepEqual(changed(byHand[IU]!, read(repo, IU)), {
    removed: ['            updateStrategy: latest', '            allowTags: ^sha-[0-9a-f]+$', '            pullSecret: pullsecret:argocd/argocd-image-updater-secret'],
    added: ['  annotations:', '    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true', '            updateStrategy: newest-build', '            allowTags: regexp:^sha-[0-9a-f]+$', '            pullSecret: pullsecret:argocd/ghcr-pull-secret'],
  })
  assert.equal(read(repo, IU).split('\n').length, byHand[IU]!.split('\n').length + 1, 'spec.namespace: one line less, the annotation: two more')
  assert.equal(parse(read(repo, IU)).spec.namespace, undefined)
  assert.deepEqual(changed(byHand[KUST]!, read(repo, KUST)), { removed: ['namespace: personal-services'], added: [] })
  assert.deepEqual(changed(byHand[APP]!, read(repo, APP)), {
    removed: ['    argocd-image-updater.argoproj.io/it-tools.update-strategy: latest', '    argocd-image-updater.argoproj.io/it-tools.tag-match-expr: ^sha-[0-9a-f]+$'],
    added: ['    argocd-image-updater.argoproj.io/it-tools.update-strategy: newest-build', '    argocd-image-updater.argoproj.io/it-tools.allow-tags: regexp:^sha-[0-9a-f]+$'],
  })
  assert.deepEqual(changed(byHand[VALUES]!, read(repo, VALUES)), {
    removed: ['logLevel: debug', '      credentials: pullsecret:argocd/argocd-image-updater-secret'],
    added: ['      credentials: pullsecret:argocd/ghcr-pull-secret', '  log.level: debug'],
  })
  assert.ok(read(repo, VALUES).includes('# 自己调的\nresources:\n  limits:\n    memory: 512Mi\n'), 'the user tuning is kept')
  assert.ok(read(repo, IU).includes('ignoreTags: ["sha-0000000"]  # 坏掉的构建'))
  assert.equal(read(repo, 'k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml'), byHand['k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml'])
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'a rerun finds nothing left to repair')
}))

const alone: [string, string, (t: string) => string, RegExp][] = [
  ['ImageUpdater spec.namespace on a 1.2 chart', IU, (t) => t.replace('spec:\n', 'spec:\n  namespace: argocd\n'), /spec\.namespace was removed/],
  ['latest strategy in the ImageUpdater', IU, (t) => t.replace('updateStrategy: newest-build', 'updateStrategy: latest'), /strategy "latest" is a deprecated alias/],
  ['bare regex in allowTags', IU, (t) => t.replace('"regexp:^sha-[0-9a-f]+$"', '^sha-[0-9a-f]+$'), /lacks the regexp: prefix/],
  ['ImageUpdater without SkipDryRunOnMissingResource', IU, (t) => t.replace(/  annotations:\n.*\n.*\n/, ''), /the dry run fails without argocd\.argoproj\.io\/sync-options: SkipDryRunOnMissingResource=true/],
  ['ImageUpdater without git write-back', IU, (t) => t.replace(/      writeBackConfig:\n.*\n.*\n.*\n/, ''), /without writeBackConfig Image Updater changes only the live Application/],
  ['ImageUpdater in the wrong namespace', IU, (t) => t.replace('  namespace: argocd\n', '  namespace: personal-services\n'), /must live in argocd/],
  ['tag-match-expr annotation', APP, (t) => t.replace('metadata:\n  name: it-tools\n', 'metadata:\n  name: it-tools\n  annotations:\n    argocd-image-updater.argoproj.io/it-tools.tag-match-expr: ^sha-[0-9a-f]+$\n'), /tag-match-expr exists in no Image Updater release/],
  ['kustomize namespace line', KUST, (t) => t.replace('kind: Kustomization\n', 'kind: Kustomization\nnamespace: personal-services\n'), /a top-level namespace \(personal-services\)/],
  ['top-level logLevel', VALUES, (t) => `logLevel: info\n${t.replace(/^  log\.level: .*\n/m, '')}`, /not a top-level logLevel: log\.level: info/],
  ['no registries entry for an image in use', VALUES, (t) => t.replace(/  registries:\n[^]*?credentials: .*\n/, '  registries:\n    - name: Quay\n      prefix: quay.io\n      api_url: https://quay.io\n'), /config\.registries has no entry for ghcr\.io/],
]

for (const [name, rel, mistake, reason] of alone)
  test(`one mistake alone is one repair: ${name}`, withRepo({}, async (repo, ctx) => {
    await planAll(ctx)
    const good = read(repo, rel)
    const bad = mistake(good)
    assert.notEqual(bad, good, 'the mistake was put in')
    writeFileSync(join(repo.dir, rel), bad)
    const changes = await planAll(ctx)
    assert.deepEqual(changes.map((c) => c.summary.split(':')[0]), [`repair ${rel}`])
    assert.match(changes[0]!.summary, reason)
    assert.equal((await planAll(ctx)).length, 0, 'converged')
    // the repair gives back what the setup writes (as data: a repaired scalar keeps the user's quoting)
    if (!['top-level logLevel', 'no registries entry for an image in use', 'tag-match-expr annotation', 'ImageUpdater without SkipDryRunOnMissingResource'].includes(name)) assert.deepEqual(parse(read(repo, rel)), parse(good))
  }))

test("a values file from the 0.x chart: its config keys renamed to the ones charts 1.0-1.2 read, values and comments kept, the Argo CD API block removed", withRepo({}, async (repo, ctx) => {
  await planAll(ctx)
  const good = read(repo, VALUES)
  const old = good
    .replace(/^  log\.level: .*\n/m, '  logLevel: debug  # 排查用\n  gitCommitUser: homelab-bot\n  gitCommitTemplate: |\n    build: {{ .AppName }}\n  disableKubeEvents: true\n  applicationsAPIKind: kubernetes\n  argocd:\n    grpcWeb: true\n    serverAddress: ""\n')
  assert.notEqual(old, good)
  writeFileSync(join(repo.dir, VALUES), old)
  const changes = await planAll(ctx)
  assert.deepEqual(changes.map((c) => c.summary.split(':')[0]), [`repair ${VALUES}`])
  for (const reason of [/config\.logLevel is the 0\.x chart's name for config\."log\.level", the key chart 1\.2\.4 reads: renamed, value kept/, /config\.gitCommitUser [^;]*config\."git\.user"/, /config\.gitCommitTemplate [^;]*config\."git\.commit-message-template"/, /config\.disableKubeEvents [^;]*config\."kube\.events"/, /config\.argocd is read by the 0\.x chart only/, /config\.applicationsAPIKind is read by the 0\.x chart only/])
    assert.match(changes[0]!.summary, reason)
  assert.doesNotMatch(changes[0]!.summary, /log\.level: info/, 'no second log level beside the renamed one')
  assert.deepEqual(changed(old, read(repo, VALUES)), {
    removed: ['  logLevel: debug  # 排查用', '  gitCommitUser: homelab-bot', '  gitCommitTemplate: |', '  disableKubeEvents: true', '  applicationsAPIKind: kubernetes', '  argocd:', '    grpcWeb: true', '    serverAddress: ""'],
    added: ['  log.level: debug  # 排查用', '  git.user: homelab-bot', '  git.commit-message-template: |', '  kube.events: true'],
  })
  assert.deepEqual(parse(read(repo, VALUES)).config, { ...parse(good).config, 'log.level': 'debug', 'git.user': 'homelab-bot', 'git.commit-message-template': 'build: {{ .AppName }}\n', 'kube.events': true })
  assert.equal((await planAll(ctx)).length, 0, 'converged')
  // both keys set: the 1.x one wins, the dead 0.x one goes
  writeFileSync(join(repo.dir, VALUES), read(repo, VALUES).replace('  git.user: homelab-bot\n', '  git.user: homelab-bot\n  gitCommitUser: someone-else\n'))
  const again = await planAll(ctx)
  assert.match(again[0]!.summary, /config\.gitCommitUser is the 0\.x chart's key, dead beside config\."git\.user" that chart 1\.2\.4 reads: removed/)
  assert.equal(parse(read(repo, VALUES)).config['git.user'], 'homelab-bot')
  assert.equal(parse(read(repo, VALUES)).config.gitCommitUser, undefined)
}))

test('what cannot be repaired safely stops with cause and fix', withRepo({}, async (repo, ctx) => {
  await planAll(ctx)
  writeFileSync(join(repo.dir, KUST), read(repo, KUST).replace('kind: Kustomization\n', 'kind: Kustomization\nnamespace: elsewhere\n'))
  await assert.rejects(planAll(ctx), /namespace \(elsewhere\)[^]*removing it would move Deployment it-tools, Service it-tools to personal-services[^]*fix: add namespace: elsewhere/)
  writeFileSync(join(repo.dir, KUST), read(repo, KUST).replace('namespace: elsewhere\n', ''))
  writeFileSync(join(repo.dir, IU), read(repo, IU).replace('updateStrategy: newest-build', 'updateStrategy: newest'))
  await assert.rejects(planAll(ctx), /update strategy "newest" is not one Image Updater knows[^]*fix: set it to one of semver/)
  writeFileSync(join(repo.dir, IU), read(repo, IU).replace('imageName: ghcr.io/meirongdev/it-tools', 'imageName: ghcr.io/someone/else').replace('newest\n', 'newest-build\n'))
  await assert.rejects(planAll(ctx), /has no images\[\] entry for ghcr\.io\/meirongdev\/it-tools/)
}))

test("re-runs keep the user's own additions to the ImageUpdater and the Application", withRepo({}, async (repo, ctx) => {
  await planAll(ctx)
  const iu = read(repo, IU).replace('          commonUpdateSettings:\n', '          commonUpdateSettings:\n            platforms: [linux/arm64]\n')
  const app = read(repo, APP).replace('      selfHeal: true\n', '      selfHeal: true\n    syncOptions:\n      - ServerSideApply=true\n')
  writeFileSync(join(repo.dir, IU), iu)
  writeFileSync(join(repo.dir, APP), app)
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [])
  assert.equal(read(repo, IU), iu)
  assert.equal(read(repo, APP), app)
}))

test("a Directory app with include '*.yaml' and exclude (the corpus' flat-wildcard repo): the app moves, the pattern stays as the user wrote it", async () => {
  const { buildCorpusRepo, CORPUS } = await import('../sandbox/corpus/index.ts')
  const corpus = buildCorpusRepo(CORPUS.find((s) => s.name === 'flat-wildcard')!)
  const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
  try {
    const { settings, secrets } = loadConfig({ env: { ...corpus.env, STATE_DIR: state }, cwd: '/nonexistent-dir' })
    const ctx = { settings, secrets, repoDir: corpus.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(state, corpus.dir) } as Ctx
    const services = readFileSync(join(corpus.dir, settings.personalServicesFile), 'utf8')
    const changes = await planAll(ctx)
    assert.ok(changes.some((c) => c.summary === 'delete clusters/home/services/it-tools.yaml'))
    assert.ok(changes.some((c) => c.summary === 'create clusters/home/services/it-tools/kustomization.yaml'))
    assert.equal(readFileSync(join(corpus.dir, settings.personalServicesFile), 'utf8'), services, 'include and exclude untouched')
    assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [])
  } finally {
    rmSync(corpus.root, { recursive: true, force: true })
    rmSync(state, { recursive: true, force: true })
  }
})

const DB = 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: personal-services\nspec:\n  serviceName: db\n  selector:\n    matchLabels: {app: db}\n  template:\n    metadata:\n      labels: {app: db}\n    spec:\n      initContainers:\n        - name: init\n          image: busybox:1.36\n      containers:\n        - name: db\n          image: docker.io/library/postgres:16.4\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  namespace: personal-services\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n'

test('a StatefulSet app is onboarded like a Deployment (its file moves whole, its volume claim is never pruned)', withRepo({
  'k8s/helm/manifests/db.yaml': DB,
  'argocd/applications/personal-services.yaml': sampleFiles['argocd/applications/personal-services.yaml']!.replace('homepage.yaml}', 'homepage.yaml,db.yaml}'),
}, async (repo, ctx) => {
  const changes = await planAll(ctx)
  assert.ok(changes.some((c) => c.summary === 'create k8s/helm/manifests/db/db.yaml (PersistentVolumeClaim data: Prune=false, so no sync ever deletes the volume)'), changes.map((c) => c.summary).join('\n'))
  const moved = read(repo, 'k8s/helm/manifests/db/db.yaml')
  assert.equal(parse(moved.split('---\n')[1]!).metadata.annotations['argocd.argoproj.io/sync-options'], 'Prune=false')
  assert.equal(moved.replace('  annotations:\n    argocd.argoproj.io/sync-options: Prune=false\n', ''), DB, 'nothing else of the file changed')
  const iu = parse(read(repo, 'k8s/helm/manifests/db/image-updater.yaml'))
  assert.deepEqual(iu.spec.applicationRefs[0].images[0], { alias: 'db', imageName: 'docker.io/library/postgres:16.x', commonUpdateSettings: { updateStrategy: 'semver' } })
  assert.match(read(repo, 'k8s/helm/values/argocd-image-updater.yaml'), /prefix: docker\.io/)
}, { APP_NAME: 'db' }))

test('the plan followed by hand (imageupdater.yaml, spec.namespace, useAnnotations): repaired in place into one valid ImageUpdater, never a second', withRepo(handFollowed, async (repo, ctx) => {
  const changes = await planAll(ctx)
  const summary = changes.map((c) => c.summary).join('\n')
  assert.match(summary, new RegExp(`repair ${HAND_IU}: [^\\n]*spec\\.namespace was removed[^\\n]*useAnnotations makes the it-tools Application's annotations the configuration`))
  assert.doesNotMatch(summary, /image-updater\.yaml \(/, 'no second ImageUpdater written')
  assert.ok(!existsSync(join(repo.dir, IU)))
  const found = await findImageUpdaters(ctx)
  assert.deepEqual(found.map((f) => [f.file, f.namespace, f.name]), [[HAND_IU, 'argocd', 'it-tools']])
  const iu = parse(read(repo, HAND_IU))
  assert.deepEqual(validateCustomObject(iu, imageUpdaterCrd('1.2.2').spec.versions[0].schema.openAPIV3Schema).causes, [], 'valid against the chart 1.2 CRD')
  assert.equal(iu.spec.namespace, undefined)
  assert.deepEqual(iu.spec.applicationRefs[0], {
    namePattern: 'it-tools',
    images: [{ alias: 'it-tools', imageName: 'ghcr.io/meirongdev/it-tools', commonUpdateSettings: { updateStrategy: 'newest-build', allowTags: 'regexp:^sha-[0-9a-f]+$', pullSecret: 'pullsecret:argocd/ghcr-pull-secret' } }],
    writeBackConfig: { method: 'git:secret:argocd/git-creds' },
  })
  assert.deepEqual(parse(read(repo, KUST)).resources, ['deployment.yaml', 'service.yaml', 'imageupdater.yaml'], 'the kustomization still lists the one file')
  assert.match(read(repo, KUST), /imageupdater\.yaml {3}# 按计划手写/)
  const plan = read(repo, 'docs/plans/argocd-image-updater.md')
  assert.match(plan, /## What this run uses in this repository\n[^]*\| it-tools \| `ghcr\.io\/meirongdev\/it-tools` \| `argocd\/applications\/it-tools\.yaml` \| `k8s\/helm\/manifests\/it-tools\/` [^|]*\| `k8s\/helm\/manifests\/it-tools\/imageupdater\.yaml` \| newest-build/, 'the saved plan names the file this run repaired')
  const built = execFileSync('kubectl', ['kustomize', join(repo.dir, 'k8s/helm/manifests/it-tools')], { encoding: 'utf8' })
  assert.equal((built.match(/^kind: ImageUpdater$/gm) ?? []).length, 1)
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'converged')
}))

test('an ImageUpdater in a shared file is repaired in its own document; two selecting one app are refused with both files', withRepo({
  ...handFollowed,
  [HAND_IU]: null,
  [KUST]: handFollowed[KUST]!.replace('  - imageupdater.yaml   # 按计划手写\n', ''),
  'argocd/image-updaters.yaml': `# every ImageUpdater of the homelab
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: other
  namespace: argocd
spec:
  applicationRefs:
    - namePattern: other
      images: [{alias: o, imageName: nginx:1.x}]   # 别动
---
${handFollowed[HAND_IU]}`,
}, async (repo, ctx) => {
  await planAll(ctx)
  const text = read(repo, 'argocd/image-updaters.yaml')
  assert.ok(text.startsWith(`# every ImageUpdater of the homelab\napiVersion: argocd-image-updater.argoproj.io/v1alpha1\nkind: ImageUpdater\nmetadata:\n  name: other\n`))
  assert.match(text, /images: \[\{alias: o, imageName: nginx:1\.x\}\] {3}# 别动\n---\n/)
  assert.equal(parse(text.split('---\n')[1]!).spec.applicationRefs[0].images[0].imageName, 'ghcr.io/meirongdev/it-tools')
  assert.ok(!existsSync(join(repo.dir, IU)), 'none written beside it')
  assert.deepEqual(parse(read(repo, KUST)).resources, ['deployment.yaml', 'service.yaml'], 'another Application syncs it: not listed in the app folder')
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [])
  writeFileSync(join(repo.dir, IU), handFollowed[HAND_IU]!)
  await assert.rejects(planAll(ctx), /2 ImageUpdaters select the Application it-tools: ImageUpdater argocd\/it-tools in argocd\/image-updaters\.yaml:\d+; ImageUpdater argocd\/it-tools in k8s\/helm\/manifests\/it-tools\/image-updater\.yaml:1 \(one identity twice[^]*fix: keep one of them/)
}))

test('a kustomization above the moved file that lists it loses that line in the same commit, so the tree still renders', withRepo({
  'k8s/helm/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  # 个人服务
  - manifests/squoosh.yaml
  - manifests/it-tools.yaml   # 开发者工具
  - manifests/calibre-web.yaml
`,
  'k8s/helm/manifests/calibre-web.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: calibre-web\n  namespace: personal-services\n',
}, async (repo, ctx) => {
  const changes = await planAll(ctx)
  const edit = changes.find((c) => c.summary.startsWith('edit k8s/helm/kustomization.yaml'))
  assert.ok(edit, changes.map((c) => c.summary).join('\n'))
  assert.match(edit.summary, /resources: manifests\/it-tools\.yaml removed/)
  assert.equal(read(repo, 'k8s/helm/kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  # 个人服务\n  - manifests/squoosh.yaml\n  - manifests/calibre-web.yaml\n')
  assert.ok(managedPaths(ctx).includes('k8s/helm/kustomization.yaml'), 'committed with the move')
  execFileSync('kubectl', ['kustomize', join(repo.dir, 'k8s/helm')], { encoding: 'utf8' })
  execFileSync('kubectl', ['kustomize', join(repo.dir, 'k8s/helm/manifests/it-tools')], { encoding: 'utf8' })
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [])
}))

const FINALIZER = 'resources-finalizer.argocd.argoproj.io'
const withFinalizer = (text: string, name: string) => text.replace(`metadata:\n  name: ${name}\n`, `metadata:\n  name: ${name}\n  finalizers:\n    - ${FINALIZER}\n`)
test("new Applications copy their siblings' conventions (finalizer, ServerSideApply, destination by name); Image Updater's goes to Argo CD's cluster", withRepo({
  'argocd/applications/personal-services.yaml': withFinalizer(sampleFiles['argocd/applications/personal-services.yaml']!, 'personal-services')
    .replace('    - CreateNamespace=true\n', '    - CreateNamespace=true\n    - ServerSideApply=true\n')
    .replace('    server: https://kubernetes.default.svc\n    namespace: personal-services', '    name: homelab\n    namespace: personal-services'),
  'argocd/applications/vault-eso.yaml': withFinalizer(sampleFiles['argocd/applications/vault-eso.yaml']!, 'vault-eso').replace('      prune: true\n', '      prune: true\n    syncOptions: [ServerSideApply=true]\n'),
  'argocd/applications/calibre-web.yaml': `${withFinalizer(sampleFiles['argocd/applications/calibre-web.yaml']!, 'calibre-web-extra')}  syncPolicy:\n    syncOptions:\n      - ServerSideApply=true\n`,
}, async (repo, ctx) => {
  const changes = await planAll(ctx)
  const created = changes.find((c) => c.summary.startsWith('create argocd/applications/it-tools.yaml'))
  assert.match(created?.summary ?? '', /like 3 sibling Applications: finalizer resources-finalizer\.argocd\.argoproj\.io, ServerSideApply=true; destination by name homelab/)
  const app = parse(read(repo, 'argocd/applications/it-tools.yaml'))
  assert.deepEqual(app.metadata.finalizers, [FINALIZER])
  assert.deepEqual(app.spec.syncPolicy.syncOptions, ['ServerSideApply=true'])
  assert.deepEqual(app.spec.destination, { name: 'homelab', namespace: 'personal-services' })
  const chart = parse(read(repo, 'argocd/applications/argocd-image-updater.yaml'))
  assert.deepEqual(chart.metadata.finalizers, [FINALIZER])
  assert.deepEqual(chart.spec.syncPolicy.syncOptions, ['ServerSideApply=true'], 'not doubled')
  assert.deepEqual(chart.spec.destination, { server: 'https://kubernetes.default.svc', namespace: 'argocd' }, 'Image Updater runs where Argo CD runs, not on the app\'s cluster')
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'converged')
}))

test('conventions are what most siblings share: one Application alone sets none', withRepo({}, async (repo, ctx) => {
  await planAll(ctx)
  const app = parse(read(repo, 'argocd/applications/it-tools.yaml'))
  assert.equal(app.metadata.finalizers, undefined)
  assert.equal(app.spec.syncPolicy.syncOptions, undefined, 'CreateNamespace=true is personal-services\' alone (1 of 3)')
}))

// A Kustomize tree Application of the owner's (in-cluster), holding jobs-sg among other apps, with a
// digest pin and a top-level namespace: the app stays where it is.
const PIN = `sha256:${'c0ffee'.repeat(10)}abcd`
const TREE: Record<string, string> = {
  'argocd/applications/tree.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: tree
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: https://github.com/meirongdev/homelab.git
    targetRevision: main
    path: k8s/tree
  destination:
    server: https://kubernetes.default.svc
    namespace: jobs
`,
  'k8s/tree/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: jobs   # 所有东西都在 jobs
resources:
  - jobs/jobs-sg.yaml
  - jobs/jobs-worker.yaml
images:
  # 钉死：不要回滚
  - name: ghcr.io/meirongdev/jobs-sg
    newTag: 2.3.1
    digest: ${PIN}
`,
  'k8s/tree/jobs/jobs-sg.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: jobs-sg\nspec:\n  selector:\n    matchLabels: {app: jobs-sg}\n  template:\n    metadata:\n      labels: {app: jobs-sg}\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/meirongdev/jobs-sg\n',
  'k8s/tree/jobs/jobs-worker.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: jobs-worker\nspec:\n  selector:\n    matchLabels: {app: jobs-worker}\n  template:\n    metadata:\n      labels: {app: jobs-worker}\n    spec:\n      containers:\n        - name: worker\n          image: ghcr.io/meirongdev/jobs-sg\n',
}

test('an app inside a Kustomize tree Application stays there: the ImageUpdater selects the tree, writes back to its images: pin, and lives where Argo CD\'s namespace is synced', withRepo(TREE, async (repo, ctx) => {
  const before = Object.fromEntries(Object.keys(TREE).map((rel) => [rel, read(repo, rel)]))
  const changes = await planAll(ctx)
  const summary = changes.map((c) => c.summary).join('\n')
  for (const [rel, text] of Object.entries(before)) assert.equal(read(repo, rel), text, `${rel} is the owner's and stays as it is (pin, namespace line, comments)`)
  assert.match(summary, /create k8s\/helm\/image-updaters\/jobs-sg\.yaml \(selects the Application tree; semver for ghcr\.io\/meirongdev\/jobs-sg/)
  assert.doesNotMatch(summary, /argocd\/applications\/jobs-sg\.yaml|k8s\/helm\/manifests\/jobs-sg/, 'no move, no Application of its own')
  const iu = parse(read(repo, 'k8s/helm/image-updaters/jobs-sg.yaml'))
  assert.equal(iu.metadata.namespace, 'argocd')
  assert.deepEqual(validateCustomObject(iu, imageUpdaterCrd('1.2.2').spec.versions[0].schema.openAPIV3Schema).causes, [])
  assert.equal(iu.spec.applicationRefs[0].namePattern, 'tree')
  assert.deepEqual(iu.spec.applicationRefs[0].images[0], { alias: 'jobs-sg', imageName: 'ghcr.io/meirongdev/jobs-sg:2.x', commonUpdateSettings: { updateStrategy: 'semver', pullSecret: 'pullsecret:argocd/ghcr-pull-secret' } }, 'from the pin (2.3.1), not latest by digest')
  assert.equal(iu.spec.applicationRefs[0].writeBackConfig.gitConfig.writeBackTarget, 'kustomization')
  const chart = parse(read(repo, 'argocd/applications/argocd-image-updater.yaml'))
  assert.deepEqual(chart.spec.sources[2], { repoURL: 'https://github.com/meirongdev/homelab.git', targetRevision: 'main', path: 'k8s/helm/image-updaters' }, 'synced into argocd on Argo CD\'s cluster by the chart Application')
  const why = choicesFor(ctx, 'jobs-sg').join('\n')
  assert.match(why, /no move: jobs-sg already renders through the Kustomize Application tree/)
  assert.match(why, /2 workloads of tree run ghcr\.io\/meirongdev\/jobs-sg \(Deployment jobs-sg in k8s\/tree\/jobs\/jobs-sg\.yaml, Deployment jobs-worker in k8s\/tree\/jobs\/jobs-worker\.yaml\): one update changes them all/)
  assert.match(why, /k8s\/tree\/kustomization\.yaml:\d+ sets the image .*Image Updater writes new versions into that images: entry/)
  assert.match(read(repo, 'docs/plans/argocd-image-updater.md'), /\| jobs-sg \| `ghcr\.io\/meirongdev\/jobs-sg` \| `argocd\/applications\/tree\.yaml` \(the Kustomize Application tree, unchanged\) \| `k8s\/tree\/` \(not moved, write-back to `k8s\/tree\/kustomization\.yaml`\) \| `k8s\/helm\/image-updaters\/jobs-sg\.yaml` \| semver \|/)
  assert.ok(managedPaths(ctx).includes('k8s/helm/image-updaters/jobs-sg.yaml'), 'committed')
  execFileSync('kubectl', ['kustomize', join(repo.dir, 'k8s/tree')], { encoding: 'utf8' })
  assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'converged')
}, { APPS: 'it-tools,jobs-sg' }))

const COPY: Record<string, string> = {
  'argocd/applications/jobs-copy.yaml': TREE['argocd/applications/tree.yaml']!.replace('name: tree', 'name: jobs-copy').replace('path: k8s/tree', 'path: k8s/jobs-copy'),
  'k8s/jobs-copy/kustomization.yaml': 'resources:\n  - jobs-sg.yaml\n',
  'k8s/jobs-copy/jobs-sg.yaml': TREE['k8s/tree/jobs/jobs-sg.yaml']!.replace('image: ghcr.io/meirongdev/jobs-sg', 'image: docker.io/meirongdev/jobs-sg:1.0.0'),
}
const TOOLS: Record<string, string> = {
  'argocd/applications/tools.yaml': TREE['argocd/applications/tree.yaml']!.replace('name: tree', 'name: tools').replace('path: k8s/tree', 'path: k8s/tools').replace('namespace: jobs', 'namespace: tools'),
  'k8s/tools/cyberchef.yaml': TREE['k8s/tree/jobs/jobs-sg.yaml']!.replaceAll('jobs-sg', 'cyberchef').replace('name: cyberchef\nspec', 'name: cyberchef\n  namespace: tools\nspec').replace('image: ghcr.io/meirongdev/cyberchef', 'image: ghcr.io/gchq/cyberchef:10.19.4'),
}

test('an app name that renders nowhere is refused with the names found and the close ones elsewhere', withRepo(TREE, async (_repo, ctx) => {
  await assert.rejects(planAll(ctx), /no app named job-sg: [^]*no Application of the repo renders a workload named job-sg \(apps found: calibre-web, homepage, it-tools, squoosh\); elsewhere in the repo: Deployment jobs\/jobs-sg in Application tree \(k8s\/tree\/jobs\/jobs-sg\.yaml:1, Kustomize, cluster in-cluster\)[^]*fix: set APP_NAME to one of the names found/)
}, { APP_NAME: 'job-sg' }))

test('an app name in two Applications is refused with both; the fix (its image) works as written', withRepo({ ...TREE, ...COPY }, async (repo, ctx) => {
  let fix = ''
  await assert.rejects(planAll(ctx), (err: Error & { fix?: string }) => {
    assert.match(err.message, /jobs-sg is rendered by 2 Applications: /)
    assert.match(err.message, /Deployment jobs\/jobs-sg in Application tree \(k8s\/tree\/jobs\/jobs-sg\.yaml:1, Kustomize, cluster in-cluster\)/)
    assert.match(err.message, /Deployment jobs\/jobs-sg in Application jobs-copy \(k8s\/jobs-copy\/jobs-sg\.yaml:1, Kustomize, cluster in-cluster\)/)
    fix = /e\.g\. (APP_JOBS_SG_IMAGE=\S+)\)/.exec(err.fix ?? '')?.[1] ?? ''
    return true
  })
  assert.match(fix, /^APP_JOBS_SG_IMAGE=/)
  const [key, value] = fix.split('=') as [string, string]
  const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
  try {
    const changes = await planAll(makeCtx(repo, state, { APP_NAME: 'jobs-sg', [key]: value }))
    assert.ok(changes.some((c) => c.summary.startsWith('create k8s/helm/image-updaters/jobs-sg.yaml')), changes.map((c) => c.summary).join('\n'))
  } finally {
    rmSync(state, { recursive: true, force: true })
  }
}, { APP_NAME: 'jobs-sg' }))

test('an app of another Directory Application is refused with the settings that move it; they work as written', withRepo(TOOLS, async (repo, ctx) => {
  let fix = ''
  await assert.rejects(planAll(ctx), (err: Error & { fix?: string }) => {
    assert.match(err.message, /cyberchef renders through the Directory Application tools \(k8s\/tools\/cyberchef\.yaml:1\), which Image Updater skips/)
    fix = err.fix ?? ''
    return true
  })
  assert.match(fix, /^set PERSONAL_SERVICES_APP_FILE=argocd\/applications\/tools\.yaml and MANIFESTS_DIR=k8s\/tools in \.env/)
  const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
  try {
    const env = { APP_NAME: 'cyberchef', PERSONAL_SERVICES_APP_FILE: 'argocd/applications/tools.yaml', MANIFESTS_DIR: 'k8s/tools' }
    const changes = await planAll(makeCtx(repo, state, env))
    assert.ok(changes.some((c) => c.summary === 'delete k8s/tools/cyberchef.yaml'), changes.map((c) => c.summary).join('\n'))
    assert.ok(existsSync(join(repo.dir, 'k8s/tools/cyberchef/cyberchef.yaml')))
    // the ExternalSecrets go where vault-eso syncs, not into the moved app's Directory folder
    assert.ok(existsSync(join(repo.dir, 'k8s/helm/manifests/github-external-secret.yaml')))
    assert.ok(!existsSync(join(repo.dir, 'k8s/tools/github-external-secret.yaml')))
  } finally {
    rmSync(state, { recursive: true, force: true })
  }
}, { APP_NAME: 'cyberchef' }))

test("homelab-today (the owner's repo as it is): it-tools stays in its Kustomize tree, squoosh moves out of its remote Directory app, every ImageUpdater lands where argocd is synced on Argo CD's cluster; converged, every touched folder builds", async () => {
  const { buildCorpusRepo, CORPUS } = await import('../sandbox/corpus/index.ts')
  const corpus = buildCorpusRepo(CORPUS.find((s) => s.name === 'homelab-today')!)
  const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
  try {
    const env = { ...corpus.env, STATE_DIR: state, APPS: 'it-tools,squoosh', PERSONAL_SERVICES_APP_FILE: 'argocd/apps/services/tools.yaml', MANIFESTS_DIR: 'k8s/tools' }
    const { settings, secrets } = loadConfig({ env, cwd: '/nonexistent-dir' })
    const ctx = { settings, secrets, repoDir: corpus.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(state, corpus.dir) } as Ctx
    const tree = execFileSync('git', ['ls-files', 'k8s/homelab-apps'], { cwd: corpus.dir, encoding: 'utf8' }).trim().split('\n')
    const treeBefore = Object.fromEntries(tree.map((f) => [f, read({ dir: corpus.dir } as SampleRepo, f)]))
    const changes = await planAll(ctx)
    const summary = changes.map((c) => c.summary).join('\n')
    for (const [f, text] of Object.entries(treeBefore)) assert.equal(read({ dir: corpus.dir } as SampleRepo, f), text, `${f}: the tree is the owner's`)
    assert.match(summary, /create argocd\/image-updaters\/it-tools\.yaml \(selects the Application homelab-apps/)
    assert.match(summary, /create argocd\/image-updaters\/squoosh\.yaml/)
    assert.match(summary, /delete k8s\/tools\/squoosh\.yaml/)
    assert.match(summary, /create argocd\/image-updaters\/github-external-secret\.yaml/)
    const iu = parse(readFileSync(join(corpus.dir, 'argocd/image-updaters/it-tools.yaml'), 'utf8'))
    assert.equal(iu.spec.applicationRefs[0].namePattern, 'homelab-apps')
    const sq = parse(readFileSync(join(corpus.dir, 'argocd/apps/services/squoosh.yaml'), 'utf8'))
    assert.deepEqual(sq.spec.destination, { name: 'homelab', namespace: 'tools' })
    assert.deepEqual(sq.metadata.finalizers, ['resources-finalizer.argocd.argoproj.io'])
    const chart = parse(readFileSync(join(corpus.dir, 'argocd/apps/services/argocd-image-updater.yaml'), 'utf8'))
    assert.equal(chart.spec.destination.server, 'https://kubernetes.default.svc')
    assert.ok(readFileSync(join(corpus.dir, 'bootstrap/project.yaml'), 'utf8').includes('https://argoproj.github.io/argo-helm'), 'the AppProject found by what it is')
    const touched = execFileSync('git', ['status', '--porcelain', '-uall'], { cwd: corpus.dir, encoding: 'utf8' }).trim().split('\n').map((l) => l.slice(3))
    for (const dir of new Set(touched.map((f) => f.slice(0, f.lastIndexOf('/')))))
      if (existsSync(join(corpus.dir, dir, 'kustomization.yaml'))) execFileSync('kubectl', ['kustomize', join(corpus.dir, dir)], { encoding: 'utf8' })
    assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'converged')
  } finally {
    rmSync(corpus.root, { recursive: true, force: true })
    rmSync(state, { recursive: true, force: true })
  }
})

test('appset-git: an app an ApplicationSet generates as a Kustomize app stays put; its ImageUpdater selects the generated Application, beside the folder Argo CD\'s namespace is synced from; converged', async () => {
  const { buildCorpusRepo, CORPUS } = await import('../sandbox/corpus/index.ts')
  const shape = CORPUS.find((s) => s.name === 'appset-git')!
  const corpus = buildCorpusRepo(shape)
  const state = mkdtempSync(join(tmpdir(), 'repairs-state-'))
  try {
    const { settings, secrets } = loadConfig({ env: { ...corpus.env, STATE_DIR: state, APPS: (shape.onboard ?? ['it-tools']).join(',') }, cwd: '/nonexistent-dir' })
    const ctx = { settings, secrets, repoDir: corpus.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: false, log: () => {}, touchedPaths: new Set(), state: new StateStore(state, corpus.dir) } as Ctx
    const changes = await planAll(ctx)
    assert.ok(changes.some((c) => c.summary.startsWith('create argocd/image-updaters/it-tools.yaml (selects the Application it-tools;')), changes.map((c) => c.summary).join('\n'))
    assert.ok(!changes.some((c) => /^(delete|create) .*it-tools\/(deployment|kustomization)\.yaml/.test(c.summary)), 'nothing of the app moves')
    const iu = parse(readFileSync(join(corpus.dir, 'argocd/image-updaters/it-tools.yaml'), 'utf8'))
    assert.deepEqual(validateCustomObject(iu, imageUpdaterCrd('1.2.2').spec.versions[0].schema.openAPIV3Schema).causes, [])
    assert.deepEqual((await planAll(ctx)).map((c) => c.summary), [], 'converged')
  } finally {
    rmSync(corpus.root, { recursive: true, force: true })
    rmSync(state, { recursive: true, force: true })
  }
})
