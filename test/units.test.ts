// Small pure pieces: option parsing, chart shapes, image references, templates, .env.example.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseIds, parseRunArgs, selectTasks } from '../src/cli-args.ts'
import { SetupError } from '../src/errors.ts'
import { chartShape } from '../src/render/chart.ts'
import { parseImage, readImageRef, sameImage } from '../src/render/image.ts'
import { renderTemplate } from '../src/render/template.ts'
import { loadConfig, SETTING_SPECS } from '../src/settings.ts'
import { PROJECT } from './helpers.ts'

const KNOWN = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

test('task ids: singles, lists and ranges; unknown ids and junk refused with the known ids', () => {
  assert.deepEqual(parseIds('5', KNOWN, '--only'), [5])
  assert.deepEqual(parseIds('0,2-6', KNOWN, '--only'), [0, 2, 3, 4, 5, 6])
  assert.deepEqual(parseIds('6-2', KNOWN, '--only'), [2, 3, 4, 5, 6])
  assert.deepEqual(parseIds('0-9', [0, 2, 7], '--skip'), [0, 2, 7])
  assert.throws(() => parseIds('12', KNOWN, '--only'), /--only 12: no task 12/)
  assert.throws(() => parseIds('five', KNOWN, '--only'), /"five" is not a task id or range/)
  assert.throws(() => parseRunArgs(['--only', '5', '--from', '3'], KNOWN), /--only and --from do not go together/)
  assert.throws(() => parseRunArgs(['--bogus'], KNOWN), SetupError)
  const opts = parseRunArgs(['--from', '4', '--skip', '7-9'], KNOWN)
  assert.deepEqual(selectTasks(KNOWN.map((id) => ({ id })), opts).map((t) => t.id), [4, 5, 6])
})

test('chart versions: 1.0/1.1 need spec.namespace, 1.2 has status counts, 0.x and unknown refused', () => {
  assert.deepEqual(chartShape('1.0.2'), { chartVersion: '1.0.2', appMinor: '1.0', specNamespace: true, statusCounts: false, useAnnotations: false })
  assert.equal(chartShape('1.1.1').useAnnotations, true)
  assert.equal(chartShape('1.1.1').specNamespace, true)
  assert.equal(chartShape('1.2.4').specNamespace, false)
  assert.equal(chartShape('1.2.4').statusCounts, true)
  assert.throws(() => chartShape('0.14.0'), /annotations only/)
  assert.throws(() => chartShape('1.3.0'), /newer than the charts this setup knows/)
  assert.throws(() => chartShape('1.2'), /not a chart version/)
})

test('image references as Docker reads them: short names, Docker Hub, other hosts, ports, digests', () => {
  const ref = (text: string) => readImageRef(text)
  assert.deepEqual(ref('nginx'), { registry: 'docker.io', repository: 'library/nginx', name: 'nginx' })
  assert.deepEqual(ref('nginx:1.27'), { registry: 'docker.io', repository: 'library/nginx', name: 'nginx', tag: '1.27' })
  assert.deepEqual(ref('dko0/squoosh:1.12.0'), { registry: 'docker.io', repository: 'dko0/squoosh', name: 'dko0/squoosh', tag: '1.12.0' })
  assert.deepEqual(ref('docker.io/library/nginx'), { registry: 'docker.io', repository: 'library/nginx', name: 'docker.io/library/nginx' })
  assert.deepEqual(ref('index.docker.io/dko0/squoosh'), { registry: 'docker.io', repository: 'dko0/squoosh', name: 'index.docker.io/dko0/squoosh' })
  assert.deepEqual(ref('ghcr.io/o/n:sha-3f2c1ab'), { registry: 'ghcr.io', repository: 'o/n', name: 'ghcr.io/o/n', tag: 'sha-3f2c1ab' })
  assert.deepEqual(ref('lscr.io/linuxserver/calibre-web:0.6.24'), { registry: 'lscr.io', repository: 'linuxserver/calibre-web', name: 'lscr.io/linuxserver/calibre-web', tag: '0.6.24' })
  assert.deepEqual(ref('quay.io/prometheus/node-exporter'), { registry: 'quay.io', repository: 'prometheus/node-exporter', name: 'quay.io/prometheus/node-exporter' })
  assert.deepEqual(ref('localhost:5000/x'), { registry: 'localhost:5000', repository: 'x', name: 'localhost:5000/x' })
  assert.deepEqual(ref('localhost/x/y'), { registry: 'localhost', repository: 'x/y', name: 'localhost/x/y' })
  assert.deepEqual(ref('registry.local:5000/a/b/c:v2'), { registry: 'registry.local:5000', repository: 'a/b/c', name: 'registry.local:5000/a/b/c', tag: 'v2' })
  const digest = `sha256:${'ab'.repeat(32)}`
  assert.deepEqual(ref(`ghcr.io/gethomepage/homepage@${digest}`), { registry: 'ghcr.io', repository: 'gethomepage/homepage', name: 'ghcr.io/gethomepage/homepage', digest })
  assert.deepEqual(ref(`nginx:1.27@${digest}`), { registry: 'docker.io', repository: 'library/nginx', name: 'nginx', tag: '1.27', digest })
  // a first component with upper case is a host (Docker's rule), the repository must be lower case
  assert.equal(ref('Registry/x')?.registry, 'Registry')
  for (const bad of ['', ' nginx', 'ghcr.io/Meirong/it-tools', 'ghcr.io/', 'nginx:', 'nginx@sha256:00', 'a//b', 'ghcr.io/o/n:bad tag', 'host_x:5000/a'])
    assert.equal(ref(bad), undefined, bad)
})

