// Tests of the parts the sandbox plays (Argo CD, ESO, Vault, registry, Image Updater): first the
// pure logic, then the controllers on a Store with the sample GitOps repo.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { directoryIncludes, globMatch } from '../sandbox/actors/glob.ts'
import { vaultApiPath } from '../sandbox/actors/eso-keys.ts'
import { renderGoTemplate, TemplateError } from '../sandbox/actors/go-template.ts'
import { parseCliArgs, parseKvPairs, runVaultCli, VaultState } from '../sandbox/actors/vault.ts'
import { parseAllowTags, parseImageList, parseStrategy, selectTag } from '../sandbox/actors/update-options.ts'
import { InMemoryRegistry } from '../sandbox/actors/registry.ts'
import { configMapData, renderImageUpdaterChart, resolveChartVersion } from '../sandbox/actors/helm-image-updater.ts'

test('directory include: brace globs pick exactly the listed files; subfolders need recurse', () => {
  const include = '{calibre-web.yaml,it-tools.yaml,homepage.yaml}'
  assert.equal(directoryIncludes('it-tools.yaml', { include }), true)
  assert.equal(directoryIncludes('vault-eso-config.yaml', { include }), false)
  assert.equal(directoryIncludes('it-tools/deployment.yaml', {}), false)
  assert.equal(directoryIncludes('it-tools/deployment.yaml', { recurse: true }), true)
  assert.equal(directoryIncludes('it-tools/deployment.yaml', { recurse: true, exclude: 'it-tools/*' }), false)
  assert.equal(directoryIncludes('README.md', {}), false)
  assert.equal(globMatch('*.yaml', 'a/b.yaml'), true)
  assert.equal(globMatch('{a,b}-x.yaml', 'c-x.yaml'), false)
})

test('ESO key resolution: mount prefix and data/ like ESO, doubled data with path secret/data', () => {
  const store = { path: 'secret', version: 'v2' }
  for (const key of ['homelab/github', 'secret/homelab/github', 'secret/data/homelab/github']) assert.equal(vaultApiPath(key, store), 'secret/data/homelab/github', key)
  assert.equal(vaultApiPath('data/homelab/github', store), 'secret/data/data/homelab/github')
  assert.equal(vaultApiPath('homelab/github', { path: 'secret/data', version: 'v2' }), 'secret/data/data/homelab/github')
  assert.equal(vaultApiPath('secret/homelab/github', { version: 'v2' }), 'secret/data/homelab/github')
})

test('Go templates: fields, printf, b64enc through a pipe, missing key is an error', () => {
  const data = { username: 'meirongdev', pat: 'ghp_x' }
  const auth = renderGoTemplate('{"auths":{"ghcr.io":{"auth":"{{ printf "%s:%s" .username .pat | b64enc }}"}}}', data)
  assert.equal(JSON.parse(auth).auths['ghcr.io'].auth, Buffer.from('meirongdev:ghp_x').toString('base64'))
  assert.equal(renderGoTemplate('{{ .username }}', data), 'meirongdev')
  assert.equal(renderGoTemplate('a {{- " b " -}} c', data), 'a b c')
  assert.equal(renderGoTemplate('{{ .pat | upper | b64enc }}', data), Buffer.from('GHP_X').toString('base64'))
  assert.throws(() => renderGoTemplate('{{ .password }}', data), TemplateError)
  assert.throws(() => renderGoTemplate('{{ nosuchfunc .pat }}', data), /not defined/)
})

test('vault CLI parsing: flags before positionals, k=- reads stdin once with the newline trimmed', () => {
  assert.deepEqual(parseCliArgs(['-format=json', '-field', 'secret/x']), { flags: { format: 'json', field: true }, positional: ['secret/x'] })
  assert.deepEqual(parseKvPairs(['username=me', 'pat=-'], Buffer.from('tok\n')), { username: 'me', pat: 'tok' })
  assert.throws(() => parseKvPairs(['a=-', 'b=-'], Buffer.from('x')), /stdin already consumed/)
  assert.throws(() => parseKvPairs(['novalue'], Buffer.alloc(0)), /key=value/)
})

test('vault CLI: put/get/metadata, status exit codes, sealed, logged out, login from stdin', () => {
  const v = new VaultState()
  const run = (line: string, stdin = '') => runVaultCli(v, line.split(' '), Buffer.from(stdin))
  const put = run('vault kv put -format=json secret/homelab/github username=me pat=-', 'ghp_secret\n')
  assert.equal(put.exitCode, 0, put.stderr)
  assert.equal(JSON.parse(put.stdout).data.version, 1)
  assert.equal(put.stdout.includes('ghp_secret'), false)
  const got = JSON.parse(run('vault kv get -format=json secret/homelab/github').stdout)
  assert.deepEqual(got.data.data, { username: 'me', pat: 'ghp_secret' })
  assert.equal(got.data.metadata.version, 1)
  assert.equal(run('vault kv get -field=username secret/homelab/github').stdout, 'me')
  assert.equal(run('vault kv put secret/homelab/github username=me2 pat=x').exitCode, 0)
  assert.equal(JSON.parse(run('vault kv metadata get -format=json secret/homelab/github').stdout).data.current_version, 2)
  // The CLI inserts data/ itself, so an explicit data/ path misses.
  const miss = run('vault kv get secret/data/homelab/github')
  assert.equal(miss.exitCode, 2)
  assert.match(miss.stderr, /No value found at secret\/data\/data\/homelab\/github/)
  assert.equal(run('vault status -format=json').exitCode, 0)
  v.sealed = true
  const sealed = run('vault status -format=json')
  assert.equal(sealed.exitCode, 2)
  assert.equal(JSON.parse(sealed.stdout).sealed, true)
  assert.match(run('vault kv get secret/homelab/github').stderr, /Vault is sealed/)
  v.sealed = false
  v.podToken = undefined
  assert.equal(run('vault token lookup -format=json').exitCode, 2)
  assert.match(run('vault kv get secret/homelab/github').stderr, /permission denied/)
  assert.equal(run('vault login -no-print -', 'wrong\n').exitCode, 2)
  assert.equal(run('vault login -no-print -', v.rootToken + '\n').exitCode, 0)
  assert.equal(run('vault token lookup').exitCode, 0)
  assert.equal(run('vault token lookup -format=json').stdout.includes(v.rootToken), false)
})

