// The runner: one list of short titled steps (listr2), each a Task that plans, shows and applies
// its changes. Saved progress lets an interrupted run resume; a lock keeps runs from overlapping.
import { resolve } from 'node:path'
import type { Ctx } from './context.ts'
import { parseRunArgs, selectTasks, USAGE, type RunOptions } from './cli-args.ts'
import { describeError, SetupError } from './errors.ts'
import { verifyWritable } from './files.ts'
import { verifyCommittable, verifyGitCheckout } from './publish.ts'
import { repoFacts } from './repo-facts.ts'
import { forgetRunReads, keepRunReads } from './run-reads.ts'
import { loadConfig, type Secrets } from './settings.ts'
import { acquireLock, StateStore, type ClusterIdentity, type RunBasis } from './state.ts'
import { createHash } from 'node:crypto'
import type { Change, Task } from './task.ts'

export const PROJECT_DIR = resolve(import.meta.dirname, '..')

/** Replaces every secret value in text, so no output path can leak one. */
export function redact(text: string, secrets: Secrets): string {
  let out = text
  for (const secret of [secrets.githubPat(), secrets.vaultToken()]) if (secret && secret.length >= 4) out = out.split(secret).join('***')
  return out
}

interface TaskReport {
  task: Task
  status: 'up to date' | 'changed' | 'pending' | 'resumed' | 'failed' | 'not run'
  changes: Change[]
}

function listTasks(tasks: Task[], state: StateStore | undefined): string {
  const run = state?.run
  const lines = tasks.map((t) => {
    const mark = run?.completed.includes(t.id) ? 'done' : run?.failed?.id === t.id ? 'FAILED' : ''
    return `${String(t.id).padStart(2)}  ${t.title}${mark ? `  [${mark}]` : ''}`
  })
  if (run) {
    lines.push('', `Saved progress: run started ${run.startedAt}, ${run.completed.length} task(s) done${run.failed ? `, task ${run.failed.id} failed: ${run.failed.message}` : ''}.`)
    lines.push('A run without --fresh resumes it.')
  } else lines.push('', 'No run in progress.')
  return `${lines.join('\n')}\n`
}

function formatPlan(reports: TaskReport[]): string {
  const out: string[] = []
  for (const r of reports) {
    if (r.status !== 'pending') continue
    out.push(`\nTask ${r.task.id}: ${r.task.title}`)
    for (const c of r.changes) {
      out.push(`  would ${c.summary}`)
      if (c.diff) out.push(c.diff.replace(/^/gm, '    '))
    }
  }
  return out.join('\n')
}

async function makeContext(opts: RunOptions, cwd: string, env: NodeJS.ProcessEnv): Promise<{ ctx: Ctx; warnings: string[] }> {
  // --app wins over APPS and APP_NAME, as a command-line flag does over the environment
  const config = loadConfig({ envFile: opts.envFile, cwd, env: opts.apps ? { ...env, APPS: opts.apps.join(',') } : env })
  const repoDir = config.settings.gitopsRepoDir
  verifyGitCheckout(repoDir)
  const state = new StateStore(resolve(PROJECT_DIR, config.settings.stateDir), repoDir, opts.fresh && !opts.dryRun)
  const ctx: Ctx = {
    settings: config.settings,
    secrets: config.secrets,
    repoDir,
    projectDir: PROJECT_DIR,
    dryRun: opts.dryRun,
    overlay: opts.dryRun ? new Map() : undefined,
    yes: opts.yes,
    offline: opts.offline,
    switchCluster: opts.switchCluster,
    log: () => {},
    touchedPaths: new Set(),
    state,
  }
  keepRunReads(ctx)
  return { ctx, warnings: config.warnings }
}

function allManagedPaths(ctx: Ctx, tasks: Task[]): string[] {
  return [...new Set(tasks.flatMap((t) => t.managedPaths?.(ctx) ?? []))]
}

/** Runs the CLI; resolves to the exit code (0 ok, 2 dry-run with pending changes, 1 error). */
export async function runCli(argv: string[], tasks: Task[], io: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const cwd = io.cwd ?? process.cwd()
  const env = io.env ?? process.env
  let secrets: Secrets = { githubPat: () => undefined, vaultToken: () => undefined }
  const fail = (err: unknown) => {
    process.stderr.write(`✖ ${redact(describeError(err), secrets)}\n`)
    return 1
  }
  let opts: RunOptions
  try {
    opts = parseRunArgs(argv, tasks.map((t) => t.id))
  } catch (err) {
    return fail(err)
  }
  if (opts.help) {
    process.stdout.write(USAGE)
    return 0
  }
  let ctx: Ctx
  try {
    const made = await makeContext(opts, cwd, env)
    ctx = made.ctx
    secrets = ctx.secrets
    for (const w of made.warnings) process.stderr.write(`! ${w}\n`)
  } catch (err) {
    if (opts.list) {
      process.stdout.write(listTasks(tasks, undefined))
      process.stderr.write(`(no saved progress shown: ${describeError(err).split('\n')[0]})\n`)
      return 0
    }
    return fail(err)
  }
  if (opts.list) {
    process.stdout.write(listTasks(tasks, ctx.state))
    return 0
  }
  const selected = selectTasks(tasks, opts)
  if (selected.length === 0) return fail(new SetupError('no task left to run after --only/--skip/--from', 'see --list for the task ids'))

  let release = () => {}
  try {
    if (!opts.dryRun) {
      const lock = acquireLock(ctx.repoDir, ['run', ...argv].join(' '))
      release = lock.release
      if (lock.note) process.stderr.write(`! ${lock.note}\n`)
    }
    return await runSelected(ctx, selected, tasks, opts)
  } catch (err) {
    return fail(err)
  } finally {
    release()
  }
}

