// Waiting for one Application the setup touched: watch it (and look again every second, because a
// pod stuck pulling its image changes nothing on the Application), judge it against the snapshot
// taken before the setup's first change, stop at once on a state that waiting will not clear, say
// on the task line what is waited for and why it is not done yet, and on a timeout list the last
// state of every resource waited on, the revision mismatch first.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { judgeApp, resourceLabel, type JudgeInput, type Verdict } from './app-snapshot.ts'
import type { KObj, KRef, Kube, WaitCheck, WaitState } from './kube.ts'
import { externalSecretCause, findTerminal } from './terminal-states.ts'
import { withReadCache } from './read-cache.ts'
import { RunReads } from '../run-reads.ts'

/** A new progress line at most this often when the reason changed. */
export const PROGRESS_EVERY_MS = 3000
/**
 * The same reason is said again this often, so the elapsed seconds move: on a redrawing terminal
 * (the line is redrawn in place) every 2 s, in a log (each line stays) every 30 s.
 */
export const REFRESH_LIVE_MS = 2000
export const REFRESH_LOG_MS = 30_000
const RECHECK_MS = 1000

/** Progress lines for a wait: what, why not done yet, elapsed against the limit; no flood, never still. */
export class WaitProgress {
  private readonly started = Date.now()
  private lastLineAt = 0
  private shown = ''
  constructor(
    private readonly log: (line: string) => void,
    private readonly what: string,
    private readonly limitMs: number,
    private readonly everyMs = PROGRESS_EVERY_MS,
    private readonly refreshMs = REFRESH_LOG_MS,
  ) {}

  elapsedSeconds(): number {
    return Math.round((Date.now() - this.started) / 1000)
  }

  update(reason: string): void {
    const now = Date.now()
    const since = now - this.lastLineAt
    if (reason === this.shown ? since < this.refreshMs : this.lastLineAt && since < this.everyMs) return
    this.shown = reason
    this.lastLineAt = now
    this.log(`waiting for ${this.what} (${this.elapsedSeconds()}s of ${Math.round(this.limitMs / 1000)}s): ${reason}`)
  }
}

/**
 * `check` that also says, on the task line, what it waits for and why not yet, the elapsed time
 * moving (every 2 s on a terminal): pass the returned check and recheckMs to `k.waitFor`.
 */
export function withProgress(ctx: Pick<Ctx, 'log' | 'liveProgress'>, what: string, timeoutMs: number, check: WaitCheck): { check: WaitCheck; recheckMs: number } {
  const progress = new WaitProgress(ctx.log, what, timeoutMs, PROGRESS_EVERY_MS, ctx.liveProgress ? REFRESH_LIVE_MS : REFRESH_LOG_MS)
  return {
    async check(obj) {
      const state = await check(obj)
      if ('waiting' in state) progress.update(state.waiting)
      return state
    },
    // looked at again every second, so the elapsed time moves while nothing changes
    recheckMs: RECHECK_MS,
  }
}

/** The short reason for the task line: the first two things waited for, and how many more. */
export function shortReason(details: string[]): string {
  if (details.length === 0) return 'checking'
  const shown = details.slice(0, 2).map((d) => (d.length > 160 ? `${d.slice(0, 157)}...` : d))
  return `${shown.join('; ')}${details.length > 2 ? ` (+${details.length - 2} more)` : ''}`
}

export interface AppWait {
  ref: KRef
  /** "Application argocd/it-tools Synced and Healthy at 1a2b3c4" */
  what: string
  judge: JudgeInput
  /** what else must hold once Argo CD says done (target Secrets present, CRD served); a reason when not */
  extra?: () => Promise<string | undefined>
  /** the fix for a timeout or a failed sync */
  fix: string
}