test('allow-tags and strategy validation like the real controller', () => {
  const ok = parseAllowTags('regexp:^sha-[0-9a-f]+$')
  assert.equal(ok.warning, undefined)
  assert.equal(ok.value('sha-abc123'), true)
  assert.equal(ok.value('latest'), false)
  const bare = parseAllowTags('^sha-[0-9a-f]+$')
  assert.match(bare.warning!, /Invalid match option syntax/)
  assert.equal(bare.value('sha-abc123'), false, 'a bare regex matches nothing')
  // Go's regexp (RE2) compiles the filter: what JavaScript takes and Go refuses matches no tag at all
  for (const re of ['^sha-(?=[0-9a-f]{7})[0-9a-f]+$', '^(?!latest$).*', '(?<=sha-)[0-9a-f]+', '^(v)\\d+\\1$', '^v[0-9]++$', '^(?>sha)-x$']) {
    assert.doesNotThrow(() => new RegExp(re.replace('++', '+').replace('(?>', '(?:')), 'JavaScript takes it (possessive and atomic aside)')
    const refused = parseAllowTags(`regexp:${re}`)
    assert.equal(refused.warning, `Could not compile regexp '${re}'`, re)
    assert.deepEqual(['sha-1234567', 'sha-1234567abc', 'v1', 'latest'].filter(refused.value), [], `${re} matches no tag`)
  }
  const rewritten = parseAllowTags('regexp:^sha-[0-9a-f]{7,}$')
  assert.deepEqual([rewritten.warning, ['sha-1234567abc', 'sha-123', 'xsha-1234567'].filter(rewritten.value)], [undefined, ['sha-1234567abc']])
  // Go syntax JavaScript lacks compiles: named groups (?P<n>), flags (?i), \z
  assert.deepEqual(['(?P<sha>^sha-[0-9a-f]+$)', '(?i)^SHA-[0-9A-F]+\\z'].map((re) => parseAllowTags(`regexp:${re}`)).map((p) => [p.warning, p.value('sha-abc')]), [[undefined, true], [undefined, true]])
  assert.equal(parseAllowTags('ANY').value('anything'), true)
  assert.deepEqual([parseAllowTags('glob:sha-*').warning, parseAllowTags('glob:sha-*').value('sha-1')], ['Unknown match function: glob', false])
  assert.equal(parseStrategy(undefined).value, 'semver')
  assert.equal(parseStrategy('newest-build').warning, undefined)
  assert.equal(parseStrategy('latest').value, 'newest-build')
  assert.match(parseStrategy('latest').warning!, /renamed to "newest-build"/)
  assert.equal(parseStrategy('name').value, 'alphabetical')
  const unknown = parseStrategy('newest')
  assert.equal(unknown.value, 'semver')
  assert.match(unknown.warning!, /Unknown sort option newest/)
})

test('tag selection: newest-build by build time among allowed tags; semver ignores sha tags', () => {
  const tags = [
    { tag: 'sha-aaa', builtAt: new Date('2025-01-01') },
    { tag: 'sha-ccc', builtAt: new Date('2025-03-01') },
    { tag: 'sha-bbb', builtAt: new Date('2025-02-01') },
    { tag: 'latest', builtAt: new Date('2025-04-01') },
    { tag: 'v1.2.0', builtAt: new Date('2024-01-01') },
    { tag: 'v1.10.0', builtAt: new Date('2023-01-01') },
  ]
  const allow = parseAllowTags('regexp:^sha-[0-9a-f]+$').value
  assert.equal(selectTag(tags, { strategy: 'newest-build', allow })?.tag, 'sha-ccc')
  assert.equal(selectTag(tags, { strategy: 'newest-build', allow: () => true })?.tag, 'latest')
  assert.equal(selectTag(tags, { strategy: 'semver', allow })?.tag, undefined)
  assert.equal(selectTag(tags, { strategy: 'semver', allow: () => true })?.tag, 'v1.10.0')
  assert.equal(selectTag(tags, { strategy: 'semver', allow: () => true, constraint: '~1.2' })?.tag, 'v1.2.0')
  assert.deepEqual(parseImageList('it-tools=ghcr.io/meirongdev/it-tools'), [{ alias: 'it-tools', image: 'ghcr.io/meirongdev/it-tools', constraint: undefined }])
})

test('registry: tags need credentials; the first pull fixes them until setAuth', () => {
  const r = new InMemoryRegistry()
  r.pushTag('ghcr.io/meirongdev/it-tools', 'sha-1', new Date('2025-01-01'))
  assert.throws(() => r.listTags('ghcr.io/meirongdev/it-tools', undefined), /unauthorized/)
  assert.equal(r.listTags('ghcr.io/meirongdev/it-tools', { username: 'me', token: 't1' }).length, 1)
  assert.throws(() => r.listTags('ghcr.io/meirongdev/it-tools', { username: 'me', token: 't2' }), /unauthorized/)
  r.setAuth('me', 't2')
  assert.equal(r.listTags('ghcr.io/meirongdev/it-tools', { username: 'me', token: 't2' })[0].tag, 'sha-1')
})

