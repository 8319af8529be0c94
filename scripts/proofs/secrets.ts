// Proof: the GitHub token and the Vault token never leak. Runs the full setup and its cheap failure
// paths on fresh sandboxes with canary tokens made at run time, then searches every place a secret
// could end up: output, saved progress, project and GitOps files, every git object (also unreachable
// ones), the sandbox's exec command lines and request bodies, and child process command lines
// sampled while the runs went on. Prints each place with its hit count, then `hits: N`.
//
//   npm run proof:secrets            (exit 1 on any hit or failed check)
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import { startSandbox, type Sandbox } from '../../sandbox/index.ts'
import type { Faults } from '../../sandbox/apiserver/stats.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../../sandbox/sample-repo.ts'
import { runSetup, type RunResult } from '../../test/helpers.ts'
import { replaceQualitySection } from './lib.ts'
import { stateFileOf } from '../../src/state.ts'

const PROJECT = resolve(import.meta.dirname, '..', '..')

const USER = 'meirongdev'
const IMAGE = 'ghcr.io/meirongdev/it-tools'

/** A token shaped like the real thing, assembled at run time (no token-shaped literal in the repo). */
function canary(prefix: string, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = randomBytes(length)
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}

const PAT = canary(['ghp', ''].join('_'), 36)
const VAULT_TOKEN = canary(['hvs', ''].join('.'), 24)
/** The token also counts as leaked in the encodings a Secret or an auth header would carry. */
const NEEDLES = [
  PAT,
  VAULT_TOKEN,
  Buffer.from(PAT).toString('base64'),
  Buffer.from(`${USER}:${PAT}`).toString('base64'),
  Buffer.from(VAULT_TOKEN).toString('base64'),
]

function countHits(text: string | Buffer): number {
  const s = typeof text === 'string' ? text : text.toString('latin1')
  let n = 0
  for (const needle of NEEDLES) n += s.split(needle).length - 1
  return n
}

// ---- process command lines, sampled every ~20 ms from a worker thread (never blocked by the runs)

const SAMPLER = `
const { workerData, parentPort } = require('node:worker_threads')
const { readdirSync, readFileSync } = require('node:fs')
const { needles, marker } = workerData
const flag = new Int32Array(workerData.stop)
let samples = 0, hits = 0, ownSamples = 0
const own = new Set()
const ownSeen = new Set()
const leaks = []
while (Atomics.load(flag, 0) === 0) {
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue
    let cmd, ppid
    try {
      cmd = readFileSync('/proc/' + pid + '/cmdline', 'latin1')
      ppid = readFileSync('/proc/' + pid + '/stat', 'latin1').replace(/^.*\\) /s, '').split(' ')[1]
    } catch { continue }
    if (!cmd) continue
    samples++
    // the setup's own processes: a runner (scripts/run.ts) and its descendants
    if (cmd.includes(marker) || own.has(ppid)) {
      own.add(pid)
      ownSamples++
      ownSeen.add(pid + ' ' + cmd.split('\\0').slice(0, 2).join(' '))
    }
    for (const n of needles) if (cmd.includes(n)) { hits++; leaks.push(pid + ': ' + cmd.split('\\0').join(' ').slice(0, 200)) }
  }
  Atomics.wait(flag, 0, 0, 20)
}
const ownList = [...ownSeen]
parentPort.postMessage({ samples, hits, ownSamples, own: ownList.length, git: ownList.filter((s) => /^\\d+ \\S*git /.test(s)).length, leaks })
`

interface SamplerResult {
  samples: number
  hits: number
  ownSamples: number
  own: number
  git: number
  leaks: string[]
}

function startSampler(): { stop(): Promise<SamplerResult> } {
  const stop = new SharedArrayBuffer(4)
  const worker = new Worker(SAMPLER, { eval: true, workerData: { needles: NEEDLES, stop, marker: 'scripts/run.ts' } })
  const result = new Promise<SamplerResult>((done, fail) => {
    worker.once('message', done)
    worker.once('error', fail)
  })
  return {
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1)
      Atomics.notify(new Int32Array(stop), 0)
      const r = await result
      await worker.terminate()
      return r
    },
  }
}

// ---- one scenario = a fresh sample repo and sandbox, one or more runs through the real CLI

interface World {
  name: string
  root: string
  repo: SampleRepo
  sandbox: Sandbox
  stateDir: string
  envFile: string
}

interface Run {
  label: string
  expect: 'ok' | 'fail'
  result: RunResult
}

