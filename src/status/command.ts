// `npx tsx scripts/status.ts` (and `npx just status`): is Image Updater still keeping every app up
// to date, and if not, why. Read-only, no token asked: the same settings and --env-file as the run.
// Exit 0: every app is kept up to date; 1: a problem was found; 2: it cannot tell (the cluster does
// not answer, settings unreadable), with the reason.
import { parseArgs } from 'node:util'
import { optionError } from '../cli-args.ts'
import { resolve } from 'node:path'
import type { Ctx } from '../context.ts'
import { describeError, SetupError } from '../errors.ts'
import { isGitCheckout } from '../git.ts'
import { keepRunReads } from '../run-reads.ts'
import { findEnvFile, PROJECT_DIR } from '../runner.ts'
import { loadConfig } from '../settings.ts'
import { StateStore } from '../state.ts'
import { judge, imageKey, managedImages, splitConstraint, type OutsideFacts, type StatusReport } from './judge.ts'
import { formatStatus } from './format.ts'
import type { ClusterView } from './read.ts'

export const STATUS_USAGE = `Usage: npx tsx scripts/status.ts [options]   (or: npx just status [options])

Tells whether Argo CD Image Updater is still keeping each app up to date, and if not, why: one row
per app (every ImageUpdater in the cluster and the Applications it selects, and every app the setup
onboarded), then each problem with its cause and fix. Reads only; never asks for the token.

Options:
  --env-file <f>  read settings from this file instead of .env (as scripts/run.ts does)
  --json          print the same rows as JSON (for scripts and cron)
  --offline       do not call the GitHub API (the token's expiry and scopes are not checked)
  -h, --help      show this help

Exit status: 0 every app is kept up to date, 1 a problem was found, 2 it cannot tell (the cluster
does not answer, or the settings cannot be read), with the reason.
`

export interface StatusOptions {
  json: boolean
  offline: boolean
  envFile?: string
  help: boolean
}

export function parseStatusArgs(argv: string[]): StatusOptions {
  const options = { json: { type: 'boolean', default: false }, offline: { type: 'boolean', default: false }, 'env-file': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } as const
  try {
    const { values } = parseArgs({ args: argv, strict: true, options })
    return { json: values.json, offline: values.offline, envFile: values['env-file'], help: values.help }
  } catch (err) {
    // a mistyped option gets the one meant (src/cli-args.ts)
    throw optionError(err as Error, options, 'see npx tsx scripts/status.ts --help for the options')
  }
}

/** The context status works in: the run's settings, no secrets asked, every cluster object read once. */
export function statusContext(opts: StatusOptions, cwd: string, env: NodeJS.ProcessEnv): Ctx {
  const { envFile } = findEnvFile(opts, cwd)
  // GITHUB_USERNAME and the token are the run's needs, not status's
  const config = loadConfig({ envFile, cwd, env, requireAll: false })
  const repoDir = config.settings.gitopsRepoDir
  const state = new StateStore(resolve(PROJECT_DIR, config.settings.stateDir), repoDir || resolve(PROJECT_DIR, '.no-gitops-repo'))
  const ctx: Ctx = { settings: config.settings, secrets: { githubPat: () => undefined, vaultToken: () => undefined }, repoDir, projectDir: PROJECT_DIR, dryRun: true, offline: opts.offline, yes: false, log: () => {}, touchedPaths: new Set(), state }
  keepRunReads(ctx)
  return ctx
}

