// The terminal as a person sees it: the real CLI in tmux (a TTY, so listr2's default redrawing
// renderer and the hidden prompt), typed at, interrupted and piped, asserting on the captured screen.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fixture, git, PROJECT, runSetup, withCluster } from './helpers.ts'
import { lockFileOf, stateFileOf } from '../src/state.ts'
import { cliCommand, HAVE_TMUX, Terminal } from './tmux.ts'

const skip = HAVE_TMUX ? false : 'tmux is not installed (apt-get install -y tmux)'
const token = () => ['ghp', randomBytes(27).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 36)].join('_')

test('token prompt: asked before the cluster is touched, hidden, and a typo is refused with nothing stored', { skip }, async () => {
  const fx = fixture()
  // no cluster at all: the old order (cluster preflight first) never got to the prompt
  const term = Terminal.start({ ...fx.env, KUBECONFIG: join(fx.root, 'no-such-kubeconfig') })
  try {
    term.run(cliCommand('--only 1'))
    await term.waitFor(/GitHub token for meirongdev \(classic, read:packages and repo; input hidden\): $/m)
    // asked before anything is held or written: no run lock, no saved state while the prompt is up
    assert.equal(existsSync(lockFileOf(fx.dir)), false, 'no run lock while asking')
    assert.deepEqual(readdirSync(fx.stateDir), [], 'nothing saved while asking')
    term.type('hello123')
    term.press('Enter')
    assert.equal(await term.exitCode(), 1)
    const screen = term.screen()
    // started from another folder than the tool's: one line says where to run it
    assert.match(screen, new RegExp(`! started from ${term.dir}; this tool's folder is ${PROJECT}: run it there \\(cd ${PROJECT}\\), as the commands it prints do`))
    assert.match(screen, /✖ the GitHub token from the prompt does not look like a GitHub token \(8 characters, no ghp_\/github_pat_ prefix/)
    assert.match(screen, /nothing was stored/)
    assert.match(screen, /fix: run again and paste the whole token .* add --any-token-shape/)
    assert.doesNotMatch(screen, /hello123/, 'the hidden input is never echoed')
    assert.deepEqual(readdirSync(fx.stateDir), [], 'nothing stored')
    assert.equal(git(fx.dir, 'status', '--porcelain'), '', 'nothing written to the repo')
  } finally {
    term.stop()
    fx.cleanup()
  }
})

test('Ctrl-C or Ctrl-D at the token prompt: one line, exit 130, nothing held', { skip }, async () => {
  const fx = fixture()
  const term = Terminal.start({ ...fx.env, KUBECONFIG: join(fx.root, 'no-such-kubeconfig') })
  try {
    for (const [key, name] of [
      ['C-c', 'Ctrl-C'],
      ['C-d', 'Ctrl-D'],
    ]) {
      term.run(cliCommand('--only 1'))
      await term.waitFor(/input hidden\): $/m)
      assert.equal(existsSync(lockFileOf(fx.dir)), false, 'no run lock while asking')
      term.press(key)
      assert.equal(await term.exitCode(), 130, term.screen())
      // (started from the test's own folder: the one line saying where the tool lives comes first)
      assert.match(term.output(), new RegExp(`^\\n! started from .*\\nGitHub token for .*\\n✖ stopped by ${name} at the question; nothing was changed\\n\\[exit-\\d+ 130\\]\\n`))
    }
    assert.deepEqual(readdirSync(fx.stateDir), [], 'nothing stored')
    assert.equal(git(fx.dir, 'status', '--porcelain'), '', 'nothing written to the repo')
  } finally {
    term.stop()
    fx.cleanup()
  }
})

test('a dry-run piped into head ends quietly (no EPIPE, no stack trace)', { skip }, async () => {
  const fx = fixture()
  const term = Terminal.start(fx.env)
  try {
    // only stdout goes into the pipe: an EPIPE message or a stack trace on stderr would reach the screen
    term.run(`${cliCommand('--dry-run --only 0,2-6')} | head -3; echo "[cli ${'$'}{PIPESTATUS[0]}]"`)
    await term.exitCode()
    const screen = term.screen()
    assert.doesNotMatch(screen, /EPIPE|^\s+at /m, screen)
    // the CLI ended by itself, with the code of a stop by a closed pipe, not a crash
    assert.match(screen, /\[cli 141\]/, screen)
  } finally {
    term.stop()
    fx.cleanup()
  }
})

