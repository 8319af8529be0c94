// The runner: one list of short titled steps (listr2), each a Task that plans, shows and applies
// its changes. Saved progress lets an interrupted run resume; a lock keeps runs from overlapping.
// Ctrl-C, SIGTERM and a closed output pipe stop it cleanly (src/stop.ts).
import { existsSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import type { Ctx } from './context.ts'
import { parseRunArgs, repeatedArgs, selectTasks, USAGE, type RunOptions } from './cli-args.ts'
import { describeError, SetupError } from './errors.ts'
import { verifyWritable } from './files.ts'
import { askGithubToken, tokenNeedsAsking } from './github-token.ts'
import { verifyCommittable, verifyGitCheckout } from './publish.ts'
import { repoFacts } from './repo-facts.ts'
import { directoryHint } from './directory-hint.ts'
import { keepRunReads, runReads } from './run-reads.ts'
import { loadConfig, type Secrets } from './settings.ts'
import { acquireLock, contentHash, StateStore, type ClusterIdentity, type RunBasis } from './state.ts'
import { canAsk, closeQuestions, reopenQuestions } from './token-prompt.ts'
import { STOP_EXIT_CODE, STOP_TEXT, StopControl, StopRequested, type StopCause } from './stop.ts'
import type { Change, Task } from './task.ts'
import { guardStreams, redrawingTerminal } from './terminal-io.ts'

export const PROJECT_DIR = resolve(import.meta.dirname, '..')

/** Replaces every secret value in text, so no output path can leak one. */
export function redact(text: string, secrets: Secrets): string {
  let out = text
  for (const secret of [secrets.githubPat(), secrets.vaultToken()]) if (secret && secret.length >= 4) out = out.split(secret).join('***')
  return out
}

interface TaskReport {
  task: Task
  status: 'up to date' | 'changed' | 'verified' | 'pending' | 'resumed' | 'failed' | 'not run'
  changes: Change[]
  /** the last progress line (what a wait is waiting for), for the message when the task stops */
  lastLine?: string
}

/** A note for the person, kept for the summary after the list. */
interface Note {
  taskId?: number
  line: string
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
  } else if (state?.lastRun) {
    const last = state.lastRun
    lines.push('', `No run in progress. The last run finished ${last.finishedAt} (started ${last.startedAt}); ${last.changed.length ? 'it changed:' : 'it changed nothing (everything was up to date).'}`)
    for (const c of last.changed) lines.push(`  ${String(c.id).padStart(2)}  ${c.what}`)
  } else lines.push('', 'No run in progress.')
  return `${lines.join('\n')}\n`
}

/** How much of the diffs a dry run prints: `summary` none, `folded` (the default) long new files as a line count, `full` all. */
export type PlanDetail = 'summary' | 'folded' | 'full'

/** A new or deleted file longer than this is folded to its line count unless --dry-run=full. */
export const FOLD_LINES = 20

