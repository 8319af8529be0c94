// Shared helpers of the quality proofs: a "world" (a fresh sample GitOps repo with a bare origin and
// an in-process sandbox cluster), the runner as a real child process in its own process group (so a
// SIGKILL takes git and every other child with it, as a power cut would), a snapshot of everything
// the setup owns to compare runs by, a seeded random source, and the docs/QUALITY.md section writer.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startSandbox, type Sandbox } from '../../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../../sandbox/sample-repo.ts'
import { gitDirs, SETUP_LOCK_NAME } from '../../src/git.ts'
import { lockFileOf, stateFileOf } from '../../src/state.ts'

export const PROJECT = resolve(import.meta.dirname, '..', '..')
/** tsx resolved from the project, so the runner child can start in a folder of its own (no stray .env) */
export const TSX_LOADER = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
export const RUN_SCRIPT = join(PROJECT, 'scripts', 'run.ts')
export const USER = 'meirongdev'
export const IMAGE = 'ghcr.io/meirongdev/it-tools'

// ---- seeded randomness (mulberry32): the same seed picks the same points and delays

export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `--name value` from argv, or the fallback. */
export function argValue(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name)
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]
  const eq = argv.find((a) => a.startsWith(`${name}=`))
  return eq ? eq.slice(name.length + 1) : fallback
}

// ---- a world: sample repo + bare origin + sandbox + env file + state dir, all under one temp root

export interface World {
  root: string
  repo: SampleRepo
  sandbox: Sandbox
  stateDir: string
  envFile: string
  /** the made-up GitHub token this world's registry accepts */
  token: string
  /** uids of the it-tools Deployment and Service before the setup ran */
  uidsBefore: { deployment?: string; service?: string }
  cleanup(): Promise<void>
}

export interface WorldOptions {
  controllerDelayMs?: number
  /** extra lines for the env file (KEY=value) */
  env?: Record<string, string>
  prefix?: string
}

const APP_REFS = {
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' },
  service: { apiVersion: 'v1', kind: 'Service', namespace: 'personal-services', name: 'it-tools' },
}

