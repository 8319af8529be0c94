// Apps as they run: update policies derived from the running tag, registries in the chart values,
// the Directory app's include/exclude/recurse, and how an app file moves into its folder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { appNames, perAppSetting } from '../src/apps.ts'
import { editInclude, readSelection, selects } from '../src/include.ts'
import { readImageRef, type ImageRef } from '../src/render/image.ts'
import { registryEntries } from '../src/render/registries.ts'
import { choosePolicy, derivePolicy, updaterImageName } from '../src/render/strategy.ts'
import { folderFiles } from '../tasks/03-split-app-kustomize.ts'
import { sampleFiles } from '../sandbox/sample-repo.ts'

const img = (text: string): ImageRef => readImageRef(text)!
const names = { strategySetting: 'APP_X_STRATEGY', tagRegexSetting: 'APP_X_TAG_REGEX' }

test('update policy from the running tag: sha-<hex> newest-build, versions semver in the major, latest/none digest', () => {
  const sha = derivePolicy(img('ghcr.io/meirongdev/it-tools:sha-3f2c1ab'), 'it-tools', names)
  assert.deepEqual([sha.strategy, sha.tagRegex, sha.constraint], ['newest-build', '^sha-[0-9a-f]+$', undefined])
  assert.match(sha.why, /tag sha-3f2c1ab is a build tag/)
  const ver = derivePolicy(img('dko0/squoosh:1.12.0'), 'squoosh', names)
  assert.deepEqual([ver.strategy, ver.tagRegex, ver.constraint], ['semver', undefined, '1.x'])
  assert.equal(updaterImageName(img('dko0/squoosh:1.12.0'), ver), 'dko0/squoosh:1.x')
  assert.equal(derivePolicy(img('nginx:v2.3'), 'n', names).constraint, 'v2.x')
  const latest = derivePolicy(img('ghcr.io/gethomepage/homepage:latest'), 'homepage', names)
  assert.deepEqual([latest.strategy, latest.constraint], ['digest', 'latest'])
  assert.equal(updaterImageName(img('ghcr.io/gethomepage/homepage:latest'), latest), 'ghcr.io/gethomepage/homepage:latest')
  assert.equal(derivePolicy(img('nginx'), 'n', names).strategy, 'digest')
  assert.match(derivePolicy(img(`nginx@sha256:${'ab'.repeat(32)}`), 'n', names).why, /pinned by digest/)
  assert.throws(() => derivePolicy(img('x/y:nightly'), 'y', names), /cannot tell how to update x\/y from its tag nightly[^]*fix: set APP_X_STRATEGY/)
})

test('the user\'s settings win over the derived policy, and are checked', () => {
  const p = choosePolicy(img('dko0/squoosh:1.12.0'), 'squoosh', { ...names, strategy: 'semver' })
  assert.deepEqual([p.strategy, p.constraint], ['semver', '1.x'])
  const d = choosePolicy(img('dko0/squoosh:1.12.0'), 'squoosh', { ...names, strategy: 'digest' })
  assert.deepEqual([d.strategy, d.constraint], ['digest', '1.12.0'])
  const r = choosePolicy(img('ghcr.io/o/n:sha-abcdef1'), 'n', { ...names, tagRegex: '^sha-[0-9a-f]{7}$' })
  assert.deepEqual([r.strategy, r.tagRegex], ['newest-build', '^sha-[0-9a-f]{7}$'])
  const n = choosePolicy(img('x/y:nightly'), 'y', { ...names, strategy: 'alphabetical', tagRegex: '^nightly' })
  assert.deepEqual([n.strategy, n.tagRegex, n.constraint], ['alphabetical', '^nightly', undefined])
  assert.throws(() => choosePolicy(img('x/y:1.0.0'), 'y', { ...names, strategy: 'latest' }), /APP_X_STRATEGY "latest" is not an Image Updater strategy/)
  assert.throws(() => choosePolicy(img('x/y:1.0.0'), 'y', { ...names, tagRegex: 'regexp:^a' }), /APP_X_TAG_REGEX starts with "regexp:"/)
})

test('app names: APPS wins over APP_NAME, per-app setting names, bad names refused', () => {
  assert.deepEqual(appNames({ apps: '', appName: 'it-tools' }), ['it-tools'])
  assert.deepEqual(appNames({ apps: 'it-tools, squoosh,homepage', appName: 'x' }), ['it-tools', 'squoosh', 'homepage'])
  assert.equal(perAppSetting('it-tools', 'STRATEGY'), 'APP_IT_TOOLS_STRATEGY')
  assert.throws(() => appNames({ apps: 'It_Tools', appName: '' }), /APPS: "It_Tools" is not a valid app name/)
  assert.throws(() => appNames({ apps: 'a,a', appName: '' }), /APPS names a twice/)
  assert.throws(() => appNames({ apps: '', appName: '../x' }), /APP_NAME: "\.\.\/x" is not a valid app name/)
})

