// Settings are checked when they are read: every path setting stays inside the GitOps repo, every
// name setting is a valid Kubernetes name, timeouts fit Node's timers, a token with a quote or a
// line break is refused before anything is stored; a valid localhost registry image is accepted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/settings.ts'
import { parseImage } from '../src/render/image.ts'
import { SetupError } from '../src/errors.ts'
import { fixture, git, runSetup, snapshot } from './helpers.ts'

const load = (env: Record<string, string>) => loadConfig({ cwd: '/nonexistent', env: { GITOPS_REPO_DIR: '/r', GITHUB_USERNAME: 'u', ...env } })

const refused: [Record<string, string>, RegExp, RegExp][] = [
  [{ MANIFESTS_DIR: '../../x' }, /MANIFESTS_DIR "\.\.\/\.\.\/x" leads outside the GitOps repo/, /set MANIFESTS_DIR to a path inside the GitOps repo, relative to GITOPS_REPO_DIR \(default k8s\/helm\/manifests\)/],
  [{ VALUES_DIR: '../x' }, /VALUES_DIR "\.\.\/x" leads outside/, /set VALUES_DIR to a path inside/],
  [{ VALUES_DIR: 'k8s/../../x' }, /VALUES_DIR "k8s\/\.\.\/\.\.\/x" leads outside/, /set VALUES_DIR/],
  [{ PLAN_DIR: '/abs/plans' }, /PLAN_DIR "\/abs\/plans" is an absolute path/, /set PLAN_DIR to a path inside/],
  [{ APPPROJECT_FILE: '.git/config' }, /APPPROJECT_FILE "\.git\/config" points into the repo's \.git folder/, /set APPPROJECT_FILE/],
  [{ APP_NAME: '../../../../x' }, /APP_NAME "\.\.\/\.\.\/\.\.\/\.\.\/x" is not a Kubernetes Service name/, /set APP_NAME to a valid name, e.g\. it-tools/],
  [{ APP_NAME: 'It_Tools' }, /APP_NAME "It_Tools" is not a Kubernetes Service name/, /set APP_NAME/],
  [{ APP_NAMESPACE: 'Personal' }, /APP_NAMESPACE "Personal" is not a namespace name/, /set APP_NAMESPACE/],
  [{ SECRET_STORE: 'vault backend' }, /SECRET_STORE "vault backend" is not a Kubernetes object name/, /set SECRET_STORE/],
  [{ SYNC_TIMEOUT_SECONDS: '2147484' }, /SYNC_TIMEOUT_SECONDS 2147484 is above 2147483 s, the longest timer Node can set/, /set SYNC_TIMEOUT_SECONDS to at most 2147483/],
  [{ SYNC_TIMEOUT_SECONDS: '1e9' }, /SYNC_TIMEOUT_SECONDS "1e9" is not a whole number/, /set SYNC_TIMEOUT_SECONDS=300/],
  [{ REQUEST_TIMEOUT_SECONDS: '0' }, /REQUEST_TIMEOUT_SECONDS "0" is not a whole number of seconds above 0/, /set REQUEST_TIMEOUT_SECONDS=30/],
  [{ GITHUB_PAT: 'ghp_abc"def' }, /GITHUB_PAT contains a quote or backslash/, /set GITHUB_PAT to the token exactly as GitHub shows it/],
  [{ GITHUB_PAT: 'ghp_abc\ndef' }, /GITHUB_PAT contains a line break/, /set GITHUB_PAT/],
]

for (const [env, cause, fix] of refused)
  test(`settings: ${Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} is refused with cause and fix`, () => {
    assert.throws(
      () => load(env),
      (err: unknown) => {
        assert.ok(err instanceof SetupError)
        assert.match(err.message, cause)
        assert.match(err.fix, fix)
        assert.doesNotMatch(err.message + err.fix, /abc.?def/, 'the token is never echoed')
        return true
      },
    )
  })

test('settings: several wrong settings are listed together, each with its fix', () => {
  assert.throws(() => load({ MANIFESTS_DIR: '../x', APP_NAME: 'A' }), (err: SetupError) => /2 settings are wrong/.test(err.message) && (err.message.match(/\n    fix: /g) ?? []).length === 2)
})

test('settings: valid values pass, including a localhost registry image', () => {
  const { settings } = load({ MANIFESTS_DIR: './k8s/manifests/', APP_NAME: 'it-tools', SYNC_TIMEOUT_SECONDS: '2147483' })
  assert.equal(settings.manifestsDir, './k8s/manifests/')
  const local = parseImage('localhost:5000/team/it-tools')
  assert.deepEqual([local.registry, local.repository], ['localhost:5000', 'team/it-tools'])
  const lan = parseImage('registry.lan:5000/it-tools')
  assert.deepEqual([lan.registry, lan.repository], ['registry.lan:5000', 'it-tools'])
})

test('a path setting leading outside the repo writes nothing, inside or outside', async () => {
  const fx = fixture()
  try {
    const before = snapshot(fx.dir)
    const outsideBefore = readdirSync(fx.root).sort()
    const run = await runSetup(['--only', '0,2-6'], { ...fx.env, MANIFESTS_DIR: '../../x', PLAN_DIR: '/tmp/plans-abs' })
    assert.equal(run.code, 1)
    assert.match(run.stderr, /2 settings are wrong/)
    assert.deepEqual(snapshot(fx.dir), before)
    assert.deepEqual(readdirSync(fx.root).sort(), outsideBefore)
    assert.equal(existsSync(join(fx.dir, 'tmp')), false)
    assert.equal(git(fx.origin, 'rev-list', '--count', 'main'), '1')
  } finally {
    fx.cleanup()
  }
})
