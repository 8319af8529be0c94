// Reading the Image Updater controller's log, one update cycle at a time. Upstream (app v1.0.2,
// v1.1.1, v1.2.2) logs `Starting image update cycle, considering N application(s) for update`, then
// per-image lines, then `Processing results: applications=.. images_considered=.. images_skipped=..
// images_updated=.. errors=..`. Warnings such as `Invalid match option syntax` are not counted in
// `errors=`, so a cycle is judged by every line it logged, not by its result line alone. Lines logged
// while the applications are filtered (`Could not create write-back config ...`) come before the
// start line, so a cycle's lines run from just after the previous result line to its own.
// The cache warm-up also ends with a result line but has no start line: it is not a cycle.

/** A line that means "this controller will not update the image", with what to do about it. */
export interface LogRule {
  /** text searched for, case-insensitively */
  pattern: string
  fix: string
  /** waiting will not clear it (the registry refused the credentials): a wait ends at once */
  terminal?: boolean
}

/** Lines that fail a cycle even when its result line says errors=0 (see docs/plans for the sources). */
export const PROBLEM_LINES: LogRule[] = [
  // first: a refusal is named as such even on a "Could not get tags" line
  { pattern: 'unauthorized', terminal: true, fix: 'the registry refused the credentials: the token needs read:packages (classic PAT); rerun task 1 with a token that has it' },
  { pattern: 'Invalid match option syntax', fix: 'allowTags must be "regexp:<re>" (or "any"): set TAG_REGEX and rerun task 4 (npx tsx scripts/run.ts --only 4 then --from 7)' },
  { pattern: 'Could not compile regexp', fix: 'allowTags holds a regexp Go cannot compile (RE2: no lookarounds or backreferences): fix TAG_REGEX and rerun task 4' },
  { pattern: 'Unknown sort option', fix: 'updateStrategy must be semver, newest-build, digest or alphabetical: fix UPDATE_STRATEGY and rerun task 4' },
  { pattern: 'Could not fetch credentials', fix: 'the pullSecret of the ImageUpdater is missing or not a dockerconfigjson Secret: check the ExternalSecret ghcr-pull-secret is Ready (kubectl -n argocd describe externalsecret ghcr-pull-secret)' },
  { pattern: 'Could not set registry endpoint credentials', fix: 'config.registries[].credentials in the Image Updater values points at a missing or malformed Secret: rerun task 5 and check the Secret exists' },
  { pattern: 'Could not create write-back config', fix: 'writeBackConfig.method must be git:secret:<ns>/<name> naming an existing Secret: check the git-creds ExternalSecret is Ready' },
  { pattern: 'could not get creds for repo', fix: 'the write-back Secret lacks the keys the repoURL needs (https: username and password; ssh: sshPrivateKey): check git-creds and the Application repoURL' },
  { pattern: 'Could not update application spec', fix: 'the write-back failed (a token that cannot push, or a protected branch): give the token the repo scope, allow it to push to the branch, then rerun task 1' },
  { pattern: 'not of supported source type', fix: 'Image Updater only updates Kustomize and Helm apps: rerun task 3 (npx tsx scripts/run.ts --only 3 then --from 7)' },
  { pattern: 'Could not get tags from registry', fix: 'the registry refused the tag list: the token needs read:packages (classic PAT) and the pull secret must hold it (rerun task 1)' },
  { pattern: 'could not get tags', fix: 'the registry refused the tag list: the token needs read:packages (classic PAT) and the pull secret must hold it (rerun task 1)' },

]

export const IDLE_LINE = 'No ImageUpdater CRs to process'
const IDLE_FIX = 'the controller sees no ImageUpdater: check that it lives in the namespace the controller watches (kubectl get imageupdaters -A)'

const START = /Starting image update cycle, considering (\d+) (?:annotated )?application\(s\)/
const RESULT = /Processing results: /

export interface CycleResult {
  applications: number
  imagesConsidered: number
  imagesSkipped: number
  imagesUpdated: number
  errors: number
  /** index of the result line */
  line: number
  /** the line's time, when the log carries one */
  at?: number
}

export interface Problem {
  what: string
  fix: string
}

export interface JudgedCycle {
  result: CycleResult
  problems: Problem[]
}

export interface LogVerdict {
  /** the last real cycle (not the warm-up) that counts, judged */
  lastCycle?: JudgedCycle
  /** the last cycle, and nothing after it, is healthy */
  healthy: boolean
  /** how many cycles that count failed, most recent last */
  failedCycles: JudgedCycle[]
  /** problems outside cycles that count now (an idle line newer than the ImageUpdater) */
  idle: Problem[]
  /** a line newer than `since` that waiting will not clear (a terminal rule), even mid-cycle */
  terminal?: Problem
}

export interface LogExpectations {
  /** the ImageUpdater's name: lines tagged with another CR's name are someone else's */
  crName?: string
  /** lines and cycles older than this (ms since epoch: the ImageUpdater's creation) are history */
  since?: number
  /** images the ImageUpdater manages for our app: each must be considered */
  images?: number
}

function field(line: string, name: string): number {
  const m = new RegExp(`\\b${name}=(\\d+)`).exec(line)
  return m ? Number(m[1]) : 0
}