test('the same image however it is written; different images are different', () => {
  for (const [a, b] of [
    ['nginx', 'docker.io/library/nginx:1.27'],
    ['nginx:latest', 'index.docker.io/library/nginx'],
    ['dko0/squoosh:1.12.0', 'docker.io/dko0/squoosh'],
    ['ghcr.io/o/n@sha256:' + 'cd'.repeat(32), 'ghcr.io/o/n:sha-1'],
  ])
    assert.ok(sameImage(a, b), `${a} = ${b}`)
  for (const [a, b] of [
    ['nginx', 'ghcr.io/library/nginx'],
    ['dko0/squoosh', 'dko0/squoosh2'],
    ['localhost:5000/x', 'localhost/x'],
    ['ghcr.io/o/n', 'bad ref'],
  ])
    assert.ok(!sameImage(a, b), `${a} != ${b}`)
})

test('image settings: a name without tag or digest, in any Docker form', () => {
  assert.equal(parseImage('ghcr.io/meirongdev/it-tools').repository, 'meirongdev/it-tools')
  assert.equal(parseImage('dko0/squoosh').registry, 'docker.io')
  assert.equal(parseImage('nginx').repository, 'library/nginx')
  assert.equal(parseImage('localhost:5000/x').registry, 'localhost:5000')
  for (const bad of ['ghcr.io/meirongdev/it-tools:latest', 'ghcr.io/x/y@sha256:' + '00'.repeat(32), 'ghcr.io/Meirong/it-tools', 'ghcr.io/'])
    assert.throws(() => parseImage(bad), /is not an image reference without a tag/, bad)
  assert.throws(() => parseImage('x:1', 'APP_SQUOOSH_IMAGE'), /APP_SQUOOSH_IMAGE "x:1"[^]*fix: set APP_SQUOOSH_IMAGE/)
})

test('--app is repeatable and takes comma lists too', () => {
  assert.deepEqual(parseRunArgs(['--app', 'it-tools', '--app', 'squoosh,homepage'], KNOWN).apps, ['it-tools', 'squoosh', 'homepage'])
  assert.equal(parseRunArgs([], KNOWN).apps, undefined)
})