test('helm chart rendering: app-version CRD, controller Deployment names, config.* ConfigMap', () => {
  assert.equal(resolveChartVersion('1.2.4'), '1.2.4')
  assert.equal(resolveChartVersion('1.0.*'), '1.0.2')
  assert.equal(resolveChartVersion('0.14.0'), undefined)
  const objs = renderImageUpdaterChart({ chartVersion: '1.2.4', release: 'argocd-image-updater', namespace: 'argocd', values: { logLevel: 'debug', config: { 'log.level': 'debug', registries: [{ name: 'ghcr', prefix: 'ghcr.io', api_url: 'https://ghcr.io' }], 'git.user': 'bot', 'tag-match-expr': 'x' } } })
  const dep = objs.find((o) => o.kind === 'Deployment')!
  assert.equal(dep.metadata.name, 'argocd-image-updater-controller')
  assert.equal(dep.spec.template.metadata.labels['app.kubernetes.io/name'], 'argocd-image-updater')
  assert.equal(dep.spec.template.spec.containers[0].image, 'quay.io/argoprojlabs/argocd-image-updater:v1.2.2')
  const cm = objs.find((o) => o.kind === 'ConfigMap')!
  assert.equal(cm.metadata.name, 'argocd-image-updater-config')
  assert.equal(cm.data['log.level'], 'debug')
  assert.match(cm.data['registries.conf'], /prefix: ghcr.io/)
  assert.equal(cm.data['git.user'], 'bot')
  assert.equal(cm.data['tag-match-expr'], 'x', 'unknown config keys are copied, and do nothing')
  assert.equal(configMapData({})['log.level'], 'info')
  const crd = objs.find((o) => o.kind === 'CustomResourceDefinition')!
  const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec
  assert.deepEqual(spec.required, ['applicationRefs'])
  const old = renderImageUpdaterChart({ chartVersion: '1.0.0', release: 'iu', namespace: 'argocd', values: {} })
  const oldSpec = old.find((o) => o.kind === 'CustomResourceDefinition')!.spec.versions[0].schema.openAPIV3Schema.properties.spec
  assert.deepEqual(oldSpec.required, ['applicationRefs', 'namespace'])
  assert.equal('useAnnotations' in oldSpec.properties.applicationRefs.items.properties, false)
  assert.equal(old.find((o) => o.kind === 'Deployment')!.metadata.name, 'iu-argocd-image-updater-controller')
  // logLevel at the top level changes nothing
  const plain = renderImageUpdaterChart({ chartVersion: '1.2.4', release: 'argocd-image-updater', namespace: 'argocd', values: { logLevel: 'debug' } })
  assert.equal(plain.find((o) => o.kind === 'ConfigMap')!.data['log.level'], 'info')
})

// ---------- controllers on a Store with the sample GitOps repo ----------
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { Store, type KObject } from '../sandbox/store.ts'
import { Pods } from '../sandbox/apiserver/pods.ts'
import { startActors, type Actors } from '../sandbox/actors/index.ts'
import { GitRemote } from '../sandbox/actors/git-source.ts'
import { until } from './helpers.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, SAMPLE_REPO_URL, sampleFiles, type SampleRepo } from '../sandbox/sample-repo.ts'

const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' }
const IMAGE = 'ghcr.io/meirongdev/it-tools'

interface Harness { repo: SampleRepo; store: Store; pods: Pods; actors: Actors; lines: string[] }

async function harness(t: { after(fn: () => Promise<void> | void): void }): Promise<Harness> {
  const repo = createSampleRepo()
  const store = new Store()
  const pods = new Pods()
  const lines: string[] = []
  let actors: Actors | undefined
  t.after(async () => {
    await actors?.stop()
    rmSync(repo.root, { recursive: true, force: true })
  })
  actors = await startActors({ store, pods, repoDir: repo.dir, log: (l) => lines.push(l), controllerDelayMs: 20 })
  return { repo, store, pods, actors, lines }
}

function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim()
}

/** Writes (or with null deletes) files in the checkout, commits and pushes to origin. */
function commitAndPush(repo: SampleRepo, files: Record<string, string | null>, message = 'setup'): string {
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(repo.dir, rel)
    if (content === null) rmSync(abs, { force: true })
    else {
      mkdirSync(dirname(abs), { recursive: true })
      writeFileSync(abs, content)
    }
  }
  gitIn(repo.dir, 'add', '-A')
  gitIn(repo.dir, 'commit', '-q', '-m', message)
  gitIn(repo.dir, 'push', '-q', 'origin', 'main')
  return gitIn(repo.dir, 'rev-parse', 'HEAD')
}

/** Applies the repo's Application/AppProject files to the cluster, as `kubectl apply -f` would. */
function applyArgoFiles(h: Harness, files: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    if (!content || !rel.startsWith('argocd/')) continue
    const obj = parse(content) as KObject
    h.store.apply(obj, 'kubectl', { force: true })
  }
}

