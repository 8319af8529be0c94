// The terminal experience's pieces, in-process: token shape, the Vault replacement line, where the
// kubeconfig was looked for, the plan layout, the options and the stop control.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkPatShape, looksLikeGithubToken } from '../src/pat-shape.ts'
import { K3S_KUBECONFIG, missingKubeconfig, unreadableKubeconfigFix } from '../src/cluster/kubeconfig-file.ts'
import { parseRunArgs } from '../src/cli-args.ts'
import { StopControl } from '../src/stop.ts'
import { COLOURED, FOLD_LINES, formatPlan, paintFor, PLAIN } from '../src/runner.ts'
import { replacement } from '../tasks/01-vault-token.ts'
import type { Task } from '../src/task.ts'

const alnum = (n: number) => 'aB3'.repeat(n).slice(0, n)

test('token shape: classic (ghp_, gho_, ghu_, ghs_, ghr_ + 36) and fine-grained (github_pat_ 22_59) pass; a typo is refused without echoing it', () => {
  for (const p of ['ghp', 'gho', 'ghu', 'ghs', 'ghr']) assert.ok(looksLikeGithubToken(`${p}_${alnum(36)}`), p)
  assert.ok(looksLikeGithubToken(`github_pat_${alnum(22)}_${alnum(59)}`))
  for (const bad of ['hello123', `ghp_${alnum(35)}`, `ghp_${alnum(37)}`, `ghx_${alnum(36)}`, `github_pat_${alnum(30)}`]) assert.equal(looksLikeGithubToken(bad), false, bad)
  assert.throws(
    () => checkPatShape('hello123', 'the prompt', false),
    (e: Error & { fix?: string }) => /does not look like a GitHub token \(8 characters/.test(e.message) && /nothing was stored/.test(e.message) && /--any-token-shape/.test(e.fix ?? '') && !e.message.includes('hello123'),
  )
  // the explicit override accepts an unusual shape ...
  assert.doesNotThrow(() => checkPatShape('hello123', 'the prompt', true))
  // ... but never a quote, backslash, newline or space, which would break the dockerconfigjson
  // (the same check as GITHUB_PAT in .env gets: src/settings.ts)
  assert.throws(() => checkPatShape(`ghp_${alnum(17)} ${alnum(18)}`, 'the prompt', true), /contains a space or control character/)
  for (const bad of [`ghp_${alnum(35)}"`, `ghp_${alnum(18)}\n${alnum(18)}`, `ghp_${alnum(35)}\\`]) {
    assert.throws(() => checkPatShape(bad, 'GITHUB_PAT', true), /contains (a quote or backslash|a line break), which no GitHub token has/)
    assert.throws(() => checkPatShape(bad, 'GITHUB_PAT', false), /contains (a quote or backslash|a line break), which no GitHub token has/)
  }
})

test('replacing a different value in Vault names the version and when it was written', () => {
  const pat = `ghp_${alnum(36)}`
  assert.equal(replacement(undefined, 'me', pat), undefined)
  assert.equal(replacement({ data: { username: 'me', pat }, version: 2 }, 'me', pat), undefined)
  const line = replacement({ data: { username: 'me', pat: 'other' }, version: 3, createdTime: '2026-11-20T08:15:42.1Z' }, 'me', pat)
  assert.equal(line, 'replaces version 3 written 2026-11-20 08:15 UTC (Vault holds a different token there)')
  assert.match(replacement({ data: { username: 'you', pat }, version: 1 }, 'me', pat) ?? '', /^replaces version 1 \(Vault holds a different username there\)$/)
})

test('no kubeconfig: says where it looked, and points at k3s.yaml when it exists', () => {
  const home = mkdtempSync(join(tmpdir(), 'home-'))
  try {
    const k3s = join(home, 'k3s.yaml')
    const none = missingKubeconfig({ setting: '', env: {}, home, k3sPath: k3s })
    assert.match(none?.message ?? '', new RegExp(`no kubeconfig found: KUBECONFIG is empty \\(in .env and the environment\\) and ${join(home, '.kube', 'config')} does not exist`))
    assert.doesNotMatch(none?.fix ?? '', /k3s/)
    writeFileSync(k3s, 'apiVersion: v1\n')
    // a copy of the user's own, beside (never over) a ~/.kube/config that may hold other clusters
    const copy = join(home, '.kube', 'k3s.yaml')
    assert.equal(
      missingKubeconfig({ setting: '', env: {}, home, k3sPath: k3s })?.fix,
      `this host runs k3s: copy it for your user (mkdir -p ${join(home, '.kube')} && sudo cp ${k3s} ${copy} && sudo chown $USER ${copy}), set KUBECONFIG=${copy} in .env, then rerun; as root, KUBECONFIG=${k3s} works as it is`,
    )
    assert.match(missingKubeconfig({ setting: '/nope/config', env: {}, home, k3sPath: k3s })?.message ?? '', /KUBECONFIG in .env names \/nope\/config, which does not exist/)
    assert.equal(missingKubeconfig({ setting: k3s, env: {}, home }), undefined)
    mkdirSync(join(home, '.kube'))
    writeFileSync(join(home, '.kube', 'config'), 'apiVersion: v1\n')
    assert.equal(missingKubeconfig({ setting: '', env: {}, home }), undefined)
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
})

test('an unreadable kubeconfig: k3s.yaml gets the copy fix, another file a chown, anything else the general fix', () => {
  const denied = (path: string) => Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' })
  assert.equal(
    unreadableKubeconfigFix(denied(K3S_KUBECONFIG), [K3S_KUBECONFIG], '/home/me'),
    `k3s writes it readable by root only: copy it for your user (mkdir -p /home/me/.kube && sudo cp ${K3S_KUBECONFIG} /home/me/.kube/k3s.yaml && sudo chown $USER /home/me/.kube/k3s.yaml), set KUBECONFIG=/home/me/.kube/k3s.yaml in .env, then rerun; as root, KUBECONFIG=${K3S_KUBECONFIG} works as it is`,
  )
  assert.equal(unreadableKubeconfigFix(denied('/srv/kube/lab.yaml'), ['/home/me/.kube/config', '/srv/kube/lab.yaml'], '/home/me'), 'make it readable for your user (sudo chown $USER /srv/kube/lab.yaml), then rerun')
  assert.match(unreadableKubeconfigFix(new Error('bad YAML'), ['/x'], '/home/me'), /^set KUBECONFIG in \.env to a readable kubeconfig \(for k3s: copy it for your user/)
})

test('--dry-run=summary, --dry-run=full and --any-token-shape are options; --dry-run=other is refused', () => {
  const ids = [0, 1, 2]
  assert.equal(parseRunArgs(['--dry-run=summary'], ids).summaryOnly, true)
  assert.equal(parseRunArgs(['--dry-run=summary'], ids).dryRun, true)
  assert.equal(parseRunArgs(['--dry-run'], ids).summaryOnly, false)
  assert.equal(parseRunArgs(['--any-token-shape'], ids).anyTokenShape, true)
  assert.equal(parseRunArgs(['--dry-run=full'], ids).planDetail, 'full')
  assert.throws(() => parseRunArgs(['--dry-run=other'], ids), /--dry-run takes no value but "summary" or "full"/)
})

test('the plan: the diffs first, the summary of every task last; summary only on request', () => {
  const task = (id: number): Task => ({ id, title: `task ${id}`, scope: 'repo', plan: async () => [] })
  const change = (path: string) => ({ summary: `write ${path}`, paths: [path], diff: `--- a/${path}\n+++ b/${path}\n+new line of ${path}`, apply: async () => {} })
  const reports = [
    { task: task(2), status: 'pending' as const, changes: [change('a.yaml'), change('b.yaml')] },
    { task: task(3), status: 'up to date' as const, changes: [] },
    { task: task(5), status: 'pending' as const, changes: [change('c.yaml')] },
  ]
  const full = formatPlan(reports)
  assert.match(full, /Summary: 2 task\(s\) with pending changes, 3 file\(s\) to write/)
  // the summary stays on the screen at the end: every summary line comes after the last diff line
  assert.ok(full.indexOf('Summary:') > full.indexOf('+new line of c.yaml'), full)
  assert.ok(full.includes('+new line of c.yaml'))
  const short = formatPlan(reports, true)
  assert.ok(short.includes('would write c.yaml') && !short.includes('+new line'), short)
})

test('stop control: puts back what was remembered, bounded, and a second stop exits at once', async () => {
  const exits: number[] = []
  const stop = new StopControl((code) => void exits.push(code))
  stop.remember('prune', { putBack: async () => 'restored auto-prune' })
  stop.remember('broken', { putBack: async () => Promise.reject(new Error('API down')) })
  assert.deepEqual(await stop.putBackAll(), ['restored auto-prune', 'broken: could not be put back: API down'])
  assert.deepEqual(await stop.putBackAll(), [])
  let release: () => void = () => {}
  stop.onStop(() => new Promise<number>((r) => (release = () => r(130))))
  const first = stop.stop('SIGINT')
  const origWrite = process.stderr.write
  process.stderr.write = (() => true) as typeof process.stderr.write
  try {
    await stop.stop('SIGTERM')
  } finally {
    process.stderr.write = origWrite
  }
  assert.deepEqual(exits, [143])
  release()
  await first
  assert.deepEqual(exits, [143, 130])
})

test('stop control: the same signal again within a second is one stop (a parent relaying Ctrl-C), not "stopped again"', async () => {
  const exits: number[] = []
  const stop = new StopControl((code) => void exits.push(code))
  let release: () => void = () => {}
  stop.onStop(() => new Promise<number>((r) => (release = () => r(130))))
  const first = stop.stop('SIGINT')
  await stop.stop('SIGINT')
  assert.deepEqual(exits, [], 'the echo did not exit')
  release()
  await first
  assert.deepEqual(exits, [130])
})

test('an idle sandbox controller backs off, and a change wakes it at once', async () => {
  const { ControllerLoop } = await import('../sandbox/actors/loop.ts')
  let cycles = 0
  const loop = new ControllerLoop('test', 5, async () => void cycles++, () => {}, 5000)
  loop.start()
  try {
    await new Promise((r) => setTimeout(r, 400))
    // without the back-off: about 80 cycles (one per 5 ms); with it: 5, 10, 20, 40, 80, 160 ... ms
    assert.ok(cycles > 2 && cycles < 12, `idle cycles in 400 ms: ${cycles}`)
    const before = cycles
    const woken = Date.now()
    loop.wake()
    await loop.nextCycle()
    assert.ok(cycles > before && Date.now() - woken < 300, `a wake ran the next cycle after ${Date.now() - woken} ms`)
  } finally {
    await loop.stop()
  }
})

test('settings typos: unknown names in the file warn with the setting meant, ~ is the home folder, another user\'s ~ is refused', async () => {
  const { loadConfig } = await import('../src/settings.ts')
  const dir = mkdtempSync(join(tmpdir(), 'settings-'))
  try {
    const file = join(dir, 'try.env')
    writeFileSync(file, 'GITOPS_REPO_DIR=~/homelab\nGITHUB_USERNAME=me\nKUBE_CONTEX=sandbox\nSTATEDIR=/tmp/s\nUPDATE_STRATEGIE=semver\nAPP_SQUOOSH_STRATEGIE=semver\nWHATEVER=1\nKUBECONFIG=~/a.yaml:~/b.yaml\n', { mode: 0o600 })
    const config = loadConfig({ envFile: file, cwd: dir, env: { HOME: '/home/op', EDITR: 'vim' } })
    assert.equal(config.settings.gitopsRepoDir, '/home/op/homelab')
    assert.equal(config.settings.kubeconfig, '/home/op/a.yaml:/home/op/b.yaml')
    const said = config.warnings.join('\n')
    assert.match(said, new RegExp(`KUBE_CONTEX in ${file} is not a setting \\(did you mean KUBE_CONTEXT\\?\\); it is ignored`))
    assert.match(said, /STATEDIR in .* \(did you mean STATE_DIR\?\)/)
    assert.match(said, /UPDATE_STRATEGIE in .* \(did you mean UPDATE_STRATEGY\?\)/)
    assert.match(said, /APP_SQUOOSH_STRATEGIE in .* \(did you mean APP_SQUOOSH_STRATEGY\?\)/)
    assert.match(said, /WHATEVER in .* is not a setting this tool reads; it is ignored/)
    assert.doesNotMatch(said, /EDITR/, 'the environment holds much else: only names close to a setting are named')
    assert.doesNotMatch(said, /GITOPS_REPO_DIR|GITHUB_USERNAME/)
    writeFileSync(file, 'GITOPS_REPO_DIR=~op/homelab\nGITHUB_USERNAME=me\n', { mode: 0o600 })
    assert.throws(() => loadConfig({ envFile: file, cwd: dir, env: {} }), (e: Error & { fix: string }) => /GITOPS_REPO_DIR "~op\/homelab" starts with ~op, another user's home folder/.test(e.message) && /set GITOPS_REPO_DIR to the full path/.test(e.fix))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a settings file and the environment naming different kubeconfigs or contexts are refused with both named; the same value in both is fine', async () => {
  const { loadConfig } = await import('../src/settings.ts')
  const dir = mkdtempSync(join(tmpdir(), 'settings-'))
  try {
    const file = join(dir, 'try.env')
    writeFileSync(file, 'GITOPS_REPO_DIR=/r\nGITHUB_USERNAME=me\nKUBECONFIG=/try/kube/kubeconfig\nKUBE_CONTEXT=sandbox\n', { mode: 0o600 })
    assert.throws(
      () => loadConfig({ envFile: file, cwd: dir, env: { KUBECONFIG: '/other/kubeconfig' } }),
      (e: Error & { fix: string }) => e.message === `KUBECONFIG is /other/kubeconfig in the environment but /try/kube/kubeconfig in ${file}: which cluster this run reaches would depend on what the shell exported` && /unset KUBECONFIG/.test(e.fix),
    )
    assert.throws(() => loadConfig({ envFile: file, cwd: dir, env: { KUBE_CONTEXT: 'default' } }), /KUBE_CONTEXT is default in the environment but sandbox in/)
    assert.equal(loadConfig({ envFile: file, cwd: dir, env: { KUBECONFIG: '/try/kube/kubeconfig', KUBE_CONTEXT: 'sandbox' } }).settings.kubeContext, 'sandbox')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an unknown option gets the one meant, taken from the option table (so every option added there is covered)', async () => {
  const { RUN_OPTIONS } = await import('../src/cli-args.ts')
  const known = [0, 1, 2]
  assert.throws(() => parseRunArgs(['--dryrun'], known), (e: Error & { fix: string }) => e.message === 'unknown option --dryrun' && /did you mean --dry-run\?/.test(e.fix))
  assert.throws(() => parseRunArgs(['--swich-cluster'], known), (e: Error & { fix: string }) => /did you mean --switch-cluster\?/.test(e.fix))
  assert.throws(() => parseRunArgs(['--frobnicate'], known), (e: Error & { fix: string }) => e.message === 'unknown option --frobnicate' && e.fix === 'see --help for the options')
  // every option of the table is suggested for a one-letter slip of itself
  for (const name of Object.keys(RUN_OPTIONS)) if (name.length > 3) assert.throws(() => parseRunArgs([`--${name}x`], known), (e: Error & { fix: string }) => e.fix.includes(`did you mean --${name}?`), name)
})

test('the plan folds a long new file to its line count (--dry-run=full prints it), colours +/- lines only where the terminal has colour, and NO_COLOR wins', () => {
  const task = (id: number): Task => ({ id, title: `task ${id}`, scope: 'repo', plan: async () => [] })
  const body = Array.from({ length: FOLD_LINES + 5 }, (_, i) => `+line ${i}`)
  const newFile = { summary: 'create big.md', paths: ['big.md'], diff: ['--- /dev/null', '+++ b/big.md', `@@ -0,0 +1,${body.length} @@`, ...body].join('\n'), apply: async () => {} }
  const small = { summary: 'create small.yaml', paths: ['small.yaml'], diff: ['--- /dev/null', '+++ b/small.yaml', '@@ -0,0 +1,1 @@', '+a: 1'].join('\n'), apply: async () => {} }
  const edit = { summary: 'edit c.yaml', paths: ['c.yaml'], diff: ['--- a/c.yaml', '+++ b/c.yaml', '@@ -1,1 +1,1 @@', '-a: 1', '+a: 2'].join('\n'), apply: async () => {} }
  const gone = { summary: 'delete old.yaml', paths: ['old.yaml'], diff: ['--- a/old.yaml', '+++ /dev/null', `@@ -1,${body.length} +0,0 @@`, ...body.map((l) => `-${l.slice(1)}`)].join('\n'), apply: async () => {} }
  const reports = [{ task: task(0), status: 'pending' as const, changes: [newFile, small, edit, gone] }]
  const folded = formatPlan(reports)
  assert.match(folded, new RegExp(`\\(new file, ${FOLD_LINES + 5} lines; --dry-run=full prints it\\)`))
  assert.doesNotMatch(folded, /\+line 3\b/)
  assert.match(folded, /\+a: 1/, 'a short new file is shown whole')
  assert.match(folded, new RegExp(`\\+\\+\\+ /dev/null\\n {4}\\(deleted, ${FOLD_LINES + 5} lines; --dry-run=full prints them\\)`))
  assert.match(formatPlan(reports, 'full'), new RegExp(`\\+line ${FOLD_LINES + 4}\\b`))
  const coloured = formatPlan(reports, 'folded', COLOURED)
  assert.ok(coloured.includes('\u001b[31m-a: 1\u001b[39m'), coloured)
  assert.ok(coloured.includes('\u001b[32m+a: 2\u001b[39m'), coloured)
  assert.doesNotMatch(folded, /\u001b\[/, 'plain has no escape codes')
  assert.equal(paintFor({ isTTY: true }, { TERM: 'xterm-256color' }), COLOURED)
  assert.equal(paintFor({ isTTY: true }, { TERM: 'xterm-256color', NO_COLOR: '1' }), PLAIN)
  assert.equal(paintFor({ isTTY: true }, { TERM: 'dumb' }), PLAIN)
  assert.equal(paintFor({ isTTY: false }, {}), PLAIN)
})

test('scripts/status.ts and every option the runner gains get the same suggestion (lifecycle\'s --retire, --pause)', async () => {
  const { parseStatusArgs } = await import('../src/status/command.ts')
  assert.throws(() => parseStatusArgs(['--jsn']), (e: Error & { fix: string }) => e.message === 'unknown option --jsn' && /did you mean --json\? \(see npx tsx scripts\/status\.ts --help/.test(e.fix))
  const { RUN_OPTIONS } = await import('../src/cli-args.ts')
  for (const name of ['retire', 'pause'].filter((n) => n in RUN_OPTIONS))
    assert.throws(() => parseRunArgs([`--${name}z`], [0, 1]), (e: Error & { fix: string }) => e.fix.includes(`did you mean --${name}?`), name)
})