export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), opts.prefix ?? 'proof-world-'))
  liveRoots.add(root)
  let sandbox: Sandbox | undefined
  try {
    const repo = createSampleRepo({}, root)
    mkdirSync(join(root, 'kube'))
    sandbox = await startSandbox({ repoDir: repo.dir, dir: join(root, 'kube'), controllerDelayMs: opts.controllerDelayMs ?? 10 })
    // assembled at run time so no token-shaped literal sits in the repository
    const token = ['ghp', `PROOFONLY${randomBytes(14).toString('hex').slice(0, 27)}`].join('_')
    sandbox.actors.registry.setAuth(USER, token)
    sandbox.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
    const stateDir = join(root, 'state')
    const envFile = join(root, 'setup.env')
    const settings: Record<string, string> = {
      GITOPS_REPO_DIR: repo.dir,
      GITHUB_USERNAME: USER,
      GITHUB_PAT: token,
      GITHUB_API_URL: 'off',
      KUBECONFIG: sandbox.kubeconfigPath,
      KUBE_CONTEXT: sandbox.contextName,
      STATE_DIR: stateDir,
      SYNC_TIMEOUT_SECONDS: '30',
      ...opts.env,
    }
    writeFileSync(envFile, `${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 })
    const sb = sandbox
    const uidsBefore = {
      deployment: sb.store.get(APP_REFS.deployment)?.metadata?.uid as string | undefined,
      service: sb.store.get(APP_REFS.service)?.metadata?.uid as string | undefined,
    }
    const world: World = {
      root,
      repo,
      sandbox: sb,
      stateDir,
      envFile,
      token,
      uidsBefore,
      async cleanup() {
        try {
          await world.sandbox.stop()
        } finally {
          rmSync(root, { recursive: true, force: true })
          liveRoots.delete(root)
        }
      },
    }
    return world
  } catch (err) {
    await sandbox?.stop()
    rmSync(root, { recursive: true, force: true })
    liveRoots.delete(root)
    throw err
  }
}

// ---- the runner as a child process

export interface RunOutcome {
  /** the runner's exit code, or null when it was killed by a signal */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** killed by the proof because it ran past its timeout */
  timedOut: boolean
  /** killed on purpose (kill(), or the killOn rule fired) */
  killed: boolean
  ms: number
  /** stdout lines with their time (ms since spawn, as the proof saw them) */
  lines: { ms: number; text: string }[]
}

export interface RunHandle {
  startedAt: number
  /** SIGKILL to the runner's whole process group (node and any git or other child it started) */
  kill(): void
  /** true while a process of the runner's group is alive */
  groupAlive(): boolean
  done: Promise<RunOutcome>
}

/** Kill the runner as soon as a stdout line matches `line` (then after `delayMs`), or `atMs` after it started. */
export interface KillRule {
  line?: RegExp
  delayMs?: number
  atMs?: number
}

export interface RunOptions {
  args?: string[]
  timeoutMs?: number
  /** called for every complete stdout line, as the proof receives it */
  onLine?(line: string, handle: RunHandle): void
  killOn?: KillRule
  env?: NodeJS.ProcessEnv
}

/**
 * A small plain-Node supervisor between the proof and the runner. The proof's own event loop is busy
 * with the sandbox, so it would notice a line tens of milliseconds late; the supervisor does nothing
 * else, so a kill "right after task 3" lands right after task 3. It starts the runner in a process
 * group of its own, passes its output through, reports on fd 3 (`pid N`, `killed`, `exit CODE SIGNAL`),
 * and SIGKILLs the group when the rule fires or when it gets SIGTERM from the proof.
 */
const SUPERVISOR = `
const { spawn } = require('node:child_process')
const { writeSync } = require('node:fs')
const [pattern, delay, at, ...cmd] = process.argv.slice(1)
const report = (m) => { try { writeSync(3, m + '\\n') } catch {} }
const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
report('pid ' + child.pid)
let killed = false
const kill = () => {
  if (killed) return
  killed = true
  try { process.kill(-child.pid, 'SIGKILL') } catch {}
  report('killed')
}
const re = pattern ? new RegExp(pattern) : null
let armed = false
let buf = ''
child.stdout.on('data', (d) => {
  process.stdout.write(d)
  if (!re || armed) return
  buf += d
  let i
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i)
    buf = buf.slice(i + 1)
    if (re.test(line)) {
      armed = true
      if (Number(delay) > 0) setTimeout(kill, Number(delay))
      else kill()
      return
    }
  }
})
child.stderr.on('data', (d) => process.stderr.write(d))
if (Number(at) >= 0) setTimeout(kill, Number(at))
process.on('SIGTERM', kill)
child.on('close', (code, signal) => {
  report('exit ' + code + ' ' + signal)
  process.exit(0)
})
`

/** Runner process groups still running, killed if the proof exits early, so nothing is left behind. */
const liveGroups = new Set<number>()
process.on('exit', () => {
  for (const pid of liveGroups) killGroup(pid)
})

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Starts `scripts/run.ts --env-file <world's> ...args` the way a user runs it, without a TTY. */
export function startRun(world: World, opts: RunOptions = {}): RunHandle {
  const args = ['--env-file', world.envFile, ...(opts.args ?? [])]
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...opts.env }
  const startedAt = Date.now()
  const rule = opts.killOn ?? {}
  const supervisor = spawn(
    process.execPath,
    ['-e', SUPERVISOR, rule.line?.source ?? '', String(rule.delayMs ?? 0), String(rule.atMs ?? -1), process.execPath, '--import', TSX_LOADER, RUN_SCRIPT, ...args],
    { cwd: world.root, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
  )
  let runnerPid: number | undefined
  let killed = false
  let timedOut = false
  let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null }
  let control = ''
  ;(supervisor.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    control += d
    let i
    while ((i = control.indexOf('\n')) >= 0) {
      const msg = control.slice(0, i)
      control = control.slice(i + 1)
      if (msg.startsWith('pid ')) {
        runnerPid = Number(msg.slice(4))
        liveGroups.add(runnerPid)
      } else if (msg === 'killed') killed = true
      else if (msg.startsWith('exit ')) {
        const [code, signal] = msg.slice(5).split(' ')
        exit = { code: code === 'null' ? null : Number(code), signal: signal === 'null' ? null : (signal as NodeJS.Signals) }
      }
    }
  })
  const handle: RunHandle = {
    startedAt,
    kill() {
      killed = true
      if (runnerPid) killGroup(runnerPid)
      supervisor.kill('SIGTERM')
    },
    groupAlive: () => (runnerPid ? groupAlive(runnerPid) : false),
    done: undefined as unknown as Promise<RunOutcome>,
  }
  const lines: RunOutcome['lines'] = []
  let stdout = ''
  let stderr = ''
  let partial = ''
  supervisor.stdout!.on('data', (d: Buffer) => {
    stdout += d
    partial += d
    let i
    while ((i = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, i)
      partial = partial.slice(i + 1)
      lines.push({ ms: Date.now() - startedAt, text })
      opts.onLine?.(text, handle)
    }
  })
  supervisor.stderr!.on('data', (d: Buffer) => (stderr += d))
  const timer = setTimeout(() => {
    timedOut = true
    handle.kill()
  }, opts.timeoutMs ?? 120_000)
  handle.done = new Promise<RunOutcome>((done, fail) => {
    supervisor.on('error', fail)
    supervisor.on('close', () => {
      clearTimeout(timer)
      if (runnerPid && !groupAlive(runnerPid)) liveGroups.delete(runnerPid)
      done({ code: exit.code, signal: exit.signal, stdout, stderr, timedOut, killed, ms: Date.now() - startedAt, lines })
    })
  })
  return handle
}