const app = (h: Harness, name: string) => h.store.get({ ...APP, namespace: 'argocd', name })
const iuLog = (h: Harness) => {
  const pod = h.store.list('v1', 'Pod', 'argocd').find((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'argocd-image-updater')
  return pod ? (h.pods.logReader('argocd', pod.metadata.name)?.() ?? '') : ''
}

const itToolsDeployment = sampleFiles['k8s/helm/manifests/it-tools.yaml'].split(/^---$/m).filter((d) => d.includes('kind: Deployment'))[0]
const itToolsService = sampleFiles['k8s/helm/manifests/it-tools.yaml'].split(/^---$/m).filter((d) => d.includes('kind: Service'))[0]

/** The setup's repo changes; `mistakes` swaps in the plan's original errors. */
function setupFiles(opts: { mistakes?: boolean; chartVersion?: string; skipDryRun?: boolean } = {}): Record<string, string | null> {
  const iu = opts.mistakes
    ? null
    : `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
${opts.skipDryRun === false ? '' : '  annotations:\n    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n'}spec:
  applicationRefs:
    - namePattern: it-tools
      images:
        - alias: it-tools
          imageName: ${IMAGE}
          commonUpdateSettings:
            updateStrategy: newest-build
            allowTags: "regexp:^sha-[0-9a-f]+$"
            pullSecret: pullsecret:argocd/ghcr-pull
      writeBackConfig:
        method: git:secret:argocd/git-creds
        gitConfig:
          branch: main
`
  return {
    'k8s/helm/manifests/it-tools.yaml': null,
    'k8s/helm/manifests/it-tools/deployment.yaml': itToolsDeployment,
    'k8s/helm/manifests/it-tools/service.yaml': itToolsService,
    'k8s/helm/manifests/it-tools/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\n${iu ? '  - image-updater.yaml\n' : ''}`,
    'k8s/helm/manifests/it-tools/image-updater.yaml': iu,
    'argocd/applications/personal-services.yaml': sampleFiles['argocd/applications/personal-services.yaml'].replace('it-tools.yaml,', ''),
    'argocd/applications/it-tools.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: it-tools
  namespace: argocd
${opts.mistakes ? `  annotations:
    argocd-image-updater.argoproj.io/image-list: it-tools=${IMAGE}
    argocd-image-updater.argoproj.io/it-tools.update-strategy: latest
    argocd-image-updater.argoproj.io/it-tools.tag-match-expr: "^sha-[0-9a-f]+$"
    argocd-image-updater.argoproj.io/it-tools.allow-tags: "^sha-[0-9a-f]+$"
    argocd-image-updater.argoproj.io/it-tools.pull-secret: pullsecret:argocd/ghcr-pull
` : ''}spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: k8s/helm/manifests/it-tools
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    automated:
      prune: true
`,
    'k8s/helm/values/argocd-image-updater.yaml': opts.mistakes ? 'logLevel: debug\n' : `config:\n  log.level: debug\n  git.user: homelab-bot\n  git.email: bot@example.com\n`,
    'argocd/applications/argocd-image-updater.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: argocd-image-updater
  namespace: argocd
spec:
  project: homelab
  sources:
    - repoURL: https://argoproj.github.io/argo-helm
      chart: argocd-image-updater
      targetRevision: ${opts.chartVersion ?? '1.2.4'}
      helm:
        valueFiles:
          - $values/k8s/helm/values/argocd-image-updater.yaml
    - repoURL: ${SAMPLE_REPO_URL}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated:
      prune: true
`,
    'argocd/projects/homelab.yaml': sampleFiles['argocd/projects/homelab.yaml'].replace(`    - ${SAMPLE_REPO_URL}   # 只允许本仓库`, `    - ${SAMPLE_REPO_URL}   # 只允许本仓库\n    - https://argoproj.github.io/argo-helm`),
  }
}

function putCredentials(h: Harness): void {
  const dockerconfig = JSON.stringify({ auths: { 'ghcr.io': { username: 'meirongdev', password: 'ghp_test', auth: Buffer.from('meirongdev:ghp_test').toString('base64') } } })
  h.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ghcr-pull', namespace: 'argocd' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') } })
  h.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: 'argocd' }, type: 'Opaque', data: { username: Buffer.from('meirongdev').toString('base64'), password: Buffer.from('ghp_test').toString('base64') } })
}

test('seeding: it-tools runs in personal-services, tracked by the Directory app, Vault and ESO ready', async (t) => {
  const h = await harness(t)
  const dep = h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!
  assert.equal(dep.metadata.labels?.['app.kubernetes.io/instance'], 'personal-services')
  assert.equal(dep.status.availableReplicas, 1)
  assert.ok(h.store.list('v1', 'Pod', 'personal-services').some((p) => p.metadata.name.startsWith('it-tools-') && p.status.phase === 'Running'))
  const ps = app(h, 'personal-services')!
  assert.equal(ps.status.sync.status, 'Synced')
  assert.equal(ps.status.sync.revision, gitIn(h.repo.origin, 'rev-parse', 'main'))
  assert.equal(ps.status.health.status, 'Healthy')
  assert.equal(ps.status.sourceType, 'Directory')
  assert.equal(h.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'homepage', name: 'homepage' })?.metadata.labels?.['app.kubernetes.io/instance'], 'personal-services')
  assert.ok(h.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: 'vault-backend' }))
  assert.equal(h.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' })?.status.phase, 'Running')
  await h.actors.settle()
  const es = h.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'external-secrets', name: 'cloudflare-api-token' })!
  assert.equal(es.status.conditions[0].status, 'True')
  // The app whose path is missing shows a ComparisonError instead of syncing.
  assert.match(app(h, 'calibre-web-extra')!.status.conditions[0].message, /app path does not exist/)
})

test('a missing app path is remembered per commit, and a commit that adds the path clears it', async (t) => {
  const h = await harness(t)
  await h.actors.settle()
  assert.match(app(h, 'calibre-web-extra')!.status.conditions[0].message, /app path does not exist/)
  const sha = commitAndPush(h.repo, { 'k8s/helm/calibre/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: calibre-extra\ndata: {}\n' })
  const fixed = await until('calibre-web-extra compared at the new commit', () => {
    const a = app(h, 'calibre-web-extra')
    return a?.status?.sync?.revision === sha && !(a.status.conditions ?? []).some((c: { type: string }) => c.type === 'ComparisonError') && a
  })
  assert.equal(fixed.status.sync.status, 'OutOfSync', 'renders its ConfigMap now (the app has no automated sync)')
})

