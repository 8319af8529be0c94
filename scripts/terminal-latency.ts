// How soon a failing deploy stops after a state that waiting will not clear appears: a fresh sample
// repo and sandbox, the setup run in process up to the push, a fault switched on, then task 7's
// deploy timed from the moment the sandbox shows the state to the moment the deploy throws.
// Used by test/cluster-waits.test.ts (each rule) and by the benchmark (scripts/bench.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import type { KObject } from '../sandbox/store.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'
import { buildCorpusRepo, type CorpusShape } from '../sandbox/corpus/index.ts'
import type { Ctx } from '../src/context.ts'
import type { Change } from '../src/task.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import { planPublish } from '../src/publish.ts'
import { planDeploy, planPrePush } from '../src/cluster/deploy.ts'
import vaultTask from '../tasks/01-vault-token.ts'
import { REPO_TASKS, commitMessage, managedPaths } from '../tasks/07-commit-and-deploy.ts'

const PROJECT = resolve(import.meta.dirname, '..')

export interface Staged {
  repo: SampleRepo
  sandbox: Sandbox
  ctx: Ctx
  lines: string[]
  cleanup(): Promise<void>
}

export interface StageOptions {
  timeoutSeconds?: number
  /** sample repo files overridden (null: removed) */
  files?: Record<string, string | null>
  /** a corpus repo (sandbox/corpus/) and its settings instead of the sample repo */
  corpus?: CorpusShape
  before?: (sandbox: Sandbox) => Promise<void> | void
  /** 'pre-push': stop once tasks 1-6 ran, before task 7 pauses anything or pushes */
  stopAt?: 'pre-push'
}

/** A sandbox and a checkout where tasks 1-6 ran and the setup commit is pushed: the deploy is next. */
export async function stageDeploy(opts: StageOptions = {}): Promise<Staged> {
  const repo = opts.corpus ? buildCorpusRepo(opts.corpus) : createSampleRepo(opts.files ?? {})
  const stateDir = mkdtempSync(join(tmpdir(), 'waits-state-'))
  const sandbox = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20 })
  const token = ['ghp', `WAITSONLY${Math.random().toString(36).slice(2).padEnd(27, '0')}`].join('_')
  sandbox.actors.registry.setAuth('meirongdev', token)
  const lines: string[] = []
  // the sandbox token is no GitHub token: nothing here asks the real GitHub API
  const { settings, secrets } = loadConfig({
    env: { ...(opts.corpus?.settings ?? {}), GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', GITHUB_PAT: token, KUBECONFIG: sandbox.kubeconfigPath, KUBE_CONTEXT: sandbox.contextName, SYNC_TIMEOUT_SECONDS: String(opts.timeoutSeconds ?? 60), STATE_DIR: stateDir, GITHUB_API_URL: 'off' },
    cwd: '/nonexistent-dir',
  })
  const ctx = { settings, secrets, repoDir: repo.dir, projectDir: PROJECT, dryRun: false, yes: false, log: (l: string) => lines.push(l), touchedPaths: new Set<string>(), state: new StateStore(stateDir, repo.dir) } as Ctx
  const cleanup = async () => {
    await sandbox.stop()
    rmSync(repo.root, { recursive: true, force: true })
    rmSync(stateDir, { recursive: true, force: true })
  }
  try {
    await opts.before?.(sandbox)
    await applyAll(ctx, await vaultTask.plan(ctx))
    for (const t of REPO_TASKS) await applyAll(ctx, await t.plan(ctx))
    if (opts.stopAt !== 'pre-push') {
      await applyAll(ctx, await planPrePush(ctx))
      await applyAll(ctx, await planPublish(ctx, managedPaths(ctx), commitMessage(ctx)))
    }
  } catch (err) {
    await cleanup()
    throw err
  }
  return { repo, sandbox, ctx, lines, cleanup }
}

export async function applyAll(ctx: Ctx, changes: Change[]): Promise<void> {
  for (const c of changes) {
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    await c.apply()
  }
}

export interface TerminalCase {
  name: string
  /** switches the fault on (before the deploy starts) */
  arm(s: Staged): void
  /** true once the sandbox shows the terminal state */
  appeared(obj: KObject): boolean
}

const waitingReason = (o: KObject) => o.kind === 'Pod' && o.status?.containerStatuses?.some((c: any) => c.state?.waiting?.reason)
const controllerPod = (o: KObject) => o.metadata.namespace === 'argocd' && String(o.metadata.name).startsWith('argocd-image-updater-controller-')

export const TERMINAL_CASES: TerminalCase[] = [
  {
    name: 'ExternalSecret of ours: Vault key missing',
    arm: (s) => s.sandbox.actors.vault.remove(s.ctx.settings.vaultPath),
    appeared: (o) => o.kind === 'ExternalSecret' && o.metadata.namespace === 'argocd' && (o.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'False'),
  },
  {
    name: 'Image Updater pod in ImagePullBackOff',
    arm: (s) => s.sandbox.actors.faults.podWaiting('argocd', 'argocd-image-updater-controller', 'ImagePullBackOff'),
    appeared: (o) => controllerPod(o) && waitingReason(o),
  },
  {
    name: 'Image Updater pod in CrashLoopBackOff',
    arm: (s) => s.sandbox.actors.faults.podWaiting('argocd', 'argocd-image-updater-controller', 'CrashLoopBackOff'),
    appeared: (o) => controllerPod(o) && waitingReason(o),
  },
  {
    name: 'Image Updater pod in CreateContainerConfigError',
    arm: (s) => s.sandbox.actors.faults.podWaiting('argocd', 'argocd-image-updater-controller', 'CreateContainerConfigError'),
    appeared: (o) => controllerPod(o) && waitingReason(o),
  },
  {
    name: 'sync operation Failed (it-tools)',
    arm: (s) => s.sandbox.actors.faults.failSync('it-tools', 'one or more objects failed to apply, reason: admission webhook "policy.example.com" denied the request'),
    appeared: (o) => o.kind === 'Application' && o.metadata.name === 'it-tools' && o.status?.operationState?.phase === 'Failed',
  },
]

export interface Latency {
  /** ms from the state appearing in the sandbox to the deploy throwing */
  afterAppearMs: number
  /** ms from the deploy start to it throwing */
  totalMs: number
  message: string
  fix: string
}

/** Runs the deploy with the fault on and times how soon it fails after the state appears. */
export async function measureTerminal(c: TerminalCase, timeoutSeconds = 60): Promise<Latency> {
  const s = await stageDeploy({ timeoutSeconds })
  let appearedAt: number | undefined
  const unwatch = s.sandbox.store.watch((e) => {
    if (appearedAt === undefined && e.type !== 'DELETED' && c.appeared(e.object)) appearedAt = performance.now()
  })
  try {
    c.arm(s)
    const started = performance.now()
    let error: (Error & { fix?: string }) | undefined
    try {
      await applyAll(s.ctx, await planDeploy(s.ctx))
    } catch (err) {
      error = err as Error & { fix?: string }
    }
    const ended = performance.now()
    if (!error) throw new Error(`${c.name}: the deploy succeeded`)
    if (appearedAt === undefined) throw new Error(`${c.name}: the state never appeared; the deploy failed with: ${error.message}`)
    return { afterAppearMs: ended - appearedAt, totalMs: ended - started, message: error.message, fix: error.fix ?? '' }
  } finally {
    unwatch()
    await s.cleanup()
  }
}
