// Command-line options of the runner, parsed without loading anything heavy (so --help and
// --list stay fast).
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from './did-you-mean.ts'
import { SetupError } from './errors.ts'

export interface RunOptions {
  only?: number[]
  skip: number[]
  from?: number
  list: boolean
  dryRun: boolean
  /** --dry-run=summary: the per-task summary without the diffs */
  summaryOnly: boolean
  /** how much of the diffs --dry-run prints: summary, folded (long new files as a line count) or full */
  planDetail: 'summary' | 'folded' | 'full'
  /** accept a GitHub token whose shape is not a known GitHub token's */
  anyTokenShape: boolean
  envFile?: string
  fresh: boolean
  yes: boolean
  offline: boolean
  /** the cluster differs from the one recorded for this GitOps repo, and that is meant */
  switchCluster: boolean
  help: boolean
  /** --app NAME (repeatable): the apps to onboard, as APPS does */
  apps?: string[]
  /** lifecycle commands (src/lifecycle/): undo the setup; stop or restart updates of one app */
  retire?: boolean
  pause?: string
  resume?: string
  /** --retire keeps the GitHub token in Vault */
  keepToken?: boolean
}

export const USAGE = `Usage: npx tsx scripts/run.ts [options]

Runs the Argo CD Image Updater setup plan, tasks 0-9, against GITOPS_REPO_DIR and the cluster.
Every task checks before it acts: a rerun after success changes nothing.

Options:
  --only <ids>      run only these tasks: 5, 2,3 or 2-6
  --skip <ids>      run all but these tasks
  --from <id>       start at this task
  --list            show the tasks and saved progress, then exit
  --dry-run         check everything the run checks, print what would change (the diffs,
                    then a summary), change nothing; asks nothing;
                    exit 0 when nothing is pending, 2 when something is, 1 on error
                    (also when the run would refuse)
  --dry-run=summary the same with the summary only (no diffs)
  --dry-run=full    the same with every diff whole (a long new file is otherwise
                    shown as its line count)
  --env-file <f>    read settings from this file instead of .env (a missing file
                    is reported by Node itself: "node: <f>: not found", exit 9)
  --fresh           forget saved progress and check every task again
  --app <name>      onboard this app of the Directory Application (repeatable; like
                    APPS=a,b; without it APPS, else APP_NAME)
  --yes             do not ask questions (e.g. before replacing a different token stored
                    in Vault); never widens what the setup may touch
  --offline         do not call the GitHub API (token scope and write-back checks skipped)
  --switch-cluster  run against a different cluster than the one this GitOps repo's
                    setup ran against before (a rebuilt or moved cluster)
  --any-token-shape store a GitHub token that does not look like one (ghp_..., github_pat_...)
  --pause <app>     stop Image Updater for this app (its ImageUpdater leaves what Argo CD
                    syncs; the app keeps the tag it runs); --resume <app> brings it back
  --retire          undo the setup: pin the tags last written, remove the ImageUpdaters, the
                    controller, its values and ExternalSecrets, and the token in Vault
                    (--keep-token keeps it); one commit; with --dry-run the plan
  -h, --help        show this help
`

/**
 * Every option of the runner, as node:util parseArgs reads them. Unknown options get the closest of
 * these as a suggestion, and those in REPEATED_OPTIONS travel into every command the run prints.
 */
export const RUN_OPTIONS = {
  only: { type: 'string' },
  skip: { type: 'string' },
  from: { type: 'string' },
  list: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'env-file': { type: 'string' },
  fresh: { type: 'boolean', default: false },
  yes: { type: 'boolean', short: 'y', default: false },
  offline: { type: 'boolean', default: false },
  'switch-cluster': { type: 'boolean', default: false },
  'any-token-shape': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  app: { type: 'string', multiple: true },
  retire: { type: 'boolean', default: false },
  pause: { type: 'string' },
  resume: { type: 'string' },
  'keep-token': { type: 'boolean', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>

/**
 * The options that say which settings, apps and overrides a run uses: a printed command (resume,
 * fix, hint) repeats them, so followed literally it runs against the same repo and cluster. Task
 * selections (--only, --from) and one-time consents (--switch-cluster, --fresh) are not repeated.
 */
export const REPEATED_OPTIONS: ReadonlySet<string> = new Set(['env-file', 'app', 'offline', 'any-token-shape', 'yes'])

/** The arguments of argv that REPEATED_OPTIONS names, as typed (values included). */
export function repeatedArgs(argv: string[]): string[] {
  const out: string[] = []
  const options = RUN_OPTIONS as Record<string, { type: string; short?: string }>
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short).map(([name, o]) => [o.short!, name]))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') break
    const long = /^--([^=]+)(=.*)?$/.exec(arg)
    const name = long ? long[1] : /^-(\w)$/.test(arg) ? byShort.get(arg[1]) : undefined
    if (!name || !options[name]) continue
    const takesValue = options[name].type === 'string' && !long?.[2]
    if (REPEATED_OPTIONS.has(name)) out.push(...(takesValue ? [arg, argv[i + 1]].filter((a) => a !== undefined) : [arg]))
    if (takesValue) i++
  }
  return out
}

