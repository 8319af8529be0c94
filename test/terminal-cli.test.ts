// What a person meets outside a terminal session too: dry-run refuses what the run refuses, a
// missing kubeconfig is named, partial runs say what is left, the justfile's plan, the env files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sampleFiles } from '../sandbox/sample-repo.ts'
import { findEnvFile } from '../src/runner.ts'
import { pathToFileURL } from 'node:url'
import { fixture, PROJECT, runSetup, snapshot, withCluster } from './helpers.ts'
import { lockFileOf, stateFileOf } from '../src/state.ts'

test('--dry-run refuses, like the run, the user\'s own uncommitted edit in a managed file (exit 1, not a plan)', async () => {
  const fx = fixture()
  try {
    writeFileSync(join(fx.dir, 'argocd/projects/homelab.yaml'), sampleFiles['argocd/projects/homelab.yaml'].replace('Homelab apps', 'My apps'))
    const before = snapshot(fx.dir)
    const dry = await runSetup(['--dry-run', '--only', '0,2-6'], fx.env)
    assert.equal(dry.code, 1, dry.stdout + dry.stderr)
    assert.match(dry.stderr, /uncommitted edits that this setup did not make in argocd\/projects\/homelab\.yaml/)
    assert.deepEqual(snapshot(fx.dir), before)
  } finally {
    fx.cleanup()
  }
})

test('no kubeconfig anywhere: says so and where it looked, instead of an HTTP error from localhost:8080', async () => {
  const fx = fixture()
  const home = mkdtempSync(join(tmpdir(), 'home-'))
  try {
    const dry = await runSetup(['--dry-run', '--only', '1'], { ...fx.env, HOME: home })
    assert.equal(dry.code, 1, dry.stdout + dry.stderr)
    assert.match(dry.stderr, new RegExp(`✖ no kubeconfig found: KUBECONFIG is empty \\(in .env and the environment\\) and ${join(home, '.kube', 'config')} does not exist`))
    assert.match(dry.stderr, /fix: /)
    assert.doesNotMatch(dry.stderr, /localhost:8080|HTTP protocol/)
  } finally {
    rmSync(home, { recursive: true, force: true })
    fx.cleanup()
  }
})

test('--only 5 on a fresh repo says that task 7 commits, pushes and deploys what it wrote; --dry-run=summary has no diffs', async () => {
  const fx = fixture()
  try {
    const summary = await runSetup(['--dry-run=summary', '--only', '5'], fx.env)
    assert.equal(summary.code, 2, summary.stderr)
    assert.match(summary.stdout, /Summary: 1 task\(s\) with pending changes, 2 file\(s\) to write/)
    assert.match(summary.stdout, /would create k8s\/helm\/values\/argocd-image-updater\.yaml/)
    assert.doesNotMatch(summary.stdout, /@@|Diffs:/)
    const only5 = await runSetup(['--only', '5'], fx.env)
    assert.equal(only5.code, 0, only5.stderr)
    assert.match(only5.stdout, /The files written are not committed yet: task 7 \(Commit, push and deploy\) commits, pushes and deploys them: cd \S+ && npx tsx scripts\/run\.ts --from 7/)
  } finally {
    fx.cleanup()
  }
})

/** The fixture's settings as an env file in a folder of its own (the environment then holds none of them). */
function envFileOf(fx: ReturnType<typeof fixture>): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'setup-cwd-'))
  const file = join(dir, 'try.env')
  writeFileSync(file, Object.entries(fx.env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 })
  writeFileSync(join(dir, '.env'), '', { mode: 0o600 })
  return { dir, file }
}