/** `time="2026-01-01T00:00:00Z"` (logrus text) or a leading RFC 3339 time, in ms; undefined without one. */
export function lineTime(line: string): number | undefined {
  const m = /\btime="?([0-9]{4}-[0-9]{2}-[0-9]{2}T[^" ]+)"?/.exec(line) ?? /^([0-9]{4}-[0-9]{2}-[0-9]{2}T\S+)/.exec(line)
  if (!m) return undefined
  const t = Date.parse(m[1])
  return Number.isNaN(t) ? undefined : t
}

const crOf = (line: string) => /\bimageUpdater_name=("?)([^"\s]+)\1/.exec(line)?.[2]

export function parseCycle(line: string, index: number): CycleResult | undefined {
  if (!RESULT.test(line)) return undefined
  return {
    applications: field(line, 'applications'),
    imagesConsidered: field(line, 'images_considered'),
    imagesSkipped: field(line, 'images_skipped'),
    imagesUpdated: field(line, 'images_updated'),
    errors: field(line, 'errors'),
    line: index,
    at: lineTime(line),
  }
}

const ruleFor = (line: string) => PROBLEM_LINES.find((r) => line.toLowerCase().includes(r.pattern.toLowerCase()))

/** Problems of one cycle: its warning lines, then what its result line says. */
export function judgeCycle(lines: string[], result: CycleResult, images = 1): Problem[] {
  const problems: Problem[] = []
  for (const l of lines) {
    const rule = ruleFor(l)
    if (rule && !problems.some((p) => p.what === rule.pattern)) problems.push({ what: rule.pattern, fix: rule.fix })
  }
  const r = result
  if (r.applications < 1)
    problems.push({ what: `applications=${r.applications}: the ImageUpdater matched no application`, fix: 'its applicationRefs[].namePattern must match the app, and the app must be a Kustomize or Helm app (task 3)' })
  if (r.imagesConsidered < images)
    problems.push({ what: `images_considered=${r.imagesConsidered}, ${images} managed`, fix: 'an image not live in the Application is skipped: imageName must be the image the Deployment runs (IMAGE)' })
  if (r.imagesSkipped > 0)
    problems.push({ what: `images_skipped=${r.imagesSkipped}`, fix: 'no tag matched allowTags and the strategy, or the image is not live in the app: check TAG_REGEX against the tags in the registry' })
  if (r.errors > 0) problems.push({ what: `errors=${r.errors}`, fix: 'the error lines before this result line name the cause' })
  return problems
}

/**
 * Splits the log into cycles and judges those that count: real cycles (with a start line) of our
 * ImageUpdater that ended after `since`. An idle line counts only when newer than `since`: the
 * controller logs it at warm-up and on webhook events, so a chart installed before the ImageUpdater
 * existed logs it once, harmlessly.
 */
export function analyzeLog(text: string, expect: LogExpectations = {}): LogVerdict {
  const since = expect.since ?? -Infinity
  const counts = (t: number | undefined) => t === undefined || t > since
  const lines = text.split('\n').filter((l) => {
    const cr = crOf(l)
    return !cr || !expect.crName || cr === expect.crName
  })
  let segment: string[] = []
  let sawStart = false
  const cycles: JudgedCycle[] = []
  let idleAfter: { index: number; problem: Problem } | undefined
  let terminal: { index: number; problem: Problem } | undefined
  lines.forEach((l, i) => {
    if (l.includes(IDLE_LINE) && counts(lineTime(l))) idleAfter = { index: i, problem: { what: IDLE_LINE, fix: IDLE_FIX } }
    const rule = ruleFor(l)
    if (rule?.terminal && counts(lineTime(l))) terminal = { index: i, problem: { what: rule.pattern, fix: rule.fix } }
    if (START.test(l)) sawStart = true
    const result = parseCycle(l, i)
    if (!result) return segment.push(l)
    if (sawStart && counts(result.at)) cycles.push({ result, problems: judgeCycle(segment, result, expect.images ?? 1) })
    segment = []
    sawStart = false
  })
  const lastCycle = cycles.at(-1)
  // an idle line after the last cycle means the controller no longer sees the ImageUpdater
  const idle = idleAfter && (!lastCycle || idleAfter.index > lastCycle.result.line) ? [idleAfter.problem] : []
  // a problem line after the last result line belongs to a cycle still running: judged when it ends
  const failedCycles = cycles.filter((c) => c.problems.length > 0)
  // a terminal line counts unless a healthy cycle ended after it (the credentials were fixed since)
  const healthyLast = !!lastCycle && lastCycle.problems.length === 0
  const stillTerminal = terminal && !(healthyLast && terminal.index < lastCycle!.result.line) ? terminal.problem : undefined
  return { lastCycle, healthy: healthyLast && idle.length === 0 && !stillTerminal, failedCycles, idle, terminal: stillTerminal }
}

/** What the check says about a verdict, in one line. */
export function describeCycle(c: JudgedCycle): string {
  const r = c.result
  return `Processing results: applications=${r.applications} images_considered=${r.imagesConsidered} images_skipped=${r.imagesSkipped} images_updated=${r.imagesUpdated} errors=${r.errors}`
}