test('config.registries: one entry per registry with its real API; credentials only for GHCR; Docker Hub rate limit noted', () => {
  const block = registryEntries(['ghcr.io', 'docker.io', 'ghcr.io', 'lscr.io', 'quay.io', 'localhost:5000'], 'pullsecret:argocd/s')
  const list = parse(`registries:\n${block}\n`).registries as Record<string, unknown>[]
  assert.deepEqual(list.map((r) => [r.prefix, r.api_url]), [
    ['ghcr.io', 'https://ghcr.io'],
    ['docker.io', 'https://registry-1.docker.io'],
    ['lscr.io', 'https://lscr.io'],
    ['quay.io', 'https://quay.io'],
    ['localhost:5000', 'https://localhost:5000'],
  ])
  assert.deepEqual(list.map((r) => r.credentials ?? null), ['pullsecret:argocd/s', null, null, null, null])
  const hub = list[1]!
  assert.equal(hub.default, true, 'short names (dko0/squoosh) use the default registry: the entry must be it')
  assert.equal(hub.defaultns, 'library')
  assert.match(block, /# Docker Hub limits anonymous pulls \(10 per hour per IP address/)
})

const services = sampleFiles['argocd/applications/personal-services.yaml']!
const rel = 'argocd/applications/personal-services.yaml'

test('Directory selection: brace lists are edited, wildcard includes with exclude are read and left alone', () => {
  assert.equal(editInclude(services, rel, { remove: ['it-tools.yaml', 'squoosh.yaml'] }).match(/include: .*/)![0], 'include: "{calibre-web.yaml,stirling-pdf.yaml,homepage.yaml}"')
  const wild = services.replace(/include: ".*"/, "include: '*.yaml'\n      exclude: '{vault-*.yaml,*-secret.yaml}'")
  const sel = readSelection(wild, rel)
  assert.ok(selects(sel, 'it-tools.yaml'))
  assert.ok(!selects(sel, 'vault-eso-config.yaml'))
  assert.ok(!selects(sel, 'cloudflare-external-secret.yaml'))
  assert.ok(!selects(sel, 'it-tools/kustomization.yaml'), 'subfolders are not read without recurse')
  assert.equal(editInclude(wild, rel, { remove: ['it-tools.yaml'] }), wild, 'the moved file stops matching once it is deleted')
  const recursive = wild.replace("exclude: '{vault-*.yaml,*-secret.yaml}'", "exclude: '{vault-*.yaml,*-secret.yaml}'\n      recurse: true")
  assert.throws(() => editInclude(recursive, rel, { remove: ['it-tools.yaml'] }), /recurse: true[^]*would also sync the new folder it-tools\/[^]*fix: exclude the app folders/)
  assert.throws(() => editInclude(wild, rel, { add: 'vault-new.yaml' }), /does not select vault-new\.yaml/)
  assert.equal(editInclude(wild, rel, { add: 'new.yaml' }), wild)
})

test('merge keys and aliases on the way to the include are refused, never misread', () => {
  const merged = services.replace(/    directory:\n.*\n.*\n/, '    directory: {<<: {include: "{it-tools.yaml}"}}\n')
  assert.throws(() => readSelection(merged, rel), /spec\.source\.directory uses a YAML merge key \(<<\)/)
  const aliased = `x: &d {include: "{a.yaml}"}\n${services.replace(/    directory:\n.*\n.*\n/, '    directory: *d\n').replace(/^---\n/, '')}`
  assert.throws(() => readSelection(aliased, rel), /uses a YAML alias/)
})

test('an app file moves: Deployment+Service split byte for byte; anything more (comment-only documents too) moves whole', () => {
  const itTools = sampleFiles['k8s/helm/manifests/it-tools.yaml']!
  const split = folderFiles({ name: 'it-tools' }, itTools, 'k8s/helm/manifests/it-tools.yaml')
  assert.deepEqual(Object.keys(split), ['deployment.yaml', 'service.yaml'])
  assert.ok(itTools.includes(split['deployment.yaml']!) && itTools.includes(split['service.yaml']!))
  const withComment = `${itTools}---\n# 备注：这个文档只有注释\n`
  assert.deepEqual(folderFiles({ name: 'it-tools' }, withComment, 'k8s/helm/manifests/it-tools.yaml'), { 'it-tools.yaml': withComment })
  const homepage = sampleFiles['k8s/helm/manifests/homepage.yaml']!
  assert.deepEqual(folderFiles({ name: 'homepage' }, homepage, 'k8s/helm/manifests/homepage.yaml'), { 'homepage.yaml': homepage })
})