test('npx just plan: pending changes end in success with a line saying so, which repeats the arguments; `only` passes them through', () => {
  const fx = fixture()
  const { dir, file } = envFileOf(fx)
  const env = { PATH: process.env.PATH, HOME: process.env.HOME }
  try {
    const r = spawnSync('npx', ['just', 'plan', '--only', '0', '--env-file', file], { cwd: PROJECT, env, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, new RegExp(`changes are pending: run 'npx just setup --only 0 --env-file ${file}' to apply them`))
    assert.doesNotMatch(r.stderr, /recipe .* failed/)
    const only = spawnSync('npx', ['just', 'only', '0', '--dry-run', '--env-file', file], { cwd: PROJECT, env, encoding: 'utf8' })
    assert.equal(only.status, 2, only.stdout + only.stderr)
    assert.match(only.stdout, /Task 0: Save the plan/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    fx.cleanup()
  }
})

test('a printed command repeats the settings file and apps as typed, and works when followed literally from where it was typed', async () => {
  const fx = fixture()
  const { dir, file } = envFileOf(fx)
  const env = { PATH: process.env.PATH, HOME: process.env.HOME }
  try {
    const only5 = await runSetup(['--only', '5', '--env-file', 'try.env', '--app', 'it-tools'], env, 'scripts/run.ts', dir)
    assert.equal(only5.code, 0, only5.stderr)
    const printed = /commits, pushes and deploys them: (.*)$/m.exec(only5.stdout)?.[1]
    assert.equal(printed, `cd ${PROJECT} && npx tsx scripts/run.ts --env-file ${file} --app it-tools --from 7`)
    // followed literally (with --list, which only reads): the same repo's saved progress
    const followed = spawnSync('bash', ['-c', `${printed} --list`], { cwd: dir, env, encoding: 'utf8' })
    assert.equal(followed.status, 0, followed.stdout + followed.stderr)
    assert.match(followed.stdout, /No run in progress\. The last run finished .*; it changed:\n {2} 5 {2}/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    fx.cleanup()
  }
})

test('.env.example leaves GITHUB_USERNAME to the user; every *.env is ignored by git but the template', () => {
  const example = readFileSync(join(PROJECT, '.env.example'), 'utf8')
  assert.match(example, /^GITHUB_USERNAME=$/m)
  const ignored = (f: string) => spawnSync('git', ['check-ignore', '-q', f], { cwd: PROJECT }).status === 0
  for (const f of ['.env', 'prod.env', '.env.local']) assert.ok(ignored(f), `${f} is ignored`)
  assert.equal(ignored('.env.example'), false)
})

test('.env is looked for in the working directory, then beside the project, and both places are named', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cwd-'))
  const project = mkdtempSync(join(tmpdir(), 'project-'))
  try {
    assert.deepEqual(findEnvFile({}, cwd, project), { envFile: undefined, looked: [join(cwd, '.env'), join(project, '.env')] })
    writeFileSync(join(project, '.env'), 'GITHUB_USERNAME=me\n')
    assert.equal(findEnvFile({}, cwd, project).envFile, join(project, '.env'))
    writeFileSync(join(cwd, '.env'), 'GITHUB_USERNAME=me\n')
    assert.equal(findEnvFile({}, cwd, project).envFile, join(cwd, '.env'))
    assert.equal(findEnvFile({ envFile: 'x.env' }, cwd, project).envFile, 'x.env')
  } finally {
    rmSync(cwd, { recursive: true, force: true })
    rmSync(project, { recursive: true, force: true })
  }
})

test('SIGTERM mid-wait (no terminal): the same clean stop, exit 143, lock released, progress saved', async () => {
  const fx = fixture()
  const cluster = await withCluster(fx)
  // no controllers: task 7's first wait never ends by itself
  await cluster.sandbox.actors.stop()
  const cwd = mkdtempSync(join(tmpdir(), 'setup-cwd-'))
  writeFileSync(join(cwd, '.env'), '', { mode: 0o600 })
  try {
    const tsx = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
    const child = spawn(process.execPath, ['--import', tsx, join(PROJECT, 'scripts', 'run.ts')], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...fx.env, ...cluster.env, SYNC_TIMEOUT_SECONDS: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    let sent = false
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d
        // once: a second stop request exits at once, without the clean stop this test is about
        if (!sent && /waiting for Application argocd\/vault-eso/.test(stdout)) {
          sent = true
          child.kill('SIGTERM')
        }
      })
      child.on('close', (c) => resolve(c))
    })
    assert.equal(code, 143, stdout + stderr)
    assert.match(stderr, /✖ Stopped by SIGTERM during task 7 \(Commit, push and deploy\)\./)
    assert.match(stderr, /auto-prune of Application argocd\/personal-services is still PAUSED/)
    assert.match(stderr, /Resume with: cd \S+ && npx tsx scripts\/run\.ts/)
    assert.equal(existsSync(lockFileOf(fx.dir)), false)
    assert.deepEqual(JSON.parse(readFileSync(stateFileOf(fx.stateDir, fx.dir), 'utf8')).run.failed, { id: 7, message: 'stopped by SIGTERM' })
  } finally {
    rmSync(cwd, { recursive: true, force: true })
    await cluster.stop()
    fx.cleanup()
  }
})

test('an API server that accepts TCP and never speaks TLS: the dry run gives up about 10 s after connecting, without a retry, saying the handshake never came', { timeout: 120_000 }, async () => {
  const fx = fixture()
  const { createServer } = await import('node:net')
  const held: import('node:net').Socket[] = []
  let connections = 0
  let firstConnection = 0
  const server = createServer((socket) => {
    if (connections++ === 0) firstConnection = Date.now()
    held.push(socket)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as import('node:net').AddressInfo).port
  const kubeconfig = join(fx.stateDir, 'kubeconfig')
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: not-a-real-token}}]\ncontexts: [{name: mute, context: {cluster: c, user: u}}]\ncurrent-context: mute\n`, { mode: 0o600 })
  try {
    const dry = await runSetup(['--dry-run', '--only', '1'], { ...fx.env, KUBECONFIG: kubeconfig, GITHUB_PAT: '' })
    // timed from the first connection: starting Node and loading the client is not the API's time
    const seconds = (Date.now() - firstConnection) / 1000
    assert.equal(dry.code, 1, dry.stdout + dry.stderr)
    assert.ok(seconds < 15, `gave up ${seconds}s after connecting: ${dry.stderr}`)
    assert.match(dry.stderr, /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(context mute\) is not reachable: it accepted the connection but did not complete the TLS handshake within 10s/)
    // nothing answered: not retried (the old client tried four times, 30 s each)
    assert.equal(connections, 1, `${connections} connections`)
  } finally {
    for (const s of held) s.destroy()
    server.close()
    fx.cleanup()
  }
})

test('npm install asks nothing about install scripts: every package in the lock file with one is reviewed in allowScripts', () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8'))
  const lock = JSON.parse(readFileSync(join(PROJECT, 'package-lock.json'), 'utf8'))
  const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
    .filter(([, p]) => p.hasInstallScript)
    .map(([path]) => path.replace(/^.*node_modules\//, ''))
  assert.ok(withScripts.includes('esbuild'), 'tsx needs esbuild, whose install script checks its platform binary')
  for (const name of withScripts) assert.equal(typeof pkg.allowScripts?.[name], 'boolean', `${name} has an install script that allowScripts does not cover (npm 11.16+ warns; npm 12 skips it)`)
})