/**
 * parseArgs' own messages, with the option meant when one is close ("--dryrun": did you mean
 * --dry-run?), taken from the options given (the runner's RUN_OPTIONS, or another command's).
 */
export function optionError(err: Error & { code?: string }, options: object = RUN_OPTIONS, help = 'see --help for the options'): SetupError {
  const unknown = /^Unknown option '(-{1,2})([^']+)'/.exec(err.message)
  if (unknown) {
    const meant = didYouMean(unknown[2], Object.keys(options))
    return new SetupError(`unknown option ${unknown[1]}${unknown[2]}`, meant ? `did you mean --${meant}? (${help})` : help)
  }
  return new SetupError(err.message, help)
}

/** "5", "2,3", "2-6", "0,2-6" → ids, each checked against the known ones. */
export function parseIds(text: string, known: number[], flag: string): number[] {
  const ids: number[] = []
  const unknown: string[] = []
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) throw new SetupError(`${flag} ${text}: "${part}" is not a task id or range`, `use ids from --list, like ${flag} 5 or ${flag} 2-6`)
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])]
    // a range takes the tasks inside it; a single id must name a task
    const inRange = known.filter((id) => id >= Math.min(a, b) && id <= Math.max(a, b))
    if (inRange.length === 0) unknown.push(part)
    ids.push(...inRange)
  }
  if (unknown.length || ids.length === 0)
    throw new SetupError(`${flag} ${text}: no task ${unknown.join(', ') || 'given'}`, `task ids are ${known.join(', ')} (see --list)`)
  return [...new Set(ids)]
}

export function parseRunArgs(argv: string[], known: number[]): RunOptions {
  let values
  // --dry-run=summary is the one --dry-run with a value; parseArgs wants a flag to be one or the other
  let planDetail = 'folded' as RunOptions['planDetail']
  argv = argv.map((a) => {
    if (!a.startsWith('--dry-run=')) return a
    const value = a.slice('--dry-run='.length)
    if (value !== 'summary' && value !== 'full') throw new SetupError(`${a}: --dry-run takes no value but "summary" or "full"`, 'use --dry-run, --dry-run=summary or --dry-run=full')
    planDetail = value
    return '--dry-run'
  })
  try {
    ;({ values } = parseArgs({ args: argv, strict: true, options: RUN_OPTIONS }))
  } catch (err) {
    throw optionError(err as Error & { code?: string })
  }
  const opts: RunOptions = {
    skip: values.skip ? parseIds(values.skip, known, '--skip') : [],
    list: values.list,
    dryRun: values['dry-run'],
    summaryOnly: planDetail === 'summary',
    planDetail,
    anyTokenShape: values['any-token-shape'],
    envFile: values['env-file'],
    fresh: values.fresh,
    yes: values.yes,
    offline: values.offline,
    switchCluster: values['switch-cluster'],
    help: values.help,
  }
  if (values.app?.length) opts.apps = values.app.flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean)
  if (values.only) opts.only = parseIds(values.only, known, '--only')
  if (values.from !== undefined) opts.from = parseIds(values.from, known, '--from')[0]
  if (opts.only && opts.from !== undefined) throw new SetupError('--only and --from do not go together', 'use one of them')
  const lifecycle = [values.retire && '--retire', values.pause !== undefined && '--pause', values.resume !== undefined && '--resume'].filter((f): f is string => Boolean(f))
  if (lifecycle.length > 1) throw new SetupError(`${lifecycle.join(' and ')} do not go together`, 'use one of them per run')
  if (lifecycle.length && (values.only || values.skip || values.from !== undefined)) throw new SetupError(`${lifecycle[0]} runs on its own, not with --only, --skip or --from`, `drop those: npx tsx scripts/run.ts ${lifecycle[0]}${values.pause ?? values.resume ? ` ${values.pause ?? values.resume}` : ''}`)
  if (values['keep-token'] && !values.retire) throw new SetupError('--keep-token goes with --retire', 'use it as: npx tsx scripts/run.ts --retire --keep-token')
  if (values.retire) opts.retire = true
  if (values.pause !== undefined) opts.pause = values.pause
  if (values.resume !== undefined) opts.resume = values.resume
  if (values['keep-token']) opts.keepToken = true
  return opts
}

export function selectTasks<T extends { id: number }>(tasks: T[], opts: Pick<RunOptions, 'only' | 'skip' | 'from'>): T[] {
  return tasks.filter((t) => (!opts.only || opts.only.includes(t.id)) && !opts.skip.includes(t.id) && (opts.from === undefined || t.id >= opts.from))
}