test('a terminal that reports 0 columns is drawn 80 wide, not one character per line', { skip }, async () => {
  const fx = fixture()
  const term = Terminal.start(fx.env)
  try {
    term.run(`stty cols 0; ${cliCommand('--dry-run --only 0')}`)
    assert.equal(await term.exitCode(), 2)
    assert.match(term.screen(), /↓ 0 {2}Save the plan to docs\/plans: 1 change\(s\) pending/)
  } finally {
    term.stop()
    fx.cleanup()
  }
})

test('Ctrl-C mid-wait in task 7: the counter moves, the wait stops, auto-prune is reported paused with its restore command, progress saved, lock released, exit 130', { skip }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  // no controllers: task 7's first wait (vault-eso Synced at the pushed commit) never ends by itself
  await cluster.sandbox.actors.stop()
  const term = Terminal.start({ ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '300' })
  try {
    term.run(cliCommand(''))
    await term.waitFor(/waiting for Application argocd\/vault-eso synced and healthy at [0-9a-f]{7}/, 120_000)
    // the counter moves while nothing else does (it stood at 0s for minutes once): every 2 s
    const elapsed = () => Number(/synced and healthy at [0-9a-f]{7} \((\d+)s of 300s\)/.exec(term.output())?.[1] ?? -1)
    const first = elapsed()
    await new Promise((r) => setTimeout(r, 4500))
    assert.ok(elapsed() > first, `the counter stood at ${first}s: ${term.output()}`)
    term.press('C-c')
    assert.equal(await term.exitCode(30_000), 130, term.screen())
    const screen = term.screen()
    assert.match(screen, /✖ 7 {2}Commit, push and deploy: stopped \(Ctrl-C\)/)
    assert.match(screen, /✖ Stopped by Ctrl-C during task 7 \(Commit, push and deploy\)\./)
    assert.match(screen, /It was: waiting for Application argocd\/vault-eso/)
    // pushed but not handed over: prune on would delete the app, so it stays paused and says how to restore it
    assert.match(screen, /auto-prune of Application argocd\/personal-services is still PAUSED/)
    assert.match(screen, /kubectl -n argocd patch application personal-services --type merge -p '\{"spec":\{"syncPolicy":\{"automated":\{"prune":true\}\}\}\}'/)
    assert.match(screen, /Progress saved: task\(s\) 0, 1, 2, 3, 4, 5, 6 done; task 7 stopped part-way/)
    // typed from another folder: the command goes there first, and works when followed literally
    assert.match(screen, new RegExp(`Resume with: cd ${PROJECT} && npx tsx scripts/run\\.ts\\s*$`, 'm'))
    assert.equal(existsSync(lockFileOf(fx.dir)), false, 'the lock is released')
    const saved = JSON.parse(readFileSync(stateFileOf(fx.stateDir, fx.dir), 'utf8'))
    assert.deepEqual(saved.run.completed, [0, 1, 2, 3, 4, 5, 6])
    assert.deepEqual(saved.run.failed, { id: 7, message: 'stopped by Ctrl-C' })
    const services = cluster.sandbox.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'personal-services' })
    assert.equal(services?.spec?.syncPolicy?.automated?.prune, false)
  } finally {
    term.stop()
    await cluster.stop()
    fx.cleanup()
  }
})