/** Everything status learns outside the cluster objects: the repo's images, the registry, GitHub. */
async function outsideFacts(ctx: Ctx, view: ClusterView, now: number): Promise<OutsideFacts> {
  const onboarded = ctx.repoDir ? ctx.state.onboarded : []
  // the Applications each ImageUpdater selects, with the images it manages (as judge reads them)
  const queries: { app: ClusterView['applications'][number]; images: string[]; pullSecret?: string; iuNs: string; policies: { image: string; strategy?: string; allowTags?: string; constraint?: string; pullSecret?: string }[] }[] = []
  for (const iu of view.imageUpdaters ?? [])
    for (const ref of iu.spec?.applicationRefs ?? [])
      for (const app of view.applications) {
        const pattern = String(ref.namePattern ?? '')
        const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
        if (app.metadata.namespace !== iu.metadata.namespace || !re.test(app.metadata.name) || queries.some((q) => q.app === app)) continue
        const policies = managedImages(iu, ref, app).map((m) => ({ ...m, image: splitConstraint(m.image).image }))
        queries.push({ app, images: policies.map((p) => p.image), iuNs: iu.metadata.namespace ?? '', policies })
      }
  // the Applications whose source in git is read: those selected, and those that hold an ImageUpdater
  const { trackedBy } = await import('../cluster/argo.ts')
  const owners = (view.imageUpdaters ?? []).map((iu) => view.applications.find((a) => a.metadata.name === trackedBy(iu))).filter((a): a is NonNullable<typeof a> => !!a)
  const readGit = async () => {
    if (!ctx.repoDir || !isGitCheckout(ctx.repoDir)) return { git: new Map(), imageUpdaters: new Map(), notes: [`image in git: not read (GITOPS_REPO_DIR ${ctx.repoDir || 'unset'} is not a git checkout)`] }
    const m = await import('./git-images.ts')
    // the onboarded apps too: a paused one's ImageUpdater file stays in its folder, marked
    const onboardedApps = view.applications.filter((a) => onboarded.includes(a.metadata.name))
    const sources: Map<string, import('./git-images.ts').SourceFiles> = await m.readSources(ctx.repoDir, [...new Set([...queries.map((q) => q.app), ...owners, ...onboardedApps])]).catch(() => new Map())
    const notes = [...sources].filter(([, s]) => s.notFetched).map(([app, s]) => `image in git for ${app}: read at ${s.ref}, as the checkout has not fetched ${s.notFetched!.slice(0, 7)}, which Argo CD synced (git -C ${ctx.repoDir} fetch)`)
    return { git: m.gitImages(sources, queries), imageUpdaters: m.gitImageUpdaters(sources, ctx.settings.argocdNamespace), notes }
  }
  const [fromGit, registry, github] = await Promise.all([
    readGit(),
    import('./registry.ts').then((m) => m.newestAllowed(view, queries, now)),
    import('./github-token.ts').then((m) => m.githubTokenFacts(ctx, view)),
  ])
  const git = fromGit.git
  const gitImageUpdaters = fromGit.imageUpdaters
  return { git, gitImageUpdaters, registry, github, onboarded, notes: fromGit.notes ?? [] }
}

export { imageKey }

/** Reads, judges and prints; returns the exit code. */
export async function runStatus(argv: string[], io: { out: (text: string) => void; err: (text: string) => void } = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), now = () => Date.now()): Promise<number> {
  let opts: StatusOptions
  let ctx: Ctx
  try {
    opts = parseStatusArgs(argv)
    if (opts.help) {
      io.out(STATUS_USAGE)
      return 0
    }
    ctx = statusContext(opts, cwd, env)
  } catch (err) {
    io.err(`status: cannot tell: ${describeError(err)}\n`)
    return 2
  }
  let report: StatusReport
  try {
    report = await statusReport(ctx, now())
  } catch (err) {
    if (opts.json) io.out(`${JSON.stringify({ exitCode: 2, cannotTell: err instanceof Error ? err.message : String(err), fix: err instanceof SetupError ? err.fix : undefined }, null, 2)}\n`)
    io.err(`status: cannot tell: ${describeError(err)}\n`)
    return 2
  }
  io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report, now()))
  return report.exitCode
}

/** The report for this context at `now` (tests call it in process, with a later clock). */
export async function statusReport(ctx: Ctx, now: number): Promise<StatusReport> {
  const [{ kube }, { readCluster }] = await Promise.all([import('../cluster/kube.ts'), import('./read.ts')])
  const k = await kube(ctx)
  const view = await readCluster(k)
  const facts = await outsideFacts(ctx, view, now)
  return judge(view, facts, { now, offline: ctx.offline })
}