async function makeWorld(name: string, settings: Record<string, string> = {}): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), `proof-secrets-${name}-`))
  const repo = createSampleRepo({}, root)
  const sandbox = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 10 })
  sandbox.actors.registry.setAuth(USER, PAT)
  sandbox.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
  const stateDir = join(root, 'state')
  // the user's own settings file holds the secrets (owner-only), outside every place searched
  const cfg = join(root, 'config')
  mkdirSync(cfg, { mode: 0o700 })
  const envFile = join(cfg, 'setup.env')
  const all: Record<string, string> = {
    GITOPS_REPO_DIR: repo.dir,
    GITHUB_USERNAME: USER,
    GITHUB_PAT: PAT,
    GITHUB_API_URL: 'off',
    KUBECONFIG: sandbox.kubeconfigPath,
    KUBE_CONTEXT: sandbox.contextName,
    STATE_DIR: stateDir,
    SYNC_TIMEOUT_SECONDS: '30',
    ...settings,
  }
  writeFileSync(envFile, Object.entries(all).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 })
  return { name, root, repo, sandbox, stateDir, envFile }
}

function run(w: World, label: string, expect: Run['expect'], args: string[] = []): Promise<Run> {
  return runSetup(['--env-file', w.envFile, ...args], {}).then((result) => ({ label: `${w.name}: ${label}`, expect, result }))
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 })
}

/** Every file under dir (skipping node_modules), as [path, bytes]. */
function* walk(dir: string, skip: (name: string) => boolean = (n) => n === 'node_modules'): Generator<[string, Buffer]> {
  if (!existsSync(dir)) return
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue
    const p = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(p, skip)
    else if (entry.isFile()) yield [p, readFileSync(p)]
  }
}

interface Place {
  place: string
  searched: string
  hits: number
}

function searchFiles(place: string, dirs: string[], skip?: (name: string) => boolean): Place {
  let files = 0
  let bytes = 0
  let hits = 0
  for (const d of dirs)
    for (const [, content] of walk(d, skip)) {
      files++
      bytes += content.length
      hits += countHits(content)
    }
  return { place, searched: `${files} files, ${(bytes / 1024).toFixed(0)} KiB`, hits }
}

/** Every object of a repository, reachable or not, decompressed; and what fsck finds dangling. */
function searchGitObjects(place: string, repos: string[]): Place {
  let objects = 0
  let hits = 0
  let dangling = 0
  for (const r of repos) {
    const all = git(r, 'cat-file', '--batch-all-objects', '--batch')
    objects += (all.match(/^[0-9a-f]{40} (?:blob|tree|commit|tag) \d+$/gm) ?? []).length
    hits += countHits(all)
    const fsck = git(r, 'fsck', '--lost-found', '--no-progress', '--unreachable')
    dangling += fsck.split('\n').filter((l) => /^(unreachable|dangling) /.test(l)).length
    hits += countHits(fsck)
    const gitDir = git(r, 'rev-parse', '--git-dir').trim()
    const lost = join(resolve(r, gitDir), 'lost-found')
    for (const [, content] of walk(lost)) hits += countHits(content)
  }
  return { place, searched: `${objects} objects (${dangling} unreachable or dangling, written out by fsck --lost-found)`, hits }
}

/** The exec command lines and request bodies the sandbox recorded. */
function searchSandbox(worlds: World[]): Place[] {
  let commands = 0
  let commandHits = 0
  let bodies = 0
  let bodyHits = 0
  for (const w of worlds) {
    const s = w.sandbox.stats()
    commands += s.execCommands.length
    commandHits += s.execCommands.reduce((n, c) => n + countHits(c.join(' ')), 0)
    // The Vault write carries the token on the exec stream's stdin, which is not a request body:
    // every recorded body is searched.
    bodies += s.requestBodies.length
    bodyHits += s.requestBodies.reduce((n, b) => n + countHits(b), 0)
  }
  return [
    { place: 'sandbox: exec command lines', searched: `${commands} commands`, hits: commandHits },
    { place: 'sandbox: API request bodies', searched: `${bodies} bodies`, hits: bodyHits },
  ]
}

interface Check {
  name: string
  ok: boolean
  detail: string
}