test('on a terminal: task 8 shows "verified" and its evidence, dry-run never asks (exit 0 once set up), and replacing a different token names the version and asks', { skip }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const env = { ...fx.env, ...cluster.env }
  const term = Terminal.start({ ...env, GITHUB_PAT: '' })
  try {
    const full = await runSetup([], env)
    assert.equal(full.code, 0, full.stdout + full.stderr)

    term.run(cliCommand('--only 8'))
    assert.equal(await term.exitCode(), 0, term.screen())
    let screen = term.screen()
    assert.match(screen, /✔ 8 {2}Verify that Image Updater manages the app: verified \(\d+ checks passed; evidence below\)/)
    assert.match(screen, /Notes:\n {2}\[8\] PASS controller Deployment available/)
    assert.match(screen, /\[8\] PASS ImageUpdater it-tools manages the image/)

    term.run(cliCommand('--dry-run'))
    assert.equal(await term.exitCode(), 0, term.screen())
    screen = term.screen()
    assert.doesNotMatch(screen, /GitHub token for/, 'dry-run never asks')

    // a new token in the environment for this one command: Vault holds another one
    term.run(`GITHUB_PAT=${token()} ${cliCommand('--only 1')}`)
    await term.waitFor(/Replace the token stored in Vault\? \[y\/N\] $/m)
    assert.match(term.screen(), /! secret\/homelab\/github: task 1 replaces version 1 written \d{4}-\d\d-\d\d \d\d:\d\d UTC \(Vault holds a different token there\)/)
    term.type('n')
    term.press('Enter')
    assert.equal(await term.exitCode(), 1)
    assert.match(term.screen(), /✖ kept the token Vault holds at secret\/homelab\/github; nothing was stored/)
    assert.equal(cluster.sandbox.actors.vault.read('secret/homelab/github')?.pat, cluster.token)
  } finally {
    term.stop()
    await cluster.stop()
    fx.cleanup()
  }
})

test('no question once the task list is drawn: task 7\'s push check without GITHUB_PAT says it was skipped, and the summary lists it', { skip }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const env = { ...fx.env, ...cluster.env }
  // a GitHub API that is on (not `off`) but no token: the push check has nothing to ask with
  const term = Terminal.start({ ...env, GITHUB_PAT: '', GITHUB_API_URL: 'http://127.0.0.1:9' })
  try {
    const repoTasks = await runSetup(['--only', '0-6'], env)
    assert.equal(repoTasks.code, 0, repoTasks.stdout + repoTasks.stderr)
    term.run(cliCommand('--only 7'))
    // the old runner asked for the token here, under the redrawn list, and waited forever
    // (task 7 deploys: on a loaded machine it takes minutes)
    const end = await term.waitFor(/GitHub token for|\[exit-\d+ (\d+)\]/, 300_000)
    assert.doesNotMatch(end[0], /GitHub token for/, term.screen())
    assert.equal(Number(end[1]), 0, term.screen())
    assert.match(term.output(), /Checks skipped \(\d+\):\n(?: {2}.*\n)* {2}\[7\] write-back push check skipped: no GITHUB_PAT in this run/)
  } finally {
    term.stop()
    await cluster.stop()
    fx.cleanup()
  }
})

test('a converged rerun and a dry run without GITHUB_PAT ask nothing: Vault holds a token for this user', { skip }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const env = { ...fx.env, ...cluster.env }
  const term = Terminal.start({ ...env, GITHUB_PAT: '' })
  try {
    const full = await runSetup([], env)
    assert.equal(full.code, 0, full.stdout + full.stderr)
    term.run(cliCommand('--dry-run'))
    let end = await term.waitFor(/GitHub token for|\[exit-\d+ (\d+)\]/, 120_000)
    assert.equal(Number(end[1]), 0, term.screen())
    assert.match(term.output(), /Nothing to do: everything is up to date/)
    term.run(cliCommand(''))
    end = await term.waitFor(/GitHub token for|\[exit-\d+ (\d+)\]/, 120_000)
    assert.equal(Number(end[1]), 0, term.screen())
    assert.match(term.output(), /1 {2}Store the GitHub token in Vault: up to date/)
  } finally {
    term.stop()
    await cluster.stop()
    fx.cleanup()
  }
})