/** Colours for the plan; `plain` when the terminal has none or NO_COLOR is set. */
export interface Paint {
  added(s: string): string
  removed(s: string): string
  hunk(s: string): string
  heading(s: string): string
  pending(s: string): string
}
const ansi = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`
export const PLAIN: Paint = { added: (s) => s, removed: (s) => s, hunk: (s) => s, heading: (s) => s, pending: (s) => s }
export const COLOURED: Paint = { added: ansi(32, 39), removed: ansi(31, 39), hunk: ansi(36, 39), heading: ansi(1, 22), pending: ansi(33, 39) }

/** Colour only on a terminal that is not `dumb`, and never with NO_COLOR set (https://no-color.org); FORCE_COLOR forces it. */
export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  if (env.NO_COLOR) return PLAIN
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return COLOURED
  return stream.isTTY && env.TERM !== 'dumb' ? COLOURED : PLAIN
}

/** One diff for the plan: a long new file folded to its line count (unless `full`), +/- lines coloured. */
function shownDiff(diff: string, detail: PlanDetail, paint: Paint): string {
  const lines = diff.split('\n')
  const added = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length
  const removed = lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length
  const folded = (line: string) => [...lines.slice(0, 2).map(paint.heading), line].map((l) => `    ${l}`).join('\n')
  if (detail !== 'full' && lines[0] === '--- /dev/null' && added > FOLD_LINES) return folded(paint.added(`(new file, ${added} lines; --dry-run=full prints it)`))
  if (detail !== 'full' && lines[1] === '+++ /dev/null' && removed > FOLD_LINES) return folded(paint.removed(`(deleted, ${removed} lines; --dry-run=full prints them)`))
  return lines
    .map((l) => (l.startsWith('+++') || l.startsWith('---') ? paint.heading(l) : l.startsWith('+') ? paint.added(l) : l.startsWith('-') ? paint.removed(l) : l.startsWith('@@') ? paint.hunk(l) : l))
    .map((l) => `    ${l}`)
    .join('\n')
}

/**
 * The plan as text: the diffs first (unless `summary`), then a summary of every pending task, so
 * the summary is what stays on the screen at the end.
 */
export function formatPlan(reports: TaskReport[], detail: PlanDetail | boolean = 'folded', paint: Paint = PLAIN): string {
  if (typeof detail === 'boolean') detail = detail ? 'summary' : 'folded'
  const pending = reports.filter((r) => r.status === 'pending')
  if (pending.length === 0) return ''
  const out: string[] = []
  if (detail !== 'summary' && pending.some((r) => r.changes.some((c) => c.diff))) {
    out.push(paint.heading('\nDiffs:'))
    for (const r of pending)
      for (const c of r.changes) {
        if (!c.diff) continue
        out.push(`\n${paint.heading(`Task ${r.task.id}: ${c.summary}`)}`)
        out.push(shownDiff(c.diff, detail, paint))
      }
  }
  const files = new Set(pending.flatMap((r) => r.changes.flatMap((c) => c.paths ?? [])))
  out.push(paint.heading(`\nSummary: ${pending.length} task(s) with pending changes, ${files.size} file(s) to write`))
  for (const r of pending) {
    out.push(`\n${paint.pending(`Task ${r.task.id}: ${r.task.title}`)}`)
    for (const c of r.changes) out.push(`  would ${c.summary}`)
  }
  return out.join('\n')
}

/** The .env to read: --env-file, else .env in the working directory, else beside this project. */
export function findEnvFile(opts: Pick<RunOptions, 'envFile'>, cwd: string, projectDir = PROJECT_DIR): { envFile?: string; looked: string[] } {
  if (opts.envFile) return { envFile: opts.envFile, looked: [resolve(cwd, opts.envFile)] }
  const looked = [...new Set([resolve(cwd, '.env'), resolve(projectDir, '.env')])]
  return { envFile: looked.find((f) => existsSync(f)), looked }
}

async function makeContext(opts: RunOptions, cwd: string, env: NodeJS.ProcessEnv, stop: StopControl): Promise<{ ctx: Ctx; warnings: string[] }> {
  const { envFile, looked } = findEnvFile(opts, cwd)
  let config
  try {
    // --app wins over APPS and APP_NAME, as a command-line flag does over the environment
    config = loadConfig({ envFile, cwd, env: opts.apps ? { ...env, APPS: opts.apps.join(',') } : env })
  } catch (err) {
    if (err instanceof SetupError && !envFile && /^missing setting/.test(err.message))
      throw new SetupError(`${err.message} (no .env found: looked in ${looked.join(' and ')})`, `${err.fix}; to start a .env: cp ${resolve(PROJECT_DIR, '.env.example')} ${looked[0]}`)
    throw err
  }
  const warnings = [...config.warnings]
  // said only when it is not the obvious place: the .env beside the project, run from elsewhere
  if (config.envFile && !opts.envFile && config.envFile !== resolve(cwd, '.env')) warnings.push(`settings from ${config.envFile} (no .env in ${cwd})`)
  const repoDir = config.settings.gitopsRepoDir
  verifyGitCheckout(repoDir)
  // the plan's Directory app absent, the one the repo has (src/directory-hint.ts); a repo the model
  // cannot read gets no hint here, and its error where the run reads it
  const hint = await directoryHint({ settings: config.settings, repoDir }).catch(() => undefined)
  if (hint) warnings.push(hint.why)
  const settings = hint?.settings ?? config.settings
  const state = new StateStore(resolve(PROJECT_DIR, settings.stateDir), repoDir, opts.fresh && !opts.dryRun)
  const ctx: Ctx = {
    settings,
    secrets: config.secrets,
    repoDir,
    projectDir: PROJECT_DIR,
    dryRun: opts.dryRun,
    overlay: opts.dryRun ? new Map() : undefined,
    pendingTasks: opts.dryRun ? [] : undefined,
    yes: opts.yes,
    offline: opts.offline,
    switchCluster: opts.switchCluster,
    anyTokenShape: opts.anyTokenShape,
    log: () => {},
    touchedPaths: new Set(),
    state,
    stop,
  }
  keepRunReads(ctx)
  return { ctx, warnings }
}

function allManagedPaths(ctx: Ctx, tasks: Task[]): string[] {
  return [...new Set(tasks.flatMap((t) => t.managedPaths?.(ctx) ?? []))]
}

const quoteArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)

/** How commands the run prints begin: the script from where the person stands. */
const PLAIN_RERUN = 'npx tsx scripts/run.ts'

/**
 * The commands this run prints, as typed: `resume` repeats every argument, `rerun` (which replaces
 * PLAIN_RERUN in every line the run prints) the settings file, apps and overrides. From another
 * folder than this project they begin with a cd into it (npx finds tsx there), the settings file
 * made absolute, so either works when followed literally from where it was typed.
 */
export function invocation(argv: string[], cwd: string, script = process.argv[1]): { resume: string; rerun: string } {
  const away = resolve(cwd) !== PROJECT_DIR
  const args = away ? argv.map((a, i) => (argv[i - 1] === '--env-file' ? resolve(cwd, a) : a.startsWith('--env-file=') ? `--env-file=${resolve(cwd, a.slice(11))}` : a)) : argv
  const inProject = script ? relative(PROJECT_DIR, script) : ''
  const own = inProject && !inProject.startsWith('..') && !isAbsolute(inProject) ? inProject : 'scripts/run.ts'
  const start = (file: string) => `${away ? `cd ${quoteArg(PROJECT_DIR)} && ` : ''}npx tsx ${quoteArg(file)}`
  return { resume: [start(own), ...args.map(quoteArg)].join(' '), rerun: [start('scripts/run.ts'), ...repeatedArgs(args).map(quoteArg)].join(' ') }
}

/** A line for the person: secrets redacted, every printed command repeating what was typed. */
function shown(ctx: Pick<Ctx, 'secrets' | 'rerun'>, text: string): string {
  const out = redact(text, ctx.secrets)
  return ctx.rerun ? out.split(PLAIN_RERUN).join(ctx.rerun) : out
}

async function runCliUntilDone(argv: string[], tasks: Task[], io: { cwd?: string; env?: NodeJS.ProcessEnv }, cliDone: Promise<number>): Promise<number> {
  const cwd = io.cwd ?? process.cwd()
  const env = io.env ?? process.env
  const stop = new StopControl()
  // Until the run holds anything, stopping has nothing to put back or save.
  stop.onStop(async (cause) => {
    process.stderr.write(`\n✖ stopped by ${STOP_TEXT[cause]} before any task ran; nothing was changed\n`)
    return STOP_EXIT_CODE[cause]
  })
  stop.listen()
  guardStreams(() => void stop.stop('EPIPE'))
  let secrets: Secrets = { githubPat: () => undefined, vaultToken: () => undefined }
  const commands = invocation(argv, cwd)
  const fail = (err: unknown) => {
    if (err instanceof StopRequested) {
      process.stderr.write(`✖ stopped by ${STOP_TEXT[err.cause]} at the question; nothing was changed\n`)
      return STOP_EXIT_CODE[err.cause]
    }
    process.stderr.write(`✖ ${shown({ secrets, rerun: commands.rerun }, describeError(err))}\n`)
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
    const made = await makeContext(opts, cwd, env, stop)
    ctx = made.ctx
    ctx.rerun = commands.rerun
    secrets = ctx.secrets
    for (const w of made.warnings) process.stderr.write(`! ${w}\n`)
    // `npx tsx scripts/run.ts` works only here (elsewhere npx finds no tsx, tsx no script): said to a
    // person at a terminal who started it from another folder (the printed commands cd there too)
    if (resolve(cwd) !== PROJECT_DIR && process.stderr.isTTY) process.stderr.write(`! started from ${cwd}; this tool's folder is ${PROJECT_DIR}: run it there (cd ${PROJECT_DIR}), as the commands it prints do\n`)
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
    // On a repo whose setup never reached a cluster, the token is asked first, before anything
    // heavy loads (a token pasted early would be echoed). Later runs leave it to task 1, which asks
    // only when Vault does not hold a token for this user yet (a converged rerun asks nothing).
    const resumedIds = opts.dryRun || opts.fresh ? [] : (ctx.state.run?.completed ?? [])
    // (without a terminal task 1 says so itself, after the checks that name bad settings)
    const lifecycle = opts.retire || opts.pause !== undefined || opts.resume !== undefined
    if (!lifecycle && !ctx.state.cluster && selected.some((t) => t.id === 1 && !resumedIds.includes(1)) && tokenNeedsAsking(ctx) && canAsk()) {
      await askGithubToken(ctx)
      secrets = ctx.secrets
    }
    if (!opts.dryRun) {
      const lock = acquireLock(ctx.repoDir, ['run', ...argv].join(' '))
      release = lock.release
      if (lock.note) process.stderr.write(`! ${lock.note}\n`)
      stop.onStop(async (cause) => {
        release()
        process.stderr.write(`\n✖ stopped by ${STOP_TEXT[cause]} before any task ran; nothing was changed, the lock is released\n`)
        return STOP_EXIT_CODE[cause]
      })
    }
    // --retire, --pause, --resume: src/lifecycle/
    if (lifecycle) return await (await import('./lifecycle/index.ts')).runLifecycle(ctx, { retire: Boolean(opts.retire), pause: opts.pause, resume: opts.resume, keepToken: Boolean(opts.keepToken), summaryOnly: opts.summaryOnly, release })
    return await runSelected(ctx, selected, tasks, opts, commands.resume, cliDone)
  } catch (err) {
    return fail(err)
  } finally {
    release()
  }
}

