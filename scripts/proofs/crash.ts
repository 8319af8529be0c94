// Crash safety proof (npm run proof:crash [--points N] [--seed S] [--jobs J]).
//
// An uninterrupted run on a fresh sandbox gives the expected final state. Then, for each point, a
// fresh sample repo and sandbox, a run killed with SIGKILL (its whole process group: node and any git
// it started) at that point, and one plain rerun, which must converge: same GitOps trees and commit
// subjects (local and origin, one setup commit and one log-level commit), same owned cluster objects,
// the it-tools workload never recreated, same Vault values, no temp files, no lock left, and a stale
// lock recovered with a message. Points: every task boundary (`✔ N` lines), right after or a
// seeded random moment after the lines that start a change (mid file write, mid Vault write, mid
// commit, between commit and push, mid apply, mid wait), and random moments of the whole run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { gitDirs } from '../../src/git.ts'
import { lockFileOf, stateFileOf } from '../../src/state.ts'
import {
  argValue,
  createWorld,
  diffSnapshots,
  provenance,
  reapGroup,
  replaceQualitySection,
  rng,
  runToEnd,
  seconds,
  snapshotWorld,
  startRun,
  tempLeftovers,
  gitLockLeftovers,
  toLinkedWorktree,
  type RunOutcome,
  type Snapshot,
} from './lib.ts'

const argv = process.argv.slice(2)
const POINTS = Number(argValue(argv, '--points', '36'))
const SEED = Number(argValue(argv, '--seed', '1'))
const JOBS = Math.max(1, Number(argValue(argv, '--jobs', '2')))
/** only the anchored points whose label contains this (for chasing one point) */
const MATCH = argValue(argv, '--match', '')
const CONTROLLER_DELAY_MS = 10
const RUN_TIMEOUT_MS = 90_000

interface Point {
  /** "after ✔ 3", "+120ms after › git commit 13", "at 4.2s" */
  label: string
  /** kill once a stdout line matches this (then after delayMs) ... */
  line?: RegExp
  /** ... or this long after spawn */
  atMs?: number
  delayMs: number
  /** where in the run the point falls (for spreading a short selection over the run) */
  order: number
  /** the checkout is a linked worktree (`.git` a file, its git dir elsewhere) */
  worktree?: boolean
}