async function main(): Promise<number> {
  const worlds: World[] = []
  const runs: Run[] = []
  const checks: Check[] = []
  const sampler = startSampler()
  let sampled: SamplerResult | undefined
  try {
    // 1. the whole setup, then the converged rerun
    const full = await makeWorld('full')
    worlds.push(full)
    runs.push(await run(full, 'dry run before anything', 'fail', ['--dry-run']))
    runs.push(await run(full, 'full run', 'ok'))
    runs.push(await run(full, 'converged rerun', 'ok'))
    runs.push(await run(full, '--list', 'ok', ['--list']))
    const vaultHolds = full.sandbox.actors.vault.read('secret/homelab/github')?.pat === PAT
    checks.push({ name: 'the token reached Vault', ok: vaultHolds, detail: vaultHolds ? 'secret/homelab/github holds the canary' : 'Vault does not hold the canary' })
    const stateFile = stateFileOf(full.stateDir, full.repo.dir)
    const mode = existsSync(stateFile) ? statSync(stateFile).mode & 0o777 : -1
    checks.push({ name: 'state file owner-only', ok: mode === 0o600, detail: `${relative(full.root, stateFile)} mode ${mode.toString(8)}` })
    const dirMode = existsSync(full.stateDir) ? statSync(full.stateDir).mode & 0o777 : -1
    checks.push({ name: 'state folder owner-only', ok: (dirMode & 0o077) === 0, detail: `state folder mode ${dirMode.toString(8)}` })

    // 2. Vault sealed
    const sealed = await makeWorld('vault-sealed')
    worlds.push(sealed)
    sealed.sandbox.actors.vault.seal()
    runs.push(await run(sealed, 'run with Vault sealed', 'fail'))
    sealed.sandbox.actors.vault.unseal()
    runs.push(await run(sealed, 'resumed after unseal', 'ok'))

    // 3. Vault CLI logged out, no VAULT_TOKEN
    const loggedOut = await makeWorld('vault-logged-out')
    worlds.push(loggedOut)
    loggedOut.sandbox.actors.vault.logout()
    runs.push(await run(loggedOut, 'run with the Vault CLI logged out, no VAULT_TOKEN', 'fail'))

    // 4. logged out, VAULT_TOKEN set (a second canary that Vault accepts): login on stdin
    const withToken = await makeWorld('vault-token', { VAULT_TOKEN })
    worlds.push(withToken)
    withToken.sandbox.actors.vault.login(VAULT_TOKEN)
    withToken.sandbox.actors.vault.logout()
    runs.push(await run(withToken, 'dry run with VAULT_TOKEN, logged out', 'fail', ['--dry-run']))
    runs.push(await run(withToken, 'run with VAULT_TOKEN, logged out', 'ok'))
    withToken.sandbox.actors.vault.logout()
    runs.push(await run(withToken, 'rerun with VAULT_TOKEN, logged out again', 'ok'))

    // 5. a rejected push: someone else pushed to origin
    const rejected = await makeWorld('push-rejected')
    worlds.push(rejected)
    const other = join(rejected.root, 'other')
    execFileSync('git', ['clone', '-q', rejected.repo.origin, other])
    writeFileSync(join(other, 'README.md'), '# homelab\n\nchanged elsewhere\n')
    execFileSync('git', ['-C', other, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '-qam', 'elsewhere'])
    execFileSync('git', ['-C', other, 'push', '-q', 'origin', 'main'])
    runs.push(await run(rejected, 'run whose push is rejected', 'fail'))
    execFileSync('git', ['-C', rejected.repo.dir, 'pull', '-q', '--rebase', 'origin', 'main'])
    runs.push(await run(rejected, 'resumed after pull --rebase', 'ok'))

    // 6. API 500s on every Application write and read until the retries give up
    const api500 = await makeWorld('api-500')
    worlds.push(api500)
    api500.sandbox.faults.fail500Next(200, '/namespaces/argocd/applications')
    runs.push(await run(api500, 'run with API 500s on Applications', 'fail'))
    // drain what is left of the injected failures before the resume
    while ((api500.sandbox.faults as Faults).takeFailure('/namespaces/argocd/applications')) {
      /* consume */
    }
    runs.push(await run(api500, 'resumed after the API recovered', 'ok'))

    // 7. bad input (the token is set, the image is not an image reference)
    const bad = await makeWorld('bad-input', { IMAGE: 'ghcr.io/Not An/image:latest' })
    worlds.push(bad)
    runs.push(await run(bad, 'run with an invalid IMAGE', 'fail'))

    // 8. .env readable by others: a warning, and the run still keeps the token out of output
    const loose = await makeWorld('env-readable')
    worlds.push(loose)
    const cwd = join(loose.root, 'cwd')
    mkdirSync(cwd)
    writeFileSync(join(cwd, '.env'), readFileSync(loose.envFile))
    chmodSync(join(cwd, '.env'), 0o644)
    const looseRun = await runSetup(['--dry-run'], {}, 'scripts/run.ts', cwd)
    runs.push({ label: `${loose.name}: dry run with .env mode 644`, expect: 'fail', result: looseRun })
    const warned = /\.env is readable by other users and may hold secrets: run chmod 600/.test(looseRun.stderr)
    checks.push({ name: '.env readable by others warns', ok: warned, detail: warned ? (looseRun.stderr.split('\n').find((l) => l.includes('readable by other users')) ?? '').split(loose.root).join('<tmp>') : 'no warning printed' })
    rmSync(join(cwd, '.env'))
  } finally {
    sampled = await sampler.stop()
  }

  // ---- the search
  const places: Place[] = []
  for (const r of runs) {
    const h = countHits(r.result.stdout) + countHits(r.result.stderr)
    places.push({ place: `output of "${r.label}" (exit ${r.result.code})`, searched: `${r.result.stdout.length + r.result.stderr.length} chars`, hits: h })
    const ok = r.expect === 'ok' ? r.result.code === 0 : r.result.code !== 0
    if (!ok) checks.push({ name: `run "${r.label}" ${r.expect === 'ok' ? 'succeeds' : 'fails'}`, ok: false, detail: `exit ${r.result.code}\n${r.result.stderr.slice(-1500)}` })
  }
  places.push(searchFiles('saved progress (STATE_DIR)', worlds.map((w) => w.stateDir)))
  places.push(searchFiles('project folder (without node_modules)', [PROJECT]))
  places.push(searchFiles('GitOps checkouts and bare origins, every file', worlds.flatMap((w) => [w.repo.dir, w.repo.origin])))
  places.push(searchGitObjects('git objects of checkouts and origins', worlds.flatMap((w) => [w.repo.dir, w.repo.origin])))
  places.push(...searchSandbox(worlds))
  places.push({
    place: 'process command lines (/proc/*/cmdline every ~20 ms)',
    searched: `${sampled.samples} samples of all processes; ${sampled.ownSamples} of the setup's own: ${sampled.own} runner and child processes, ${sampled.git} of them git`,
    hits: sampled.hits,
  })

  for (const w of worlds) await w.sandbox.stop()
  for (const w of worlds) rmSync(w.root, { recursive: true, force: true })

  const total = places.reduce((n, p) => n + p.hits, 0)
  const width = Math.max(...places.map((p) => p.place.length))
  process.stdout.write(`canaries: a GitHub token (ghp_ + 36) and a Vault token, each also searched base64-encoded\n\n`)
  for (const p of places) process.stdout.write(`${p.place.padEnd(width)}  ${String(p.hits).padStart(3)} hits  (${p.searched})\n`)
  if (sampled.leaks.length) process.stdout.write(`\nleaking command lines:\n${sampled.leaks.slice(0, 10).join('\n')}\n`)
  process.stdout.write('\n')
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`)
  const failed = checks.filter((c) => !c.ok).length
  process.stdout.write(`\nhits: ${total}\n`)
  if (failed) process.stdout.write(`${failed} check(s) failed\n`)

  if (total === 0 && failed === 0) {
    const rows = places.map((p) => `| ${p.place.replace(/\|/g, '\\|')} | ${p.searched} | ${p.hits} |`)
    replaceQualitySection(
      'secrets',
      [
        `Run ${new Date().toISOString().slice(0, 10)} by \`npm run proof:secrets\`: ${runs.length} runs of the CLI on ${worlds.length} fresh sandboxes (the full setup and its converged rerun; Vault sealed; the Vault CLI logged out without and with \`VAULT_TOKEN\`; a push rejected because origin moved; API 500s on Applications; an invalid \`IMAGE\`; a dry run with a world-readable \`.env\`). Two canaries made at run time, a GitHub token and a Vault token, are searched raw and base64-encoded (also as \`user:token\`, the dockerconfigjson \`auth\`).`,
        '',
        '| place searched | what | hits |',
        '| --- | --- | --- |',
        ...rows,
        '',
        ...checks.map((c) => `- ${c.name}: ${c.detail}`),
        '',
        `**hits: ${total}**`,
      ].join('\n'),
    )
  }
  return total === 0 && failed === 0 ? 0 : 1
}

process.exitCode = await main()