test('the dry run on a terminal: pending marked pending (not done), long new files folded, the summary last, colour unless NO_COLOR', { skip }, async () => {
  const fx = fixture()
  const term = Terminal.start(fx.env)
  try {
    term.run(cliCommand('--dry-run --only 0,2'))
    assert.equal(await term.exitCode(), 2, term.screen())
    const out = term.output()
    assert.match(out, /↓ 0 {2}Save the plan to docs\/plans: 1 change\(s\) pending/)
    assert.doesNotMatch(out, /✔ 0 /, 'a pending task is not marked done')
    assert.match(out, /\+\+\+ b\/docs\/plans\/argocd-image-updater\.md\n {4}\(new file, \d{3} lines; --dry-run=full prints it\)/)
    assert.ok(out.split('\n').length < 80, `${out.split('\n').length} lines`)
    // the summary is the last thing on the screen, before the closing line
    assert.match(out, /Summary: 2 task\(s\) with pending changes, 3 file\(s\) to write\n(?:.*\n)*\n2 task\(s\) have pending changes; nothing was changed \(dry run\)\.\n\[exit-\d+ 2\]/)
    assert.doesNotMatch(out.slice(out.indexOf('Summary:')), /^ {4}[-+@]/m, 'no diff after the summary')
    assert.match(term.coloured(), /\u001b\[32m/, 'colour on a 256-colour terminal')
    term.run(`NO_COLOR=1 ${cliCommand('--dry-run --only 0,2')}`)
    assert.equal(await term.exitCode(), 2, term.screen())
    term.run('clear')
    await term.exitCode()
    term.run(`NO_COLOR=1 ${cliCommand('--dry-run=full --only 0')}`)
    assert.equal(await term.exitCode(), 2, term.screen())
    assert.doesNotMatch(term.coloured(), /\u001b\[3[1-6]m/, 'NO_COLOR: no colour')
    assert.doesNotMatch(term.output(), /new file, \d+ lines/, '--dry-run=full prints every file whole')
  } finally {
    term.stop()
    fx.cleanup()
  }
})

test('Ctrl-C mid-wait in task 8 under `npx tsx` while the run is busy: the stop report with the resume line, the lock released, exit 130', { skip }, async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  const env = { ...fx.env, ...cluster.env }
  const term = Terminal.start({ ...env, SYNC_TIMEOUT_SECONDS: '300' })
  try {
    const setup = await runSetup(['--only', '0-7'], env)
    assert.equal(setup.code, 0, setup.stdout + setup.stderr)
    // the controller goes unavailable and nothing brings it back: task 8's first check waits
    await cluster.sandbox.actors.stop()
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'argocd', name: 'argocd-image-updater-controller' }
    cluster.sandbox.store.updateStatus(ref, { replicas: 1, availableReplicas: 0, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }] })
    // as `npx tsx scripts/run.ts` runs it: tsx's CLI as the parent, which relays Ctrl-C
    term.run(`node ${join(PROJECT, 'node_modules', 'tsx', 'dist', 'cli.mjs')} ${join(PROJECT, 'scripts', 'run.ts')} --from 8`)
    // the wait says what it waits for, and its counter moves (task 8's checks were silent)
    const waiting = /waiting for Deployment argocd\/argocd-image-updater-controller available \((\d+)s of 300s\)/
    const first = Number((await term.waitFor(waiting, 120_000))[1])
    await new Promise((r) => setTimeout(r, 4500))
    const later = Number(waiting.exec(term.output())?.[1] ?? -1)
    assert.ok(later > first, `the counter stood at ${first}s: ${term.output()}`)
    const holder = JSON.parse(readFileSync(lockFileOf(fx.dir), 'utf8')).pid as number
    // busy at the moment of Ctrl-C (a loaded machine): its event loop cannot answer for a while;
    // tsx's CLI then killed it with SIGKILL, silently, the lock left behind
    process.kill(holder, 'SIGSTOP')
    term.press('C-c')
    await new Promise((r) => setTimeout(r, 500))
    try {
      process.kill(holder, 'SIGCONT')
    } catch {
      // gone: killed while it could not answer (what tsx's CLI did to the run before)
    }
    assert.equal(await term.exitCode(30_000), 130, term.screen())
    const out = term.output()
    assert.match(out, /✖ Stopped by Ctrl-C during task 8 \(Verify that Image Updater manages the app\)\./)
    assert.match(out, /The run lock is released\./)
    assert.doesNotMatch(out, /stopped again/, 'the relayed Ctrl-C is one stop')
    assert.match(out, /Resume with: cd \S+ && npx tsx scripts\/run\.ts --from 8\s*$/m)
    assert.equal(existsSync(lockFileOf(fx.dir)), false, 'the lock is released')
  } finally {
    term.stop()
    await cluster.stop()
    fx.cleanup()
  }
})
