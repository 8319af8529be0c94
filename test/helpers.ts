// Test helpers: a sample GitOps repo with a bare origin, and the runner as a real child process.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'

export const PROJECT = resolve(import.meta.dirname, '..')
// tsx resolved from the project, so the child can run in a folder of its own (no stray .env)
const TSX = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

export interface Fixture extends SampleRepo {
  stateDir: string
  env: NodeJS.ProcessEnv
  cleanup(): void
}

export function fixture(overrides: Record<string, string | null> = {}, env: NodeJS.ProcessEnv = {}): Fixture {
  const repo = createSampleRepo(overrides)
  const stateDir = mkdtempSync(join(tmpdir(), 'setup-state-'))
  return {
    ...repo,
    stateDir,
    env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', STATE_DIR: stateDir, GITHUB_API_URL: 'off', ...env },
    cleanup() {
      rmSync(repo.root, { recursive: true, force: true })
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `scripts/run.ts` (or a task file) as users do, without a TTY, in an empty cwd (no .env). */
export function runSetup(args: string[], env: NodeJS.ProcessEnv, script = 'scripts/run.ts', cwd?: string): Promise<RunResult> {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' }
  const dir = cwd ?? mkdtempSync(join(tmpdir(), 'setup-cwd-'))
  // an empty .env in the working directory, read first: a developer's own .env beside the project
  // (which the runner also looks for) never leaks into a test
  if (!cwd) writeFileSync(join(dir, '.env'), '', { mode: 0o600 })
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, join(PROJECT, script), ...args], { cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (!cwd) rmSync(dir, { recursive: true, force: true })
      resolveRun({ code: code ?? -1, stdout, stderr })
    })
  })
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim()
}

/** git output as it is (no trim), for file contents */
export function gitRaw(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' })
}

export function read(dir: string, rel: string): string {
  return readFileSync(join(dir, rel), 'utf8')
}

/** Every tracked and untracked file of the checkout with its content, for "nothing changed" checks. */
export function snapshot(dir: string): Record<string, string> {
  const files = git(dir, 'ls-files', '--cached', '--others', '--exclude-standard').split('\n').filter(Boolean)
  const out: Record<string, string> = {}
  for (const f of files) {
    try {
      out[f] = read(dir, f)
    } catch {
      out[f] = '<missing>'
    }
  }
  out['.git HEAD'] = git(dir, 'rev-parse', 'HEAD')
  out['.git index'] = git(dir, 'diff', '--cached', '--name-status')
  return out
}

/** Lines changed between two texts: [removed, added]. */
export function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n')
  const b = after.split('\n')
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  return { removed: a.slice(start, endA), added: b.slice(start, endB) }
}

export interface Cluster {
  sandbox: import('../sandbox/index.ts').Sandbox
  /** settings that point the runner at the sandbox, with a made-up token */
  env: NodeJS.ProcessEnv
  token: string
  stop(): Promise<void>
}

/** Starts the sandbox cluster in this process for the fixture's repo; the runner child talks to it over HTTP. */
export async function withCluster(fx: Fixture): Promise<Cluster> {
  const { startSandbox } = await import('../sandbox/index.ts')
  const { SAMPLE_IMAGE_TAG } = await import('../sandbox/sample-repo.ts')
  const { randomBytes } = await import('node:crypto')
  const sandbox = await startSandbox({ repoDir: fx.dir, controllerDelayMs: 10 })
  // assembled at run time so no token-shaped literal sits in the repository
  const token = ['ghp', `TESTONLY${randomBytes(14).toString('hex')}`].join('_')
  sandbox.actors.registry.setAuth('meirongdev', token)
  sandbox.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
  return {
    sandbox,
    token,
    env: { KUBECONFIG: sandbox.kubeconfigPath, KUBE_CONTEXT: sandbox.contextName, GITHUB_PAT: token, SYNC_TIMEOUT_SECONDS: '30', GITHUB_API_URL: 'off' },
    stop: () => sandbox.stop(),
  }
}

export interface RawReply {
  status: number
  body: string
  /** The `Warning` headers of the reply (each `299 - "..."`). */
  warnings: string[]
}

/**
 * One HTTPS request to a sandbox's API as a given caller: its admin (the kubeconfig's client
 * certificate), a bearer token, or nobody. The server is always checked against the sandbox's CA,
 * unless `ca` names another one (a client that trusts the wrong CA).
 */
export async function sandboxRequest(
  sb: import('../sandbox/index.ts').Sandbox,
  path: string,
  as: { admin: true } | { token: string } | { anonymous: true },
  opts: { method?: string; ca?: string; body?: string; contentType?: string } = {},
): Promise<RawReply> {
  const { request } = await import('node:https')
  const url = new URL(path, sb.url)
  return new Promise((resolveReply, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca ?? sb.pki.caPem,
        ...('admin' in as ? { cert: sb.pki.client.certPem, key: sb.pki.client.keyPem } : {}),
        headers: {
          accept: 'application/json',
          ...('token' in as ? { authorization: `Bearer ${as.token}` } : {}),
          ...(opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
        },
      },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => {
          const warnings: string[] = []
          for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(res.rawHeaders[i + 1]!)
          resolveReply({ status: res.statusCode ?? 0, body, warnings })
        })
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

/**
 * A task context on a sandbox as the runner builds it: the repo, the sandbox's kubeconfig, a state
 * folder and a token, with the test's own settings on top. Nothing here asks the real GitHub API.
 */
export function sandboxCtx(o: { repoDir: string; kubeconfig: string; stateDir: string; pat: string; env?: Record<string, string>; log?: (line: string) => void }): Ctx {
  const { settings, secrets } = loadConfig({
    env: { GITOPS_REPO_DIR: o.repoDir, GITHUB_USERNAME: 'meirongdev', GITHUB_PAT: o.pat, KUBECONFIG: o.kubeconfig, KUBE_CONTEXT: 'sandbox', SYNC_TIMEOUT_SECONDS: '20', STATE_DIR: o.stateDir, GITHUB_API_URL: 'off', ...o.env },
    cwd: '/nonexistent-dir',
  })
  return { settings, secrets, repoDir: o.repoDir, projectDir: PROJECT, dryRun: false, yes: false, log: o.log ?? (() => {}), touchedPaths: new Set(), state: new StateStore(o.stateDir, o.repoDir) } as Ctx
}

/** Polls `fn` (in-process state, e.g. the sandbox's store) until it gives something; fails naming `what` after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