/** Runs the CLI; resolves to the exit code (0 ok, 2 dry-run with pending changes, 1 error, 130/143 stopped). */
export async function runCli(argv: string[], tasks: Task[], io: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  let done: (code: number) => void = () => {}
  const cliDone = new Promise<number>((r) => (done = r))
  const code = await runCliUntilDone(argv, tasks, io, cliDone)
  done(code)
  return code
}

/** Records what planned changes touch; in dry-run also their would-be content for later tasks. */
function notePlanned(ctx: Ctx, changes: Change[]): void {
  for (const c of changes) {
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    if (ctx.dryRun && c.preview) ctx.overlay?.set(c.preview.path, c.preview.content)
  }
}

/**
 * Before anything is written: the checkout must be fit for the setup commit (dry-run checks this too,
 * so it refuses what the run would refuse), and every selected repo task plans in check mode (so a
 * bad file in task 5 stops the run before task 0 writes; dry-run plans them all anyway).
 */
async function repoPreflight(ctx: Ctx, selected: Task[], managedPaths: string[]): Promise<void> {
  const repoTasks = selected.filter((t) => t.scope === 'repo')
  if (repoTasks.length === 0) return
  await verifyCommittable(ctx, managedPaths, { needsUpstream: selected.some((t) => t.publishes) })
  if (ctx.dryRun) return
  const check: Ctx = { ...ctx, dryRun: true, touchedPaths: new Set(), overlay: new Map() }
  for (const task of repoTasks) {
    try {
      notePlanned(check, await task.plan(check))
    } catch (err) {
      if (err instanceof SetupError) throw new SetupError(`task ${task.id} (${task.title}): ${err.message}`, `${err.fix} (nothing was changed)`)
      throw err
    }
  }
  // never push a repo that does not render: refused here, before the first write
  const { renderGate } = await import('./repo-model/render-gate.ts')
  await renderGate(check, check.touchedPaths, { when: 'nothing was changed' })
  // a read-only or immutable file would stop the run after earlier tasks wrote
  verifyWritable(ctx.repoDir, [...check.touchedPaths])
}