test('templates: placeholders, json quoting, conditional lines; unknown names are errors', () => {
  const t = 'a: ${x}\nb: ${y|json}\nc: 1 #?on\nd: 2 #?off\n'
  assert.equal(renderTemplate(t, { x: 'plain', y: 'regexp:^a"b$' }, { on: true, off: false }), 'a: plain\nb: "regexp:^a\\"b$"\nc: 1\n')
  assert.throws(() => renderTemplate('${nope}', {}), /no value for \$\{nope\}/)
  assert.throws(() => renderTemplate('x #?what', {}), /unknown flag #\?what/)
})

test('.env.example documents every setting, and secrets are not settings', () => {
  const example = readFileSync(join(PROJECT, '.env.example'), 'utf8')
  for (const spec of Object.values(SETTING_SPECS)) assert.match(example, new RegExp(`^${spec.env}=`, 'm'), spec.env)
  const cfg = loadConfig({ cwd: '/nonexistent', env: { GITOPS_REPO_DIR: '/r', GITHUB_USERNAME: 'u', GITHUB_PAT: 'tok-123456' } })
  assert.equal(cfg.secrets.githubPat(), 'tok-123456')
  assert.doesNotMatch(JSON.stringify(cfg.settings), /tok-123456/)
  assert.equal(cfg.settings.chartVersion, '1.2.4')
  assert.equal(cfg.settings.tagRegex, '', 'derived from the running tag unless set')
  const perApp = loadConfig({ cwd: '/nonexistent', env: { GITOPS_REPO_DIR: '/r', GITHUB_USERNAME: 'u', APP_SQUOOSH_STRATEGY: 'semver', APP_IT_TOOLS_TAG_REGEX: '^v', APP_NAMESPACE: 'x', APP_X_OTHER: 'y' } })
  assert.deepEqual(perApp.settings.perApp, { APP_SQUOOSH_STRATEGY: 'semver', APP_IT_TOOLS_TAG_REGEX: '^v' })
})

test('an atomic write removes the temp files a killed earlier write left, and only those', async () => {
  const { mkdtempSync, writeFileSync, readdirSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { writeFileAtomic } = await import('../src/files.ts')
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'))
  try {
    writeFileSync(join(dir, 'a.yaml.tmp-0123abcd'), 'half')
    writeFileSync(join(dir, 'a.yaml.tmp-notmine'), 'keep')
    writeFileSync(join(dir, 'b.yaml.tmp-0123abcd'), 'other file')
    await writeFileAtomic(join(dir, 'a.yaml'), 'whole\n')
    assert.deepEqual(readdirSync(dir).sort(), ['a.yaml', 'a.yaml.tmp-notmine', 'b.yaml.tmp-0123abcd'])
    assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'whole\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('git locks created since an interrupted git write are found and removed; older ones are not', async () => {
  const { writeFileSync, existsSync, utimesSync, mkdirSync } = await import('node:fs')
  const { staleGitLocks, removeStaleGitLocks } = await import('../src/git.ts')
  const { fixture } = await import('./helpers.ts')
  const fx = fixture()
  try {
    const old = join(fx.dir, '.git', 'packed-refs.lock')
    writeFileSync(old, '')
    utimesSync(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000))
    const since = new Date()
    writeFileSync(join(fx.dir, '.git', 'index.lock'), '')
    mkdirSync(join(fx.dir, '.git', 'refs', 'heads'), { recursive: true })
    writeFileSync(join(fx.dir, '.git', 'refs', 'heads', 'main.lock'), '')
    assert.deepEqual(staleGitLocks(fx.dir, since).sort(), [join(fx.dir, '.git', 'index.lock'), join(fx.dir, '.git', 'refs', 'heads', 'main.lock')])
    removeStaleGitLocks(fx.dir, since)
    assert.equal(existsSync(join(fx.dir, '.git', 'index.lock')), false)
    assert.equal(existsSync(join(fx.dir, '.git', 'refs', 'heads', 'main.lock')), false)
    assert.equal(existsSync(old), true, 'a lock older than the interrupted write is not ours to remove')
  } finally {
    fx.cleanup()
  }
})

test('verifyWritable refuses an immutable file (chattr +i) before anything is written, naming it and the fix', async (t) => {
  const { verifyWritable } = await import('../src/files.ts')
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, mkdirSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'immutable-'))
  const file = join(dir, 'argocd', 'projects', 'homelab.yaml')
  mkdirSync(join(dir, 'argocd', 'projects'), { recursive: true })
  writeFileSync(file, 'kind: AppProject\n')
  try {
    try {
      execFileSync('chattr', ['+i', file], { stdio: 'ignore' })
    } catch {
      // chattr +i needs CAP_LINUX_IMMUTABLE (root) and a filesystem that keeps the flag
      return t.skip('chattr +i is not permitted here (not root, or the filesystem has no immutable flag)')
    }
    assert.throws(
      () => verifyWritable(dir, ['argocd/projects/homelab.yaml', 'argocd/applications/it-tools.yaml']),
      (e: SetupError) =>
        e.message === 'the setup must change files it cannot write: argocd/projects/homelab.yaml cannot be written (EPERM: immutable?)' &&
        e.fix === 'make them writable (chmod u+w <file>; an immutable one: chattr -i <file>), then rerun; nothing was changed',
    )
    // the fix, followed: it passes
    execFileSync('chattr', ['-i', file])
    verifyWritable(dir, ['argocd/projects/homelab.yaml', 'argocd/applications/it-tools.yaml'])
  } finally {
    try {
      execFileSync('chattr', ['-i', file], { stdio: 'ignore' })
    } catch {
      // never made immutable
    }
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an unreachable API at 127.0.0.1 off the k3s host: the fix names k3s.yaml's server: line", async () => {
  const { unreachableFix } = await import('../src/cluster/preflight.ts')
  const refused = Object.assign(new Error('request to https://127.0.0.1:6443/api/v1/namespaces/kube-system failed, reason: connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })
  const usual = 'check that the cluster is up and KUBECONFIG/KUBE_CONTEXT point at it (kubectl get ns)'
  assert.equal(
    unreachableFix('https://127.0.0.1:6443', refused, false),
    `if this kubeconfig is a k3s.yaml copied from the k3s server, its server: line still names this machine (https://127.0.0.1:6443): set it to the k3s server's address (https://<its IP or name>:6443), then rerun; otherwise ${usual}`,
  )
  assert.equal(unreachableFix('https://127.0.0.1:6443', refused, true), usual, 'on the k3s host itself the line is right')
  assert.equal(unreachableFix('https://192.168.1.10:6443', refused, false), usual)
  assert.equal(unreachableFix('https://127.0.0.1:6443', Object.assign(new Error('Unauthorized'), { code: 401 }), false), usual, 'it answered')
})

test("tag filters as Go's regexp (RE2) compiles them: the construct it refuses, and a rewrite it accepts where one can be derived", async () => {
  const { goRegexpProblem } = await import('../src/render/go-regexp.ts')
  const { RE2JS } = await import('re2js')
  // [filter, construct, rewrite or undefined]
  const cases: [string, string, string | undefined][] = [
    ['^sha-(?=[0-9a-f]{7})[0-9a-f]+$', 'a lookahead `(?=`', '^sha-[0-9a-f]{7,}$'],
    ['^v(?=\\d)\\d+\\.\\d+$', 'a lookahead `(?=`', '^v\\d+\\.\\d+$'],
    ['^v[0-9]++$', 'a possessive quantifier `++`', '^v[0-9]+$'],
    ['^(?>sha)-[0-9a-f]+\\Z', 'an atomic group `(?>`', '^(?:sha)-[0-9a-f]+\\z'],
    ['^(?!latest$).+$', 'a negative lookahead `(?!`', undefined],
    ['(?<=sha-)[0-9a-f]+$', 'a lookbehind `(?<=`', undefined],
    ['(?<!x)v1', 'a negative lookbehind `(?<!`', undefined],
    ['^(v)\\d+\\1$', 'a backreference `\\1`', undefined],
    ['^x{1001}$', 'a repeat count over 1000 `{1001}`', undefined],
    // a lookahead that is more than a minimum count of the run to the end cannot be dropped
    ['^(?=a{3})a*ab$', 'a lookahead `(?=`', undefined],
  ]
  for (const [re, construct, rewrite] of cases) {
    assert.doesNotThrow(() => new RegExp(re.replace('++', '+').replace('(?>', '(?:').replace('\\Z', '$')), `JavaScript takes ${re}`)
    const p = goRegexpProblem(re)
    assert.equal(p?.construct, construct, re)
    assert.equal(p?.rewrite, rewrite, re)
    if (rewrite !== undefined) assert.doesNotThrow(() => RE2JS.compile(rewrite), `Go takes the rewrite ${rewrite}`)
    else assert.ok(p?.remove, `${re}: says what to take out`)
  }
  // the rewrite allows the tags the filter meant
  const rewritten = RE2JS.compile(goRegexpProblem('^sha-(?=[0-9a-f]{7})[0-9a-f]+$')!.rewrite!)
  assert.deepEqual(['sha-1234567', 'sha-1234567abcdef', 'sha-123456', 'sha-12345678z', 'latest'].filter((t) => rewritten.test(t)), ['sha-1234567', 'sha-1234567abcdef'])
  // what Go takes is fine, Go-only syntax included; a plain mistake is a plain syntax error
  for (const re of ['^sha-[0-9a-f]+$', '(?P<sha>[0-9a-f]+)', '(?i)^v\\d+\\z', '[[:alnum:]]+']) assert.equal(goRegexpProblem(re), undefined, re)
  assert.deepEqual(goRegexpProblem('^sha-[0-9a-f+$'), { construct: '', error: 'error parsing regexp: missing closing ]: `[0-9a-f+$`', remove: 'what Go names: missing closing ]: `[0-9a-f+$`' })
})