/** Records what planned changes touch; in dry-run also their would-be content for later tasks. */
function notePlanned(ctx: Ctx, changes: Change[]): void {
  for (const c of changes) {
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    if (ctx.dryRun && c.preview) ctx.overlay?.set(c.preview.path, c.preview.content)
  }
}

/**
 * Before anything is written: every selected repo task plans in check mode (so a bad file in task 5
 * stops the run before task 0 writes), and the checkout must be fit for the setup commit.
 */
async function repoPreflight(ctx: Ctx, selected: Task[], managedPaths: string[]): Promise<void> {
  const repoTasks = selected.filter((t) => t.scope === 'repo')
  if (repoTasks.length === 0) return
  await verifyCommittable(ctx, managedPaths, { needsUpstream: selected.some((t) => t.publishes) })
  const check: Ctx = { ...ctx, dryRun: true, touchedPaths: new Set(), overlay: new Map() }
  for (const task of repoTasks) {
    try {
      notePlanned(check, await task.plan(check))
    } catch (err) {
      if (err instanceof SetupError) throw new SetupError(`task ${task.id} (${task.title}): ${err.message}`, `${err.fix} (nothing was changed)`)
      throw err
    }
  }
  // a read-only or immutable file would stop the run after earlier tasks wrote
  verifyWritable(ctx.repoDir, [...check.touchedPaths])
}

/** Settings that do not shape any task's result (where state lives, how long to wait, how to reach the cluster). */
const NOT_SHAPING = new Set(['stateDir', 'kubeconfig', 'kubeContext', 'syncTimeoutSeconds', 'requestTimeoutSeconds'])

/** What finished tasks' results depend on: the shaping settings and the cluster (the last one known). */
function runBasis(ctx: Ctx, cluster: ClusterIdentity | undefined): RunBasis {
  const shaping = Object.entries(ctx.settings).filter(([k]) => !NOT_SHAPING.has(k))
  return { settings: createHash('sha256').update(JSON.stringify(shaping)).digest('hex').slice(0, 16), cluster: cluster?.kubeSystemUid ?? ctx.state.run?.basis?.cluster }
}

/**
 * The unfinished run's progress, judged: repo tasks are re-planned always (cheap, and a plan that
 * finds nothing to do is "up to date"); finished cluster tasks hold only while the settings and
 * the cluster they ran with are the same, and a change drops them all (`stale`), selected or not.
 */
function trustedProgress(ctx: Ctx, allTasks: Task[], selected: Task[], basis: RunBasis, fresh: boolean): { resumed: Set<number>; stale: boolean } {
  const previous = fresh ? undefined : ctx.state.run
  const done = allTasks.filter((t) => previous?.completed.includes(t.id) && t.scope === 'cluster')
  if (!previous || done.length === 0) return { resumed: new Set(), stale: false }
  const changed = previous.basis?.settings !== basis.settings ? 'the settings changed' : basis.cluster !== previous.basis?.cluster ? 'the cluster changed' : ''
  if (changed) {
    process.stderr.write(`Saved progress of the run started ${previous.startedAt} is not reused: ${changed} since tasks ${done.map((t) => t.id).join(', ')} finished; they are checked again\n`)
    return { resumed: new Set(), stale: true }
  }
  const resumed = done.filter((t) => selected.includes(t)).map((t) => t.id)
  if (resumed.length) process.stderr.write(`Resuming the run started ${previous.startedAt} (tasks done: ${resumed.join(', ')}; --fresh starts over)\n`)
  return { resumed: new Set(resumed), stale: false }
}