/** A line that says a safety check did not run ("token scope check skipped (--offline)"). */
const SKIPPED_CHECK = /\bchecks? (?:\w+ )?skipped\b/i

/** Settings that do not shape any task's result (where state lives, how long to wait, how to reach the cluster). */
const NOT_SHAPING = new Set(['stateDir', 'kubeconfig', 'kubeContext', 'syncTimeoutSeconds', 'requestTimeoutSeconds'])

/** What finished tasks' results depend on: the shaping settings and the cluster (the last one known). */
function runBasis(ctx: Ctx, cluster: ClusterIdentity | undefined): RunBasis {
  const shaping = Object.entries(ctx.settings).filter(([k]) => !NOT_SHAPING.has(k))
  return { settings: contentHash(JSON.stringify(shaping)).slice(0, 16), cluster: cluster?.kubeSystemUid ?? ctx.state.run?.basis?.cluster }
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

/** What the repo model found for each app of the run, as the repo is before the run (src/repo-model/report.ts). */
async function dryRunFound(ctx: Ctx): Promise<string> {
  try {
    const [{ foundReport }, { appNames }] = await Promise.all([import('./repo-model/report.ts'), import('./apps.ts')])
    return redact(await foundReport({ ...ctx, overlay: undefined }, appNames(ctx.settings)), ctx.secrets)
  } catch (err) {
    return `Found in the repo: not read (${describeError(err).split('\n')[0]})`
  }
}

/** `cliDone` resolves once the CLI has finished (lock released): a stop mid-list exits after it. */
async function runSelected(ctx: Ctx, selected: Task[], allTasks: Task[], opts: RunOptions, resumeCommand: string, cliDone: Promise<number>): Promise<number> {
  // Settings and the repo files every task builds on, checked once up front so an error names the
  // setting or file rather than whichever task happened to read it first.
  await repoFacts(ctx)
  // Repo tasks are never skipped as done (see trustedProgress): all of them plan before the cluster
  // is even reached, so a bad file stops the run before anything is written. A dry run checks the
  // checkout too, so it refuses what the run would refuse.
  await repoPreflight(ctx, selected, allManagedPaths(ctx, allTasks))
  // The Kubernetes client costs about a second to load: only runs with a cluster task pay for it.
  // Every such run checks which cluster it reached, and says so before anything is written.
  let cluster: ClusterIdentity | undefined
  if (selected.some((t) => t.scope === 'cluster')) {
    const { missingKubeconfig } = await import('./cluster/kubeconfig-file.ts')
    const noConfig = missingKubeconfig({ setting: ctx.settings.kubeconfig })
    if (noConfig) throw noConfig
    const { clusterPreflight } = await import('./cluster/preflight.ts')
    cluster = await clusterPreflight(ctx)
    process.stderr.write(`Cluster: ${cluster.server} (kube context ${cluster.context}, kube-system uid ${cluster.kubeSystemUid})\n`)
  }
  let resumed = new Set<number>()
  // tasks of the unfinished run that changed something (its summary and --list say so)
  let changedEarlier = new Set<number>()
  if (!opts.dryRun) {
    const basis = runBasis(ctx, cluster)
    const progress = trustedProgress(ctx, allTasks, selected, basis, opts.fresh)
    resumed = progress.resumed
    if (!opts.fresh && !progress.stale) changedEarlier = new Set(ctx.state.run?.changed ?? [])
    await ctx.state.startRun(opts.fresh || progress.stale, basis)
    if (cluster && ctx.state.cluster?.kubeSystemUid !== cluster.kubeSystemUid) await ctx.state.recordCluster(cluster)
  }
  const notes: Note[] = []
  let inList: { taskId: number; show(line: string): void } | undefined
  // Every safety check that did not run, and why, is listed after the list on every renderer
  // (the redrawing one drops task output): any line that says a check was skipped counts.
  const skippedChecks = new Map<string, number | undefined>()
  const noteSkipped = (taskId: number | undefined, line: string) => {
    for (const part of line.split('; ')) if (SKIPPED_CHECK.test(part)) skippedChecks.set(part, taskId)
  }
  const printSkipped = () => {
    if (skippedChecks.size === 0) return
    process.stdout.write(`\nChecks skipped (${skippedChecks.size}):\n`)
    for (const [line, taskId] of skippedChecks) process.stdout.write(`  ${taskId === undefined ? '' : `[${taskId}] `}${line}\n`)
  }
  ctx.note = (line) => {
    const text = shown(ctx, line)
    noteSkipped(inList?.taskId, text)
    notes.push({ taskId: inList?.taskId, line: text })
    if (inList) inList.show(text)
    else process.stderr.write(`! ${text}\n`)
  }
  // Prompts cannot share the terminal with the renderer, and late checks would leave half-done work:
  // every task prepares before the first one changes anything.
  for (const task of selected) if (!resumed.has(task.id)) await task.prepare?.(ctx)
  let failure = ''
  // warnings outlive the renderer's task output: printed once it is done, success or failure
  const warnings = new Set<string>()
  ctx.warn = (line) => void warnings.add(shown(ctx, line))
  const printWarnings = () => {
    if (warnings.size) process.stderr.write(`\n${[...warnings].map((w) => `! ${w}`).join('\n')}\n`)
  }
  const reports: TaskReport[] = selected.map((task) => ({ task, status: 'not run', changes: [] }))
  let current: TaskReport | undefined
  // a stop request makes the running task's await fail at once (the wait itself is abandoned)
  let stopCause: StopCause | undefined
  let interrupt: (err: Error) => void = () => {}
  const interrupted = new Promise<never>((_, reject) => (interrupt = reject))
  interrupted.catch(() => {})
  ctx.stop?.onStop(async (cause) => {
    stopCause = cause
    interrupt(new StopRequested(cause))
    return cliDone
  })
  const fancy = redrawingTerminal()
  ctx.liveProgress = fancy
  const { Listr } = await import('listr2')
  const list = new Listr<Ctx, 'default' | 'simple', 'simple'>(
    reports.map((report) => ({
      title: `${report.task.id}  ${report.task.title}`,
      task: async (_c, listrTask) => {
        const { task } = report
        current = report
        if (resumed.has(task.id)) {
          report.status = 'resumed'
          listrTask.title = `${listrTask.title}: done earlier in this run${changedEarlier.has(task.id) ? ' (changed something)' : ' (was up to date)'}`
          return
        }
        const show = (line: string) => {
          report.lastLine = line
          listrTask.output = line
        }
        ctx.log = (line) => {
          const text = shown(ctx, line)
          noteSkipped(task.id, text)
          show(text)
        }
        inList = { taskId: task.id, show }
        const work = async () => {
          const changes = await task.plan(ctx)
          report.changes = changes
          notePlanned(ctx, changes)
          if (changes.length === 0) {
            report.status = task.verifies ? 'verified' : 'up to date'
            const evidence = notes.filter((n) => n.taskId === task.id).length
            listrTask.title = `${listrTask.title}: ${task.verifies ? `verified${evidence ? ` (${evidence} checks passed; evidence below)` : ''}` : 'up to date'}`
          } else if (ctx.dryRun) {
            report.status = 'pending'
            ctx.pendingTasks?.push(task.id)
            // shown as pending (↓), not with the check mark of a task that is done (the plain
            // renderer prints a skip message as "[SKIPPED: ...]": there a line says it)
            const pendingTitle = `${listrTask.title}: ${changes.length} change(s) pending`
            if (fancy) listrTask.skip(pendingTitle)
            else {
              listrTask.output = `${changes.length} change(s) pending (dry run)`
              listrTask.skip()
            }
          } else {
            for (const c of changes) {
              show(shown(ctx, c.summary))
              // reads kept from planning (git status, cluster objects) are stale once anything is
              // written, and an apply that waits polls: it reads fresh throughout
              await runReads(ctx).fresh(() => c.apply())
            }
            report.status = 'changed'
            listrTask.title = `${listrTask.title}: ${changes.map((c) => c.summary).join('; ')}`
            if (task.scope === 'repo') {
              const left = await task.plan(ctx)
              if (left.length) throw new SetupError(`task ${task.id} did not converge: still pending ${left.map((c) => c.summary).join('; ')}`, 'this is a bug in the setup: report it with the output of --dry-run')
            }
          }
          if (!ctx.dryRun) await ctx.state.taskDone(task.id, report.status === 'changed')
        }
        try {
          await Promise.race([work(), interrupted])
        } catch (err) {
          report.status = 'failed'
          if (!ctx.dryRun) await ctx.state.taskFailed(task.id, shown(ctx, describeError(err).split('\n')[0]))
          if (err instanceof StopRequested) {
            listrTask.title = `${listrTask.title}: stopped (${STOP_TEXT[err.cause]})`
            throw err
          }
          // the renderer shows only the cause; the full message with its fix is printed once, after it
          failure = shown(ctx, `task ${task.id} (${task.title}): ${describeError(err)}`)
          throw new Error(failure.split('\n')[0])
        } finally {
          inList = undefined
        }
      },
    })),
    {
      renderer: fancy ? 'default' : 'simple',
      fallbackRenderer: 'simple',
      exitOnError: true,
      // src/stop.ts handles SIGINT (listr2's own handler exits 127 and skips the cleanup)
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
      fallbackRendererOptions: { timestamp: undefined },
    },
  )
  const printNotes = () => {
    // the redrawing renderer drops a task's output lines once it finishes: repeat what matters
    // (notes from before the list went straight to stderr and are still on the screen)
    const fromTasks = notes.filter((n) => n.taskId !== undefined)
    if (!fancy || fromTasks.length === 0) return
    process.stdout.write('\nNotes:\n')
    for (const n of fromTasks) process.stdout.write(`  [${n.taskId}] ${n.line}\n`)
  }
  // from here a question would be drawn over: every one was asked in prepare, or fails with what to set
  closeQuestions()
  try {
    await list.run(ctx)
    printWarnings()
  } catch (err) {
    reopenQuestions()
    printWarnings()
    printNotes()
    printSkipped()
    const putBack = await ctx.stop?.putBackAll() ?? []
    if (stopCause) {
      const code = STOP_EXIT_CODE[stopCause]
      process.stderr.write(stopReport(ctx, reports, current, stopCause, putBack, resumeCommand))
      return code
    }
    const while_ = current?.lastLine ? `\n  (while: ${current.lastLine})` : ''
    const hint = ctx.dryRun ? '' : '\nFix the cause and run the same command again: finished tasks are not redone.'
    process.stderr.write(`\n✖ ${failure || (err as Error).message}${while_}${putBack.map((l) => `\n  ${l}`).join('')}${hint}\n`)
    if (ctx.dryRun) process.stdout.write(`${shown(ctx, formatPlan(reports, opts.planDetail, paintFor(process.stdout)))}\n`)
    return 1
  }
  reopenQuestions()
  // the list is over: a stop now waits for the last lines and the lock's release, then says so
  // (an exit here at once left the lock behind and said nothing)
  ctx.stop?.onStop(async (cause) => {
    await cliDone
    process.stderr.write(`\n✖ stopped by ${STOP_TEXT[cause]} after the last task had finished: the run is complete and the lock is released\n`)
    return STOP_EXIT_CODE[cause]
  })
  printNotes()
  printSkipped()
  if (ctx.dryRun) {
    process.stdout.write(`\n${await dryRunFound(ctx)}\n`)
    // the same render check the run makes before it writes: a plan that would not render is refused
    if (ctx.touchedPaths.size) {
      try {
        const { renderGate } = await import('./repo-model/render-gate.ts')
        process.stdout.write(`${await renderGate(ctx, ctx.touchedPaths, { when: 'nothing was changed (dry run)' })}\n`)
      } catch (err) {
        process.stdout.write(`${shown(ctx, formatPlan(reports, opts.planDetail, paintFor(process.stdout)))}\n`)
        process.stderr.write(`\n✖ ${redact(describeError(err), ctx.secrets)}\n`)
        return 1
      }
    }
    const pending = reports.filter((r) => r.status === 'pending')
    if (pending.length === 0) {
      process.stdout.write('\nNothing to do: everything is up to date.\n')
      return 0
    }
    process.stdout.write(`${shown(ctx, formatPlan(reports, opts.planDetail, paintFor(process.stdout)))}\n\n${pending.length} task(s) have pending changes; nothing was changed (dry run).\n`)
    return 2
  }
  const changed = reports.filter((r) => r.status === 'changed')
  const earlier = reports.filter((r) => r.status === 'resumed')
  await ctx.state.finishRun(
    [
      // finished earlier in this run: skipped now (cluster tasks) or re-planned as up to date (repo tasks)
      ...reports
        .filter((r) => (r.status === 'resumed' || r.status === 'up to date') && changedEarlier.has(r.task.id))
        .map((r) => ({ id: r.task.id, what: `${r.task.title} (earlier in this run)` })),
      ...changed.map((r) => ({ id: r.task.id, what: r.changes.map((c) => c.summary).join('; ') })),
    ].sort((a, b) => a.id - b.id),
  )
  const verified = reports.filter((r) => r.status === 'verified').length
  const upToDate = reports.length - changed.length - earlier.length - verified
  const parts = [`${changed.length} task(s) changed something`]
  if (earlier.length) parts.push(`${earlier.length} finished earlier in this run (${earlier.filter((r) => changedEarlier.has(r.task.id)).length} of them changed something)`)
  if (verified) parts.push(`${verified} verified`)
  parts.push(`${upToDate} ${upToDate === 1 ? 'was' : 'were'} already up to date`)
  process.stdout.write(`\nDone: ${parts.join(', ')}.\n`)
  const task7 = allTasks.find((t) => t.publishes)
  const wroteFiles = changed.some((r) => r.task.scope === 'repo' && r.changes.some((c) => c.paths?.length))
  if (wroteFiles && task7 && !selected.some((t) => t.publishes))
    process.stdout.write(shown(ctx, `The files written are not committed yet: task ${task7.id} (${task7.title}) commits, pushes and deploys them: ${PLAIN_RERUN} --from ${task7.id}\n`))
  return 0
}

/** What the person needs after a stop: where it stopped, what was put back, what is saved, how to resume. */
function stopReport(ctx: Ctx, reports: TaskReport[], current: TaskReport | undefined, cause: StopCause, putBack: string[], resumeCommand: string): string {
  const lines = [``, `✖ Stopped by ${STOP_TEXT[cause]}${current ? ` during task ${current.task.id} (${current.task.title})` : ''}.`]
  if (current?.lastLine) lines.push(`  It was: ${current.lastLine}`)
  for (const l of putBack) lines.push(`  ${l}`)
  if (ctx.dryRun) lines.push('  Dry run: nothing was changed.')
  else {
    const done = reports.filter((r) => r.status === 'changed' || r.status === 'up to date' || r.status === 'verified' || r.status === 'resumed').map((r) => r.task.id)
    lines.push(`  Progress saved: ${done.length ? `task(s) ${done.join(', ')} done` : 'no task finished'}${current ? `; task ${current.task.id} stopped part-way and checks again before it acts` : ''}. The run lock is released.`)
  }
  lines.push(`Resume with: ${resumeCommand}`)
  return `${lines.join('\n')}\n`
}