test('GitRemote.resolve reads a branch from its loose ref without git, and asks git for the rest', async (t) => {
  const repo = createSampleRepo()
  t.after(() => rmSync(repo.root, { recursive: true, force: true }))
  const remote = new GitRemote(repo.origin)
  const main = gitIn(repo.origin, 'rev-parse', 'main')
  gitIn(repo.dir, 'tag', '-a', '-m', 'v1', 'v1')
  gitIn(repo.dir, 'push', '-q', 'origin', 'v1')
  assert.equal(await remote.resolve('v1'), main, 'an annotated tag peels to its commit (git)')
  assert.equal(await remote.resolve(main), main, 'a sha (git)')
  assert.equal(await remote.resolve('no-such-branch'), undefined)
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  try {
    // with no git to run, only the loose-ref reads can answer
    assert.equal(await remote.resolve('main'), main)
    assert.equal(await remote.resolve('HEAD'), main)
    assert.equal(await remote.resolve(undefined), main)
    assert.equal(await remote.resolve('v1'), undefined, 'tags are not read from files')
  } finally {
    process.env.PATH = path
  }
  // a pushed commit moves the branch; packed refs (no loose file) fall back to git
  const next = commitAndPush(repo, { 'extra.txt': 'x\n' }, 'next')
  assert.equal(await remote.resolve('main'), next)
  gitIn(repo.origin, 'pack-refs', '--all')
  assert.equal(await remote.resolve('main'), next)
  assert.equal(await remote.resolve('HEAD'), next)
})

test('GitRemote.renderKey: the same while a commit leaves the folder alone; the commit itself when a kustomization reaches outside', async (t) => {
  const repo = createSampleRepo()
  t.after(() => rmSync(repo.root, { recursive: true, force: true }))
  const remote = new GitRemote(repo.origin)
  const first = commitAndPush(repo, { 'apps/a/kustomization.yaml': 'resources: [deploy.yaml]\n', 'apps/a/deploy.yaml': 'kind: ConfigMap\n', 'apps/b/kustomization.yaml': 'resources: [../shared]\n', 'apps/shared/kustomization.yaml': 'resources: []\n' }, 'apps')
  const keyA = await remote.renderKey(first, 'apps/a')
  assert.match(keyA, /^files:apps\/a:/)
  assert.equal(await remote.renderKey(first, 'apps/b'), first, "a kustomization naming '..' reads outside its folder: keyed by the commit")
  assert.equal(await remote.renderKey(first, '.'), first, 'the whole repo: the commit')
  const other = commitAndPush(repo, { 'apps/shared/extra.yaml': 'kind: ConfigMap\n' }, 'elsewhere')
  assert.equal(await remote.renderKey(other, 'apps/a'), keyA, 'a commit that leaves apps/a alone keeps its key')
  const changed = commitAndPush(repo, { 'apps/a/deploy.yaml': 'kind: Secret\n' }, 'in apps/a')
  assert.notEqual(await remote.renderKey(changed, 'apps/a'), keyA)
  // a symlink may point anywhere: keyed by the commit
  const linked = commitAndPush(repo, { 'apps/c/kustomization.yaml': 'resources: [x.yaml]\n' }, 'c')
  execFileSync('ln', ['-s', '../shared/extra.yaml', join(repo.dir, 'apps/c/x.yaml')])
  gitIn(repo.dir, 'add', '-A')
  gitIn(repo.dir, 'commit', '-qm', 'link')
  gitIn(repo.dir, 'push', '-q', 'origin', 'HEAD')
  const withLink = gitIn(repo.dir, 'rev-parse', 'HEAD')
  assert.notEqual(withLink, linked)
  assert.equal(await remote.renderKey(withLink, 'apps/c'), withLink)
})