/** Runs to the end (or the timeout) and returns the outcome. */
export function runToEnd(world: World, opts: RunOptions = {}): Promise<RunOutcome> {
  return startRun(world, opts).done
}

/**
 * Waits (up to `graceMs`) for the runner's process group to be gone, as it must be once the runner
 * exited or was killed (a killed group takes a moment to be reaped); kills what is still there after
 * that. True when something was left.
 */
export async function reapGroup(handle: RunHandle, graceMs = 3000): Promise<boolean> {
  const deadline = Date.now() + graceMs
  while (handle.groupAlive()) {
    if (Date.now() > deadline) {
      handle.kill()
      return true
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return false
}

/** Temp roots of worlds not yet cleaned up, removed if the proof is interrupted. */
const liveRoots = new Set<string>()
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const pid of liveGroups) killGroup(pid)
    for (const root of liveRoots) rmSync(root, { recursive: true, force: true })
    process.exit(130)
  })

// ---- the state of everything the setup owns, as flat key -> value, to compare runs by

export type Snapshot = Record<string, string>

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** JSON with sorted keys, so two equal objects always print the same. */
export function stableJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm)
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]))
    return v
  }
  return JSON.stringify(norm(value))
}

/** Files named like the atomic writer's temp files (`*.tmp-*`) under `dir`, .git excluded. */
export function tempLeftovers(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue
      const abs = join(d, e.name)
      if (e.isDirectory()) walk(abs)
      else if (/\.tmp-/.test(e.name)) out.push(relative(dir, abs))
    }
  }
  walk(dir)
  return out.sort()
}

/** Lock files git left in a checkout's .git (index.lock, ref locks, ...), repo-relative. */
export function gitLockLeftovers(repoDir: string): string[] {
  const out = new Set<string>()
  const walk = (d: string) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const abs = join(d, e.name)
      if (e.isDirectory() && e.name !== 'objects' && e.name !== 'worktrees') walk(abs)
      else if (e.name.endsWith('.lock') && e.name !== SETUP_LOCK_NAME) out.add(relative(repoDir, abs))
    }
  }
  // a bare repo is its own git dir; a checkout's may be elsewhere (a linked worktree's .git is a file)
  const dirs = gitDirs(repoDir) ?? { gitDir: repoDir, commonDir: repoDir }
  walk(dirs.gitDir)
  walk(dirs.commonDir)
  return [...out].sort()
}