/** Waits until the app is done; resolves with the warnings about resources broken before the setup. */
export async function waitForApp(ctx: Ctx, k: Kube, w: AppWait): Promise<{ warnings: string[] }> {
  const timeoutMs = Number(ctx.settings.syncTimeoutSeconds) * 1000
  const progress = new WaitProgress(ctx.log, w.what, timeoutMs, PROGRESS_EVERY_MS, ctx.liveProgress ? REFRESH_LIVE_MS : REFRESH_LOG_MS)
  let verdict: Verdict | undefined
  let terminal: SetupError | undefined
  const check = async (app: KObj | undefined): Promise<WaitState> => {
    verdict = await judgeApp(app, w.judge)
    if ('failed' in verdict.state) return verdict.state
    if ('ready' in verdict.state) {
      const more = w.extra ? await w.extra() : undefined
      if (!more) return verdict.state
      verdict = { ...verdict, state: { waiting: more }, details: [more] }
    }
    // the terminal-state check and the causes read the same ExternalSecret and Events
    const look = oneLook(k)
    terminal = await findTerminal(look, verdict.pending, ctx.settings.vaultPath)
    if (terminal) return { failed: terminal.message }
    verdict = { ...verdict, details: await withEsoCauses(look, verdict) }
    progress.update(shortReason(verdict.details))
    return verdict.state
  }
  try {
    await k.waitFor(w.ref, check, { timeoutMs, what: w.what, fix: w.fix, recheckMs: RECHECK_MS })
  } catch (err) {
    if (terminal) throw new SetupError(`${w.ref.kind} ${w.ref.namespace}/${w.ref.name} will not become healthy: ${terminal.message}`, terminal.fix)
    if (verdict && 'failed' in verdict.state) {
      const cause = verdict.regressed?.kind === 'ExternalSecret' ? await externalSecretCause(k, verdict.regressed) : undefined
      throw new SetupError(`${verdict.state.failed}${cause && cause !== verdict.regressed?.message ? `; ESO says: "${cause}"` : ''}`, w.fix)
    }
    if (err instanceof SetupError && /^timed out/.test(err.message)) throw timeoutError(w, verdict, timeoutMs)
    throw err
  }
  return { warnings: await warningsWithCauses(k, verdict) }
}

/**
 * `k` for one look at the cluster: the run's read cache (src/cluster/read-cache.ts) with reads of
 * its own, so each object and list is read once however many checks ask for it, and nothing is kept
 * past this look (a wait reads fresh).
 */
export function oneLook(k: Kube): Kube {
  return withReadCache(k, new RunReads())
}

/** The warnings about resources broken before the setup; an ExternalSecret's with ESO's cause (its Event). */
export async function warningsWithCauses(k: Kube, verdict: Verdict | undefined): Promise<string[]> {
  const warnings = verdict?.warnings ?? []
  const warned = verdict?.warned ?? []
  return Promise.all(
    warnings.map(async (line, i) => {
      const r = warned[i]
      if (r?.kind !== 'ExternalSecret') return line
      const cause = await externalSecretCause(k, r)
      return cause && cause !== r.message ? `${line}; ESO says: "${cause}"` : line
    }),
  )
}

/**
 * Argo CD shows a failing ExternalSecret with ESO's condition message only ("could not get secret
 * data from provider"); the cause is in ESO's Events. Each waited-on ExternalSecret's line gets it.
 */
async function withEsoCauses(k: Kube, verdict: Verdict): Promise<string[]> {
  let details = verdict.details
  for (const r of verdict.pending) {
    if (r.kind !== 'ExternalSecret') continue
    const cause = await externalSecretCause(k, r)
    if (!cause) continue
    const head = `${resourceLabel(r)}:`
    const said = `ESO says: "${cause}"`
    details = details.map((d) => (!d.startsWith(head) || d.includes(said) ? d : r.message && d.includes(`(${r.message})`) ? d.replace(`(${r.message})`, `(${said})`) : `${d} (${said})`))
  }
  return details
}

function timeoutError(w: AppWait, verdict: Verdict | undefined, timeoutMs: number): SetupError {
  const lines = verdict?.details.length ? verdict.details : ['the Application was never seen']
  const warned = verdict?.warnings.length ? `\n  not waited for (broken before the setup):\n${verdict.warnings.map((l) => `    - ${l}`).join('\n')}` : ''
  return new SetupError(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${w.what}; last state of what it waited on:\n${lines.map((l) => `    - ${l}`).join('\n')}${warned}`, w.fix)
}