test('the full setup: adoption keeps the uid, chart installs the controller, a new tag is written back and synced', async (t) => {
  const h = await harness(t)
  const before = h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!
  putCredentials(h)
  const files = setupFiles()
  applyArgoFiles(h, { 'argocd/projects/homelab.yaml': files['argocd/projects/homelab.yaml'] })
  const sha = commitAndPush(h.repo, files)
  applyArgoFiles(h, files)
  await until('it-tools synced', () => app(h, 'it-tools')?.status?.sync?.revision === sha && app(h, 'it-tools')?.status?.sync?.status === 'Synced')
  await h.actors.settle()
  const after = h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!
  assert.equal(after.metadata.uid, before.metadata.uid, 'adopted, not recreated')
  assert.equal(after.metadata.labels?.['app.kubernetes.io/instance'], 'it-tools')
  assert.equal(app(h, 'it-tools')!.status.sourceType, 'Kustomize')
  assert.equal(app(h, 'personal-services')!.status.sync.status, 'Synced')
  const iuApp = app(h, 'argocd-image-updater')!
  assert.equal(iuApp.status.sync.status, 'Synced', JSON.stringify(iuApp.status.conditions))
  const cm = h.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'argocd-image-updater-config' })!
  assert.equal(cm.data['log.level'], 'debug')
  assert.ok(h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }))
  // The ImageUpdater CR waited for its CRD (SkipDryRunOnMissingResource) and exists now.
  await until('ImageUpdater CR', () => h.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' }))
  await until('a processing line', () => /Processing results: applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=0/.test(iuLog(h)))
  assert.match(iuLog(h), /level=debug/)

  h.actors.registry.pushTag(IMAGE, 'sha-9e8d7c6', new Date())
  h.actors.registry.pushTag(IMAGE, 'latest', new Date(Date.now() + 1000))
  await until('the write-back commit', () => {
    const log = gitIn(h.repo.origin, 'log', '-1', '--format=%an <%ae>|%s', 'main')
    return log.startsWith('homelab-bot <bot@example.com>|build: automatic update of it-tools') && log
  })
  const override = gitIn(h.repo.origin, 'show', 'main:k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml')
  assert.deepEqual(parse(override), { kustomize: { images: [`${IMAGE}:sha-9e8d7c6`] } })
  await until('the new image live', () => h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!.spec.template.spec.containers[0].image === `${IMAGE}:sha-9e8d7c6`)
  await until('a pod on the new image', () => h.store.list('v1', 'Pod', 'personal-services').some((p) => p.spec.containers[0].image === `${IMAGE}:sha-9e8d7c6`))
  assert.match(iuLog(h), /images_updated=1 errors=0/)
  const cr = h.store.get({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' })!
  assert.equal(cr.status.applicationsMatched, 1)
  assert.equal(cr.status.imagesManaged, 1)
  assert.ok(cr.status.lastCheckedAt)
})

test("the plan's original mistakes end up idle or ignored, with the real log lines", async (t) => {
  const h = await harness(t)
  putCredentials(h)
  const files = setupFiles({ mistakes: true })
  applyArgoFiles(h, { 'argocd/projects/homelab.yaml': files['argocd/projects/homelab.yaml'] })
  commitAndPush(h.repo, files)
  applyArgoFiles(h, files)
  await until('it-tools synced', () => app(h, 'it-tools')?.status?.sync?.status === 'Synced')
  await until('No ImageUpdater CRs line', () => /level=info msg="No ImageUpdater CRs to process"/.test(iuLog(h)))
  const cm = h.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'argocd-image-updater-config' })!
  assert.equal(cm.data['log.level'], 'info', 'a top-level logLevel changes nothing')
  assert.doesNotMatch(iuLog(h), /level=debug/)
  h.actors.registry.pushTag(IMAGE, 'sha-9e8d7c6', new Date())

  // Now an ImageUpdater that uses the annotations (bare regex, deprecated strategy) and one for the Directory app.
  h.store.create({ apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', metadata: { name: 'from-annotations', namespace: 'argocd' }, spec: { applicationRefs: [{ namePattern: 'it-tools', useAnnotations: true }, { namePattern: 'personal-*', images: [{ alias: 'it-tools', imageName: IMAGE }] }] } })
  await until('Invalid match option', () => /Invalid match option syntax '\^sha-\[0-9a-f\]\+\$', ignoring/.test(iuLog(h)))
  await until('results line', () => /Processing results: applications=1 images_considered=1 images_skipped=1 images_updated=0 errors=0/.test(iuLog(h)))
  const log = iuLog(h)
  assert.match(log, /level=warning msg="\\"latest\\" strategy has been renamed to \\"newest-build\\"/)
  assert.match(log, /skipping app 'argocd\/personal-services' of type 'Directory' because it's not of supported source type/)
  assert.doesNotMatch(log, /tag-match-expr/)
  assert.throws(() => gitIn(h.repo.origin, 'show', 'main:k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml'))
  const dep = h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!
  assert.equal(dep.spec.template.spec.containers[0].image, `${IMAGE}:${SAMPLE_IMAGE_TAG}`)
})

test('Argo CD: a source repo outside the project, and a CR without its CRD, fail the way Argo CD fails', async (t) => {
  const h = await harness(t)
  const files = setupFiles({ skipDryRun: false })
  // project not updated: argo-helm is not permitted
  commitAndPush(h.repo, { ...files, 'argocd/projects/homelab.yaml': null })
  applyArgoFiles(h, { ...files, 'argocd/projects/homelab.yaml': null })
  const denied = await until('not permitted', () => app(h, 'argocd-image-updater')?.status?.conditions?.[0])
  assert.match(denied.message, /application repo https:\/\/argoproj.github.io\/argo-helm is not permitted in project 'homelab'/)
  // the CR's CRD comes from the chart app, which cannot sync: the it-tools sync fails
  const failed = await until('failed sync', () => app(h, 'it-tools')?.status?.operationState?.phase === 'Failed' && app(h, 'it-tools')!.status.operationState)
  assert.match(failed.message, /could not find the requested resource/)
  assert.equal(h.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })?.metadata.labels?.['app.kubernetes.io/instance'], 'personal-services', 'nothing applied by the failed sync')
})

test('ESO: template renders the dockerconfigjson auth; a missing key or a sealed Vault sets SecretSyncedError', async (t) => {
  const h = await harness(t)
  const vault = h.pods.execHandler('vault', 'vault-0')!
  const put = await vault(['vault', 'kv', 'put', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], Buffer.from('ghp_fromstdin\n'))
  assert.equal(put.exitCode, 0, put.stderr)
  const es = (name: string, key: string): KObject => ({
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace: 'argocd' },
    spec: {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-backend' },
      target: { name, template: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': '{"auths":{"ghcr.io":{"username":"{{ .username }}","password":"{{ .pat }}","auth":"{{ printf "%s:%s" .username .pat | b64enc }}"}}}' } } },
      data: [{ secretKey: 'username', remoteRef: { key, property: 'username' } }, { secretKey: 'pat', remoteRef: { key, property: 'pat' } }],
    },
  })
  h.store.create(es('ghcr-pull', 'secret/homelab/github'))
  h.store.create(es('wrong-path', 'data/homelab/github'))
  await h.actors.settle()
  const secret = h.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: 'ghcr-pull' })!
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson')
  const config = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString())
  assert.equal(Buffer.from(config.auths['ghcr.io'].auth, 'base64').toString(), 'meirongdev:ghp_fromstdin')
  const ready = (name: string) => h.store.get({ apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name })!.status.conditions[0]
  assert.equal(ready('ghcr-pull').reason, 'SecretSynced')
  assert.equal(ready('wrong-path').status, 'False')
  assert.equal(ready('wrong-path').reason, 'SecretSyncedError')
  // as upstream's markAsFailed: the condition says only that the provider failed, the Event says why
  assert.equal(ready('wrong-path').message, 'could not get secret data from provider')
  const events = (name: string) => h.store.list('v1', 'Event', 'argocd').filter((e) => e.involvedObject?.kind === 'ExternalSecret' && e.involvedObject?.name === name)
  const warnings = (name: string) => events(name).filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`)
  assert.deepEqual(warnings('wrong-path'), ['UpdateFailed: error processing spec.data[0] (key: data/homelab/github), err: Secret does not exist'])
  assert.deepEqual(events('ghcr-pull').map((e) => `${e.type} ${e.reason}: ${e.message}`), ['Normal Created: Created Secret'])
  assert.equal(ready('ghcr-pull').message, 'Secret was synced')
  // the same failure on later cycles is not a new Event
  await h.actors.settle()
  assert.equal(events('wrong-path').length, 1)
  h.actors.vault.seal()
  h.store.create(es('while-sealed', 'homelab/github'))
  await h.actors.settle()
  assert.equal(ready('while-sealed').message, 'could not get secret data from provider')
  assert.match(warnings('while-sealed').join('\n'), /^UpdateFailed: .*Vault is sealed$/)
  assert.equal((await vault(['vault', 'status'], Buffer.alloc(0))).exitCode, 2)
  h.actors.vault.unseal()
  assert.deepEqual(h.actors.vault.read('secret/homelab/github'), { username: 'meirongdev', pat: 'ghp_fromstdin' })
})

// ---------- Image Updater as upstream logs it, judged by task 8's rules ----------
import { analyzeLog } from '../src/cluster/controller-log.ts'
import { appliedTime, imageUpdaterStatus } from '../src/cluster/verify.ts'

const IU_REF = { apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', namespace: 'argocd', name: 'it-tools' }

/** The full setup with a healthy first cycle; returns the log length at that point. */
async function healthySetup(h: Harness, edit: (files: Record<string, string | null>) => void = () => {}): Promise<void> {
  putCredentials(h)
  h.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
  const files = setupFiles()
  edit(files)
  applyArgoFiles(h, { 'argocd/projects/homelab.yaml': files['argocd/projects/homelab.yaml'] })
  commitAndPush(h.repo, files)
  applyArgoFiles(h, files)
  await until('ImageUpdater CR', () => h.store.get(IU_REF))
}

/** Changes the live ImageUpdater's spec (a new generation) and waits for a cycle that saw it. */
async function editImageUpdater(h: Harness, change: (spec: any) => void): Promise<number> {
  const cr = h.store.get(IU_REF)!
  change(cr.spec)
  delete cr.metadata.resourceVersion
  const next = h.store.update(cr)
  await until('a cycle after the edit', () => h.store.get(IU_REF)?.status?.observedGeneration === next.metadata.generation)
  return appliedTime(next)
}

const verdictOf = (h: Harness, since?: number) => analyzeLog(iuLog(h), { crName: 'it-tools', since, images: 1 })

test('sandbox Image Updater: warnings before errors=0, skipped images, unsupported apps uncounted — each fails task 8', async (t) => {
  const h = await harness(t)
  await healthySetup(h)
  await until('a healthy cycle', () => verdictOf(h).healthy)
  assert.match(iuLog(h), /msg="Starting image update cycle, considering 1 application\(s\) for update" imageUpdater_name=it-tools/)

  // a bare regex: a warning, then a result line that still says errors=0
  let since = await editImageUpdater(h, (spec) => (spec.applicationRefs[0].images[0].commonUpdateSettings.allowTags = '^sha-[0-9a-f]+$'))
  await until('the warning cycle', () => verdictOf(h, since).lastCycle)
  assert.match(iuLog(h), /level=warning msg="Invalid match option syntax '\^sha-\[0-9a-f\]\+\$', ignoring"[^\n]*\n(?:[^\n]*\n)*?[^\n]*Processing results: applications=1 images_considered=1 images_skipped=1 images_updated=0 errors=0/)
  assert.deepEqual(verdictOf(h, since).lastCycle!.problems.map((p) => p.what), ['Invalid match option syntax', 'images_skipped=1'])

  // an image the app does not run: skipped without being considered
  since = await editImageUpdater(h, (spec) => {
    spec.applicationRefs[0].images[0].commonUpdateSettings.allowTags = 'regexp:^sha-[0-9a-f]+$'
    spec.applicationRefs[0].images[0].imageName = 'ghcr.io/meirongdev/not-running'
  })
  await until('the not-live cycle', () => verdictOf(h, since).lastCycle)
  assert.match(iuLog(h), /Processing results: applications=1 images_considered=0 images_skipped=1 images_updated=0 errors=0/)
  assert.equal(verdictOf(h, since).healthy, false)

  // a Directory app is logged and left out: not counted as an application
  since = await editImageUpdater(h, (spec) => (spec.applicationRefs[0].namePattern = 'personal-services'))
  await until('the unsupported cycle', () => verdictOf(h, since).lastCycle)
  assert.match(iuLog(h), /skipping app 'argocd\/personal-services' of type 'Directory' because it's not of supported source type/)
  assert.match(iuLog(h), /considering 0 application\(s\) for update[^\n]*\n[^\n]*Processing results: applications=0 images_considered=0 images_skipped=0/)
  assert.equal(verdictOf(h, since).healthy, false)
})

test('sandbox Image Updater: the no-CR line at warm-up and on webhook events only', async (t) => {
  const h = await harness(t)
  await healthySetup(h, (files) => {
    files['k8s/helm/manifests/it-tools/image-updater.yaml'] = null
    files['k8s/helm/manifests/it-tools/kustomization.yaml'] = files['k8s/helm/manifests/it-tools/kustomization.yaml']!.replace('  - image-updater.yaml\n', '')
  }).catch(() => {})
  await until('the warm-up line', () => /No ImageUpdater CRs to process/.test(iuLog(h)))
  await h.actors.settle()
  await h.actors.settle()
  const idle = () => iuLog(h).match(/No ImageUpdater CRs to process/g)?.length ?? 0
  assert.equal(idle(), 1, 'once, at warm-up, not every cycle')
  h.actors.imageUpdaterWebhook()
  await until('the webhook line', () => idle() === 2)
})

test('sandbox Image Updater v1.2 status: PartialErrors and ReconcileCompletedWithErrors until the cause is fixed', async (t) => {
  const h = await harness(t)
  await healthySetup(h)
  await until('a healthy cycle', () => verdictOf(h).healthy)
  const applied = await editImageUpdater(h, (spec) => (spec.applicationRefs[0].images[0].commonUpdateSettings.pullSecret = 'pullsecret:argocd/missing'))
  const cr = h.store.get(IU_REF)!
  const cond = (type: string) => cr.status.conditions.find((c: any) => c.type === type)
  assert.deepEqual([cond('Ready').status, cond('Ready').reason, cond('Error').status, cond('Error').reason], ['True', 'ReconcileCompletedWithErrors', 'True', 'PartialErrors'])
  assert.equal(cr.status.imagesManaged, 1, 'imagesManaged counts the image although its tags were never read')
  const state = imageUpdaterStatus(cr, applied, 1)
  assert.match('waiting' in state ? state.waiting : 'ready', /Error=True \(PartialErrors\)/)
  assert.match(iuLog(h), /level=warning msg="Could not fetch credentials: could not fetch secret 'missing'/)
  const fixed = await editImageUpdater(h, (spec) => (spec.applicationRefs[0].images[0].commonUpdateSettings.pullSecret = 'pullsecret:argocd/ghcr-pull'))
  await until('ReconcileSucceeded', () => 'ready' in imageUpdaterStatus(h.store.get(IU_REF), fixed, 1))
})

test('sandbox Image Updater write-back fails at the first update: read-only token, protected branch, SSH URL without a key', async (t) => {
  const h = await harness(t)
  await healthySetup(h)
  await until('a healthy cycle', () => verdictOf(h).healthy)
  h.actors.gitHost.readOnlyToken('ghp_test')
  h.actors.registry.pushTag(IMAGE, 'sha-1111111', new Date())
  await until('the refused push', () => /Could not update application spec: could not push to [^\n]*returned error: 403/.test(iuLog(h)))
  await until('a failing cycle', () => verdictOf(h).lastCycle?.problems.some((p) => p.what === 'Could not update application spec'))
  h.actors.gitHost.reset()
  h.actors.gitHost.protectBranch('main')
  await until('the protected branch', () => /GH006: Protected branch update failed for refs\/heads\/main/.test(iuLog(h)))
  h.actors.gitHost.reset()
  const live = app(h, 'it-tools')!
  live.spec.source.repoURL = 'git@github.com:meirongdev/homelab.git'
  delete live.metadata.resourceVersion
  h.store.update(live)
  await until('the missing SSH key', () => /could not get creds for repo 'git@github.com:meirongdev\/homelab.git': invalid secret argocd\/git-creds: does not contain field sshPrivateKey/.test(iuLog(h)))
  assert.throws(() => gitIn(h.repo.origin, 'show', 'main:k8s/helm/manifests/it-tools/.argocd-source-it-tools.yaml'), 'nothing was written back')
})

// ---------- ESO refreshes every refreshInterval; task 8 forces it after a token rotation ----------
import { forceRefresh } from '../src/cluster/verify.ts'
import type { Kube } from '../src/cluster/kube.ts'

/** The few Kube calls forceRefresh makes, on the Store (a watch is a poll here). */
function storeKube(store: Store): Kube {
  return {
    get: async (ref: any) => store.get(ref),
    mergePatch: async (ref: any, patch: any) => {
      const o = store.get(ref)!
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), ...patch.metadata.annotations }
      delete o.metadata.resourceVersion
      return store.update(o)
    },
    waitFor: async (ref: any, check: any, opts: any) => {
      const deadline = Date.now() + opts.timeoutMs
      for (;;) {
        const state = await check(store.get(ref))
        if ('ready' in state) return store.get(ref)
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
  } as unknown as Kube
}

test('ESO: a rotated token reaches the Secret only after refreshInterval, or at once with force-sync (waited for by refreshTime)', async (t) => {
  const h = await harness(t)
  const vault = h.pods.execHandler('vault', 'vault-0')!
  await vault(['vault', 'kv', 'put', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], Buffer.from('ghp_first\n'))
  h.store.create({
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'git-creds', namespace: 'argocd' },
    spec: { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-backend' }, target: { name: 'git-creds' }, data: [{ secretKey: 'password', remoteRef: { key: 'secret/homelab/github', property: 'pat' } }] },
  })
  const password = () => Buffer.from(h.store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name: 'git-creds' })?.data?.password ?? '', 'base64').toString()
  await until('the first sync', () => password() === 'ghp_first')
  await vault(['vault', 'kv', 'put', 'secret/homelab/github', 'username=meirongdev', 'pat=-'], Buffer.from('ghp_rotated\n'))
  await h.actors.settle()
  await h.actors.settle()
  assert.equal(password(), 'ghp_first', 'ESO does not read Vault again before refreshInterval')
  const ref = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: 'argocd', name: 'git-creds' }
  assert.deepEqual(await forceRefresh(storeKube(h.store), ref, 10_000), {})
  assert.equal(password(), 'ghp_rotated', 'refreshed once refreshTime is not older than the force-sync')
  assert.match(h.store.get(ref)!.metadata.annotations!['force-sync'], /^\d+$/)
})
