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