/** Lines that start a change, in run order, each named for what a kill right after it interrupts. */
const CHANGE_LINES: { re: RegExp; what: string }[] = [
  { re: /^› create docs\/plans\//, what: 'mid file write (task 0)' },
  { re: /^› vault kv put /, what: 'mid Vault write (task 1)' },
  { re: /^› create k8s\/helm\/manifests\/github-external-secret\.yaml/, what: 'mid file write (task 2)' },
  { re: /^› edit argocd\/applications\/vault-eso\.yaml/, what: 'mid edit (task 2)' },
  { re: /^› create k8s\/helm\/manifests\/it-tools\/service\.yaml/, what: 'mid file write (task 3)' },
  { re: /^› delete k8s\/helm\/manifests\/it-tools\.yaml/, what: 'mid delete (task 3)' },
  { re: /^› create k8s\/helm\/manifests\/it-tools\/image-updater\.yaml/, what: 'mid file write (task 4)' },
  { re: /^› edit k8s\/helm\/manifests\/it-tools\/kustomization\.yaml/, what: 'mid edit (task 4)' },
  { re: /^› create argocd\/applications\/argocd-image-updater\.yaml/, what: 'mid file write (task 5)' },
  { re: /^› edit argocd\/projects\/homelab\.yaml/, what: 'mid edit (task 6)' },
  { re: /^› pause auto-prune/, what: 'mid prune pause (task 7)' },
  { re: /^› git commit \d+ file/, what: 'mid commit (task 7)' },
  { re: /^› git push origin/, what: 'between commit and push (task 7)' },
  { re: /^› apply .*AppProject/, what: 'mid apply AppProject (task 7)' },
  { re: /^› applied Application argocd\/argocd-image-updater/, what: 'mid wait, chart app (task 7)' },
  { re: /^› waiting for Application argocd\/it-tools/, what: 'mid wait, it-tools (task 7)' },
  { re: /^› Deployment personal-services\/it-tools kept its uid/, what: 'after adoption, before prune restored (task 7)' },
  { re: /^› apply .*Application argocd\/personal-services/, what: 'mid apply personal-services (task 7)' },
  { re: /^› PASS controller Deployment/, what: 'mid verify (task 8)' },
  { re: /^› edit k8s\/helm\/values\//, what: 'mid file write (task 9)' },
  { re: /^› git commit k8s\/helm\/values/, what: 'mid commit and push (task 9)' },
  { re: /^› wait for the argocd-image-updater Application/, what: 'mid wait (task 9)' },
]

function allPoints(baseline: RunOutcome, random: () => number): Point[] {
  const at = (re: RegExp) => baseline.lines.findIndex((l) => re.test(l.text))
  const points: Point[] = []
  for (let id = 0; id <= 9; id++) {
    const re = new RegExp(`^✔ ${id} `)
    const i = at(re)
    if (i < 0) throw new Error(`the uninterrupted run printed no "✔ ${id}" line`)
    points.push({ label: `right after ✔ ${id} (task ${id} done)`, line: re, delayMs: 0, order: baseline.lines[i].ms })
  }
  CHANGE_LINES.forEach(({ re, what }, n) => {
    const i = at(re)
    if (i < 0) throw new Error(`the uninterrupted run printed no line matching ${re}`)
    // every other one right after the line; the rest at a random moment before the next line
    const gap = (baseline.lines[i + 1]?.ms ?? baseline.ms) - baseline.lines[i].ms
    const delayMs = n % 2 === 0 ? 0 : Math.floor(random() * Math.max(gap, 1))
    points.push({ label: `${delayMs ? `+${delayMs}ms after` : 'right after'} "${baseline.lines[i].text.slice(2, 40)}…" ${what}`, line: re, delayMs, order: baseline.lines[i].ms + delayMs })
  })
  return points.sort((a, b) => a.order - b.order)
}

/** `count` points spread over the run: an even pick from the anchored ones, then random moments. */
function choosePoints(baseline: RunOutcome, count: number, random: () => number): Point[] {
  const anchored = allPoints(baseline, random)
  let chosen: Point[]
  if (count <= anchored.length) {
    chosen = []
    for (let i = 0; i < count; i++) chosen.push(anchored[Math.floor(((i + random()) * anchored.length) / count)])
  } else chosen = [...anchored]
  while (chosen.length < count) {
    const atMs = Math.floor(random() * baseline.ms)
    chosen.push({ label: `at ${seconds(atMs)} after start (random moment)`, atMs, delayMs: 0, order: atMs })
  }
  return chosen.sort((a, b) => a.order - b.order)
}

/** The git write (`git commit`, `git push`) a killed run was in the middle of, from its saved state. */
function interruptedGitWrite(stateDir: string, repoDir: string): string | undefined {
  try {
    return JSON.parse(readFileSync(stateFileOf(stateDir, repoDir), 'utf8')).gitWrite?.what
  } catch {
    return undefined
  }
}

interface PointResult {
  point: Point
  ok: boolean
  line: string
  problems: string[]
  ms: number
}

async function provePoint(index: number, point: Point, expected: Snapshot): Promise<PointResult> {
  const started = Date.now()
  const world = await createWorld({ controllerDelayMs: CONTROLLER_DELAY_MS, prefix: 'proof-crash-' })
  const problems: string[] = []
  let line = ''
  try {
    if (point.worktree) toLinkedWorktree(world)
    const handle = startRun(world, { timeoutMs: RUN_TIMEOUT_MS, killOn: { line: point.line, delayMs: point.delayMs, atMs: point.atMs } })
    const first = await handle.done
    if (await reapGroup(handle)) problems.push('a process of the killed run was still alive after it')
    if (first.timedOut) problems.push(`the run to be killed hung (no exit within ${seconds(RUN_TIMEOUT_MS)})`)
    const killed = first.killed && first.signal === 'SIGKILL'
    if (!killed && first.code !== 0) problems.push(`the run failed on its own before the kill (exit ${first.code}): ${first.stderr.trim().split('\n').slice(-3).join(' / ')}`)
    const lastLine = first.lines.at(-1)?.text.slice(0, 50) ?? '(no output yet)'
    const lockLeft = existsSync(lockFileOf(world.repo.dir))
    const tmpLeft = [...tempLeftovers(world.repo.dir), ...tempLeftovers(world.stateDir)]
    // A kill inside a git write leaves git's lock only when it lands in git's own few milliseconds;
    // when the saved state shows the kill interrupted a git write but no lock was left, put the lock
    // git holds there (as a kill a moment later would have left it), so the recovery is proven too.
    const interrupted = interruptedGitWrite(world.stateDir, world.repo.dir)
    let simulated = ''
    if (interrupted && gitLockLeftovers(world.repo.dir).length === 0) {
      const dirs = gitDirs(world.repo.dir)!
      const abs = interrupted === 'git commit' ? join(dirs.gitDir, 'index.lock') : join(dirs.commonDir, 'refs', 'remotes', 'origin', 'main.lock')
      simulated = relative(world.repo.dir, abs)
      writeFileSync(abs, '')
    }
    const gitLocks = gitLockLeftovers(world.repo.dir)

    const rerun = await runToEnd(world, { timeoutMs: RUN_TIMEOUT_MS })
    if (rerun.timedOut) problems.push(`the rerun hung (no exit within ${seconds(RUN_TIMEOUT_MS)})`)
    else if (rerun.code !== 0) problems.push(`the rerun exited ${rerun.code}: ${rerun.stderr.trim().split('\n').slice(-4).join(' / ')}`)
    const recovered = /recovered a stale run lock/.test(rerun.stderr)
    if (lockLeft && !recovered) problems.push('the kill left the run lock, and the rerun did not say it recovered it')
    await world.sandbox.actors.settle()
    const diff = diffSnapshots(expected, snapshotWorld(world))
    problems.push(...diff)

    const gitLocksRemoved = gitLocks.length > 0 && /removed \S*\.lock/.test(rerun.stdout)
    if (gitLocks.length && !gitLocksRemoved && rerun.code === 0) problems.push(`the kill left ${gitLocks.join(', ')} and the rerun did not say it removed them`)
    const killedAt = killed ? `killed at ${seconds(first.ms)} after "${lastLine}"` : `not killed (run ended first, exit ${first.code})`
    const leftovers = [lockLeft ? 'run lock' : '', tmpLeft.length ? `${tmpLeft.length} temp file(s)` : '', ...gitLocks.map((l) => (l === simulated ? `${l} (as git holds it during ${interrupted})` : l))].filter(Boolean).join(', ')
    line = [
      `#${String(index + 1).padStart(2, '0')} ${point.label}`,
      `   ${killedAt}${leftovers ? `, left ${leftovers}` : ''} | rerun exit ${rerun.code} in ${seconds(rerun.ms)}${recovered ? ', stale lock recovered' : ''}${gitLocksRemoved ? ', git locks removed' : ''} | ${problems.length ? 'DIVERGED' : 'converged'}`,
    ].join('\n')
  } catch (err) {
    problems.push(`proof error: ${(err as Error).stack ?? String(err)}`)
    line = `#${String(index + 1).padStart(2, '0')} ${point.label}\n   proof error`
  } finally {
    await world.cleanup()
  }
  if (problems.length) line += `\n${problems.map((p) => `     ✖ ${p}`).join('\n')}`
  return { point, ok: problems.length === 0, line, problems, ms: Date.now() - started }
}

async function main(): Promise<number> {
  const t0 = Date.now()
  process.stdout.write(`Crash proof: ${POINTS} points, seed ${SEED}, ${JOBS} at a time, sandbox controller delay ${CONTROLLER_DELAY_MS} ms\n`)
  const baseWorld = await createWorld({ controllerDelayMs: CONTROLLER_DELAY_MS, prefix: 'proof-crash-' })
  let baseline: RunOutcome
  let expected: Snapshot
  try {
    baseline = await runToEnd(baseWorld, { timeoutMs: RUN_TIMEOUT_MS })
    if (baseline.code !== 0) {
      process.stdout.write(`✖ the uninterrupted run failed (exit ${baseline.code}):\n${baseline.stdout}\n${baseline.stderr}\n`)
      return 1
    }
    await baseWorld.sandbox.actors.settle()
    expected = snapshotWorld(baseWorld)
  } finally {
    await baseWorld.cleanup()
  }
  const subjects = expected['origin:main subjects'].split('\n')
  process.stdout.write(`uninterrupted run: exit 0 in ${seconds(baseline.ms)}; origin/main: ${subjects.map((s) => `"${s}"`).join(', ')}\n\n`)

  const random = rng(SEED)
  const points = MATCH ? allPoints(baseline, random).filter((p) => p.label.includes(MATCH)) : choosePoints(baseline, POINTS, random)
  // always one more: a kill mid commit in a linked worktree (the git-lock sweep must find its git dir)
  const commit = baseline.lines.find((l) => /^› git commit \d+ file/.test(l.text))
  if (commit && (!MATCH || 'linked worktree'.includes(MATCH)))
    points.push({ label: 'right after "git commit …" mid commit (task 7), the checkout a linked worktree', line: /^› git commit \d+ file/, delayMs: 0, order: commit.ms, worktree: true })
  const results: PointResult[] = new Array(points.length)
  // a few worlds at a time (each its own sandbox and repo); lines print in point order
  let next = 0
  let printed = 0
  const flush = () => {
    while (printed < points.length && results[printed]) process.stdout.write(`${results[printed++].line}\n`)
  }
  await Promise.all(
    Array.from({ length: Math.min(JOBS, points.length) }, async () => {
      for (;;) {
        const i = next++
        if (i >= points.length) return
        results[i] = await provePoint(i, points[i], expected)
        flush()
      }
    }),
  )
  const ok = results.filter((r) => r.ok).length
  const total = Date.now() - t0
  process.stdout.write(`\n${ok}/${results.length} converged (seed ${SEED}, ${seconds(total)} in all)\n`)
  if (ok === results.length && results.length >= 30 && !MATCH) {
    replaceQualitySection(
      'crash',
      [
        `${provenance(`npm run proof:crash -- --points ${POINTS} --seed ${SEED}`)}: **${ok}/${results.length} converged** in ${seconds(total)}.`,
        '',
        `Each point: a fresh sample repo and sandbox, a run killed with SIGKILL (its whole process group) at the point, then one plain rerun, compared with an uninterrupted run (origin/main: ${subjects.map((s) => `"${s}"`).join(', ')}).`,
        '',
        '| # | kill point | rerun |',
        '| --- | --- | --- |',
        ...results.map((r, i) => `| ${i + 1} | ${r.point.label.replace(/\|/g, '\\|')} | ${r.line.includes('stale lock recovered') ? 'stale lock recovered, ' : ''}converged |`),
      ].join('\n'),
    )
  }
  return ok === results.length ? 0 : 1
}

process.exitCode = await main()