/**
 * Turns the world's checkout into a linked worktree of another clone (which has another branch
 * checked out), at the same path: `.git` becomes a file, the index and HEAD live in
 * `<clone>/.git/worktrees/<name>`, refs in the clone's git dir.
 */
export function toLinkedWorktree(world: World): void {
  const primary = join(world.root, 'primary')
  git(world.root, 'clone', '-q', world.repo.origin, primary)
  git(primary, 'config', 'user.name', 'homelab')
  git(primary, 'config', 'user.email', 'homelab@example.com')
  git(primary, 'switch', '-q', '-c', 'parking')
  rmSync(world.repo.dir, { recursive: true, force: true })
  git(primary, 'worktree', 'add', '-q', world.repo.dir, 'main')
}

function treeFiles(gitDir: string, rev: string, prefix: string, snap: Snapshot): void {
  for (const line of git(gitDir, 'ls-tree', '-r', rev).split('\n').filter(Boolean)) {
    const [meta, path] = line.split('\t')
    snap[`${prefix} ${path}`] = meta.split(' ')[2]
  }
}

const CLUSTER_KINDS = [
  { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', part: 'spec' },
  { apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', part: 'spec' },
  { apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1', kind: 'ImageUpdater', part: 'spec' },
  { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', part: 'spec' },
] as const

/**
 * What an uninterrupted run leaves, without what differs between two equal runs (commit hashes,
 * uids, times, the world's own token): the GitOps repo's trees and commit subjects (local and
 * origin), leftovers, the cluster objects the setup owns, the Secrets' types and keys, the it-tools
 * workload's uids compared with before the setup, the controller's log level, Vault's values.
 */
export function snapshotWorld(world: World): Snapshot {
  const snap: Snapshot = {}
  const { dir, origin } = world.repo
  const branch = 'main'
  treeFiles(origin, branch, 'origin:main', snap)
  snap['origin:main subjects'] = git(origin, 'log', '--format=%s', branch)
  treeFiles(dir, 'HEAD', 'local:HEAD', snap)
  snap['local:HEAD subjects'] = git(dir, 'log', '--format=%s', 'HEAD')
  snap['local:HEAD = origin:main'] = String(git(dir, 'rev-parse', 'HEAD') === git(origin, 'rev-parse', branch))
  snap['local: git status'] = git(dir, 'status', '--porcelain', '--untracked-files=all')
  snap['local: branch'] = git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')
  snap['local: *.tmp-* files'] = tempLeftovers(dir).join(' ')
  snap['local: git lock files'] = gitLockLeftovers(dir).join(' ')
  snap['origin: git lock files'] = gitLockLeftovers(origin).join(' ')
  snap['state: run lock'] = String(existsSync(lockFileOf(dir)))
  snap['state: *.tmp-* files'] = tempLeftovers(world.stateDir).join(' ')
  let run = 'absent'
  try {
    run = JSON.parse(readFileSync(stateFileOf(world.stateDir, dir), 'utf8')).run ? 'a run in progress' : 'no run in progress'
  } catch {
    run = 'unreadable or absent'
  }
  snap['state: progress'] = run

  const store = world.sandbox.store
  for (const k of CLUSTER_KINDS)
    for (const o of store.list(k.apiVersion, k.kind)) snap[`cluster ${k.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} ${k.part}`] = stableJson(o[k.part])
  for (const name of ['ghcr-pull-secret', 'git-creds']) {
    const s = store.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'argocd', name })
    snap[`cluster Secret argocd/${name}`] = s ? `${s.type} keys=${Object.keys(s.data ?? {}).sort().join(',')}` : 'absent'
  }
  for (const [which, ref] of Object.entries(APP_REFS)) {
    const now = store.get(ref)
    const before = world.uidsBefore[which as keyof World['uidsBefore']]
    snap[`cluster ${ref.kind} ${ref.namespace}/${ref.name} uid`] = !now ? 'deleted' : now.metadata.uid === before ? 'unchanged since before the setup' : 'recreated (new uid)'
  }
  const cm = store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'argocd-image-updater-config' })
  snap['cluster ConfigMap argocd/argocd-image-updater-config log.level'] = String(cm?.data?.['log.level'] ?? 'absent')
  const vault = world.sandbox.actors.vault.read('secret/homelab/github')
  snap['vault secret/homelab/github'] = vault ? stableJson(Object.fromEntries(Object.entries(vault).map(([k, v]) => [k, v === world.token ? '<this world token>' : v]))) : 'absent'
  return snap
}