async function runSelected(ctx: Ctx, selected: Task[], allTasks: Task[], opts: RunOptions): Promise<number> {
  // Settings and the repo files every task builds on, checked once up front so an error names the
  // setting or file rather than whichever task happened to read it first.
  await repoFacts(ctx)
  // Repo tasks are never skipped as done (see trustedProgress): all of them plan before the cluster
  // is even reached, so a bad file stops the run before anything is written.
  if (!opts.dryRun) await repoPreflight(ctx, selected, allManagedPaths(ctx, allTasks))
  // The Kubernetes client costs about a second to load: only runs with a cluster task pay for it.
  // Every such run checks which cluster it reached, and says so before anything is written.
  let cluster: ClusterIdentity | undefined
  if (selected.some((t) => t.scope === 'cluster')) {
    const { clusterPreflight } = await import('./cluster/preflight.ts')
    cluster = await clusterPreflight(ctx)
    process.stderr.write(`Cluster: ${cluster.server} (kube context ${cluster.context}, kube-system uid ${cluster.kubeSystemUid})\n`)
  }
  let resumed = new Set<number>()
  if (!opts.dryRun) {
    const basis = runBasis(ctx, cluster)
    const progress = trustedProgress(ctx, allTasks, selected, basis, opts.fresh)
    resumed = progress.resumed
    await ctx.state.startRun(opts.fresh || progress.stale, basis)
    if (cluster && ctx.state.cluster?.kubeSystemUid !== cluster.kubeSystemUid) await ctx.state.recordCluster(cluster)
  }
  // Prompts cannot share the terminal with the renderer, and late checks would leave half-done work:
  // every task prepares before the first one changes anything.
  for (const task of selected) if (!resumed.has(task.id)) await task.prepare?.(ctx)
  let failure = ''
  // warnings outlive the renderer's task output: printed once it is done, success or failure
  const warnings = new Set<string>()
  ctx.warn = (line) => void warnings.add(redact(line, ctx.secrets))
  const printWarnings = () => {
    if (warnings.size) process.stderr.write(`\n${[...warnings].map((w) => `! ${w}`).join('\n')}\n`)
  }
  const reports: TaskReport[] = selected.map((task) => ({ task, status: 'not run', changes: [] }))
  const { Listr } = await import('listr2')
  const list = new Listr<Ctx, 'default', 'simple'>(
    reports.map((report) => ({
      title: `${report.task.id}  ${report.task.title}`,
      task: async (_c, listrTask) => {
        const { task } = report
        if (resumed.has(task.id)) {
          report.status = 'resumed'
          listrTask.title = `${listrTask.title}: done earlier in this run`
          return
        }
        ctx.log = (line) => {
          listrTask.output = redact(line, ctx.secrets)
        }
        try {
          const changes = await task.plan(ctx)
          report.changes = changes
          notePlanned(ctx, changes)
          if (changes.length === 0) {
            report.status = 'up to date'
            listrTask.title = `${listrTask.title}: up to date`
          } else if (ctx.dryRun) {
            report.status = 'pending'
            listrTask.title = `${listrTask.title}: ${changes.length} change(s) pending`
          } else {
            for (const c of changes) {
              listrTask.output = redact(c.summary, ctx.secrets)
              // reads kept from planning (git status, cluster objects) are stale once anything is written
              forgetRunReads(ctx)
              try {
                await c.apply()
              } finally {
                forgetRunReads(ctx)
              }
            }
            report.status = 'changed'
            listrTask.title = `${listrTask.title}: ${changes.map((c) => c.summary).join('; ')}`
            if (task.scope === 'repo') {
              const left = await task.plan(ctx)
              if (left.length) throw new SetupError(`task ${task.id} did not converge: still pending ${left.map((c) => c.summary).join('; ')}`, 'this is a bug in the setup: report it with the output of --dry-run')
            }
          }
          if (!ctx.dryRun) await ctx.state.taskDone(task.id)
        } catch (err) {
          report.status = 'failed'
          if (!ctx.dryRun) await ctx.state.taskFailed(task.id, redact(describeError(err).split('\n')[0], ctx.secrets))
          // the renderer shows only the cause; the full message with its fix is printed once, after it
          failure = redact(`task ${task.id} (${task.title}): ${describeError(err)}`, ctx.secrets)
          throw new Error(failure.split('\n')[0])
        }
      },
    })),
    {
      renderer: 'default',
      fallbackRenderer: 'simple',
      exitOnError: true,
      rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
      fallbackRendererOptions: { timestamp: undefined },
    },
  )
  try {
    await list.run(ctx)
    printWarnings()
  } catch (err) {
    printWarnings()
    const hint = ctx.dryRun ? '' : '\nFix the cause and run the same command again: finished tasks are not redone.'
    process.stderr.write(`\n✖ ${failure || (err as Error).message}${hint}\n`)
    if (ctx.dryRun) process.stdout.write(`${formatPlan(reports)}\n`)
    return 1
  }
  if (ctx.dryRun) {
    const pending = reports.filter((r) => r.status === 'pending')
    if (pending.length === 0) {
      process.stdout.write('\nNothing to do: everything is up to date.\n')
      return 0
    }
    process.stdout.write(`${redact(formatPlan(reports), ctx.secrets)}\n\n${pending.length} task(s) have pending changes; nothing was changed (dry run).\n`)
    return 2
  }
  await ctx.state.finishRun()
  const changed = reports.filter((r) => r.status === 'changed').length
  process.stdout.write(`\nDone: ${changed} task(s) changed something, ${reports.length - changed} were already up to date.\n`)
  return 0
}