/** Keys whose values differ, one line each (values shortened). */
export function diffSnapshots(expected: Snapshot, actual: Snapshot, ignore: (key: string) => boolean = () => false): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].filter((k) => !ignore(k)).sort()
  const short = (v: string | undefined) => (v === undefined ? '(missing)' : v.length > 160 ? `${v.slice(0, 160)}…` : v).replace(/\n/g, ' ⏎ ')
  return keys.filter((k) => expected[k] !== actual[k]).map((k) => `${k}: expected ${short(expected[k])} | got ${short(actual[k])}`)
}

// ---- output

/** Rewrites the part of docs/QUALITY.md between `<!-- BEGIN name -->` and `<!-- END name -->`. */
export function replaceQualitySection(name: string, body: string): void {
  const file = join(PROJECT, 'docs', 'QUALITY.md')
  const doc = readFileSync(file, 'utf8')
  const begin = `<!-- BEGIN ${name} -->`
  const end = `<!-- END ${name} -->`
  const a = doc.indexOf(begin)
  const b = doc.indexOf(end)
  if (a < 0 || b < a) throw new Error(`docs/QUALITY.md has no ${begin} ... ${end} section`)
  writeFileSync(file, `${doc.slice(0, a + begin.length)}\n${body.trimEnd()}\n${doc.slice(b)}`)
}

/** "date, machine, command" line for the figures. */
export function provenance(command: string): string {
  const os = `${process.platform} ${process.arch}`
  const cpus = (() => {
    try {
      return `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`
    } catch {
      return 'cores unknown'
    }
  })()
  return `${new Date().toISOString().slice(0, 10)}, ${os}, ${cpus}, Node ${process.version}, \`${command}\``
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/** The stderr lines the runner stops with: `✖ task N (title): cause` and `  fix: ...`. */
export function stopMessage(stderr: string): { cause?: string; fix?: string; stack: boolean } {
  const lines = stderr.split('\n')
  // the last one: the renderer's own "✖ N  title [FAILED: ...]" line comes before the runner's message
  let i = lines.length - 1
  while (i >= 0 && !lines[i].startsWith('✖ ')) i--
  const cause = i >= 0 ? lines[i].slice(2).trim() : undefined
  const fix = lines.slice(Math.max(i, 0)).find((l) => /^\s*fix: /.test(l))?.trim()
  return { cause, fix, stack: /^\s+at .+:\d+:\d+\)?$/m.test(stderr) }
}

/**
 * Turns every fault switch off, pending ones included (the switches have no reset of their own:
 * a 500 or conflict armed but not yet consumed would otherwise hit the next run).
 */
export function clearFaults(sandbox: Sandbox): void {
  sandbox.faults.latencyMs = 0
  sandbox.faults.dropWatchesAfterMs(-1)
  const pending = sandbox.faults as unknown as { failures?: unknown[]; conflicts?: number }
  if (Array.isArray(pending.failures)) pending.failures = []
  if (typeof pending.conflicts === 'number') pending.conflicts = 0
}

/** A commit on origin's branch made from another clone: the remote moved under the checkout. */
export function moveRemote(world: World, file: string, subject: string): void {
  const other = mkdtempSync(join(world.root, 'other-clone-'))
  const g = (...args: string[]) => execFileSync('git', args, { cwd: other, stdio: ['ignore', 'pipe', 'pipe'] })
  g('clone', '-q', world.repo.origin, '.')
  g('config', 'user.name', 'Someone Else')
  g('config', 'user.email', 'someone@example.com')
  mkdirSync(join(other, file, '..'), { recursive: true })
  writeFileSync(join(other, file), 'a change pushed from another clone\n')
  g('add', file)
  g('commit', '-q', '-m', subject)
  g('push', '-q', 'origin', 'HEAD:main')
  rmSync(other, { recursive: true, force: true })
}
