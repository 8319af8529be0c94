// The controller log and ImageUpdater status judgement of task 8, on lines as upstream (app v1.0.2,
// v1.1.1, v1.2.2) writes them: each case below passed or failed the wrong way before cycles were
// judged by all their lines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PROBLEM_LINES, analyzeLog } from '../src/cluster/controller-log.ts'
import { appliedTime, awaitHealthyCycle, imageUpdaterStatus, managedImageCount } from '../src/cluster/verify.ts'
import type { KObj } from '../src/cluster/kube.ts'

const at = (s: number) => `time="2026-01-01T00:00:${String(s).padStart(2, '0')}Z"`
const start = (s: number) => `${at(s)} level=info msg="Starting image update cycle, considering 1 application(s) for update" imageUpdater_name=it-tools imageUpdater_namespace=argocd`
const result = (s: number, r: string) => `${at(s)} level=info msg="Processing results: ${r}" imageUpdater_name=it-tools imageUpdater_namespace=argocd`
const OK = 'applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=0'
const cycle = (s: number, r = OK, ...middle: string[]) => [start(s), ...middle.map((m) => `${at(s)} level=warning msg="${m}" application=it-tools`), result(s, r)].join('\n')

test('a cycle with errors=0 fails when a warning came before its result line', () => {
  const v = analyzeLog(cycle(1, 'applications=1 images_considered=1 images_skipped=1 images_updated=0 errors=0', "Invalid match option syntax '^sha-[0-9a-f]+$', ignoring"))
  assert.equal(v.healthy, false)
  assert.deepEqual(v.lastCycle!.problems.map((p) => p.what), ['Invalid match option syntax', 'images_skipped=1'])
  assert.ok(v.lastCycle!.problems.every((p) => p.fix.length > 10), 'every problem has a fix')
})

test('an image skipped without being considered fails (not live in the app, or no matching tag)', () => {
  const v = analyzeLog(cycle(1, 'applications=1 images_considered=0 images_skipped=1 images_updated=0 errors=0'))
  assert.equal(v.healthy, false)
  assert.match(v.lastCycle!.problems.map((p) => p.what).join(), /images_considered=0, 1 managed/)
  assert.equal(analyzeLog(cycle(1, 'applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=0'), { images: 2 }).healthy, false, 'every managed image must be considered')
  assert.equal(analyzeLog(cycle(1), { images: 1 }).healthy, true)
})

test('each upstream warning line fails the cycle with a fix of its own', () => {
  for (const rule of PROBLEM_LINES) {
    const v = analyzeLog(cycle(1, OK, `${rule.pattern}: something`))
    assert.equal(v.healthy, false, rule.pattern)
    assert.equal(v.lastCycle!.problems[0].fix, rule.fix)
  }
  for (const must of ['Invalid match option syntax', 'Could not compile regexp', 'Unknown sort option', 'Could not fetch credentials', 'Could not set registry endpoint credentials', 'Could not create write-back config', 'could not get creds for repo', 'Could not update application spec'])
    assert.ok(PROBLEM_LINES.some((r) => r.pattern === must), must)
})

test('lines logged while the applications are filtered (before the start line) belong to the cycle', () => {
  const log = [result(0, OK), `${at(1)} level=warning msg="Could not create write-back config for app argocd/it-tools, skipping: secret not found"`, cycle(1, 'applications=0 images_considered=0 images_skipped=0 images_updated=0 errors=0')].join('\n')
  const v = analyzeLog(log)
  assert.deepEqual(v.lastCycle!.problems.map((p) => p.what).slice(0, 2), ['Could not create write-back config', 'applications=0: the ImageUpdater matched no application'])
})

test('the warm-up result line (no start line) is not a cycle; lines of other ImageUpdaters are ignored', () => {
  assert.equal(analyzeLog(result(1, OK)).lastCycle, undefined)
  const other = `${at(2)} level=warning msg="Unknown sort option foo -- using semver" imageUpdater_name=someone-else`
  assert.equal(analyzeLog([start(2), other, result(2, OK)].join('\n'), { crName: 'it-tools' }).healthy, true)
  assert.equal(analyzeLog([start(2), other, result(2, OK)].join('\n')).healthy, false, 'without a name every line counts')
})

test('an idle line older than the ImageUpdater is history; a newer one, after the last cycle, is not', () => {
  const created = Date.parse('2026-01-01T00:00:05Z')
  const idle = (s: number) => `${at(s)} level=info msg="No ImageUpdater CRs to process"`
  const fresh = analyzeLog(idle(1), { since: created })
  assert.deepEqual(fresh.idle, [], 'a fresh install logs it once at warm-up')
  assert.equal(fresh.healthy, false, 'no cycle yet: wait, do not fail')
  assert.equal(analyzeLog([idle(1), cycle(7)].join('\n'), { since: created }).healthy, true)
  const later = analyzeLog([cycle(7), idle(9)].join('\n'), { since: created })
  assert.equal(later.healthy, false)
  assert.equal(later.idle[0].what, 'No ImageUpdater CRs to process')
  assert.equal(analyzeLog(cycle(2, 'applications=1 images_considered=0 images_skipped=1 images_updated=0 errors=0'), { since: created }).lastCycle, undefined, 'cycles before the apply are history')
})

test('waiting for a healthy cycle: through idle lines to a healthy one, and no longer than two failed cycles', async () => {
  const logs = ['', `${at(1)} level=info msg="No ImageUpdater CRs to process"`, cycle(6)]
  let reads = 0
  const v = await awaitHealthyCycle(async () => analyzeLog(logs[Math.min(reads++, 2)], { since: Date.parse('2026-01-01T00:00:05Z') }), 5_000, () => {}, { pollMs: 1, sayEveryMs: 10_000 })
  assert.equal(v.healthy, true)
  assert.equal(reads, 3)
  const bad = cycle(6, OK, 'Could not fetch credentials: secret not found')
  let n = 0
  const two = await awaitHealthyCycle(async () => analyzeLog(n++ === 0 ? bad : `${bad}\n${bad}`), 5_000, () => {}, { pollMs: 1, sayEveryMs: 10_000 })
  assert.equal(two.healthy, false)
  assert.equal(n, 2, 'one failed cycle gets another chance, two in a row stop the wait')
  const progress: string[] = []
  const started = Date.now()
  const timedOut = await awaitHealthyCycle(async () => analyzeLog(''), 60, (l) => progress.push(l), { pollMs: 5, sayEveryMs: 20 })
  assert.equal(timedOut.healthy, false)
  assert.ok(Date.now() - started < 1_000, 'bounded by the timeout')
  assert.match(progress[0] ?? '', /waiting for a healthy Image Updater cycle \(\d+s left\): no update cycle yet/)
})

const iu = (status: Record<string, unknown>, generation = 2): KObj => ({
  apiVersion: 'argocd-image-updater.argoproj.io/v1alpha1',
  kind: 'ImageUpdater',
  metadata: { name: 'it-tools', generation, creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ manager: 'argocd-controller', operation: 'Apply', time: '2026-01-01T00:01:00Z' }, { manager: 'c', operation: 'Update', subresource: 'status', time: '2026-01-01T00:09:00Z' }] },
  spec: { applicationRefs: [{ namePattern: 'it-*', images: [{ alias: 'a', imageName: 'ghcr.io/x/y' }, { alias: 'b', imageName: 'ghcr.io/x/z' }] }] },
  status,
})
const good = {
  observedGeneration: 2,
  lastCheckedAt: '2026-01-01T00:02:00Z',
  applicationsMatched: 1,
  imagesManaged: 2,
  conditions: [
    { type: 'Ready', status: 'True', reason: 'ReconcileSucceeded' },
    { type: 'Error', status: 'False', reason: 'NoErrors' },
  ],
}

test('v1.2 status: generation observed, Error=False, Ready=True (ReconcileSucceeded), checked after our apply', () => {
  const applied = appliedTime(iu(good))
  assert.equal(applied, Date.parse('2026-01-01T00:01:00Z'), 'the last spec write, not the status write')
  assert.equal(managedImageCount(iu(good), undefined, 'it-tools'), 2)
  assert.deepEqual(imageUpdaterStatus(iu(good), applied, 2), { ready: true })
  const waiting = (s: Record<string, unknown>) => {
    const r = imageUpdaterStatus(iu({ ...good, ...s }), applied, 2)
    return 'waiting' in r ? r.waiting : 'ready'
  }
  assert.match(waiting({ observedGeneration: 1 }), /observedGeneration=1, generation=2/)
  assert.match(waiting({ lastCheckedAt: '2026-01-01T00:00:30Z' }), /older than the ImageUpdater's last apply/)
  assert.match(
    waiting({ conditions: [{ type: 'Ready', status: 'True', reason: 'ReconcileCompletedWithErrors' }, { type: 'Error', status: 'True', reason: 'PartialErrors', message: '1 error(s) occurred during image update checks.' }] }),
    /Error=True \(PartialErrors\): 1 error/,
  )
  assert.match(waiting({ conditions: [{ type: 'Ready', status: 'True', reason: 'ReconcileCompletedWithErrors' }, { type: 'Error', status: 'False' }] }), /want True \(ReconcileSucceeded\)/)
  assert.match(waiting({ imagesManaged: 1 }), /imagesManaged=1, want 2/)
})

test('a registry refusal in the log ends the wait at once, even mid-cycle; a healthy cycle after it clears it', async () => {
  const refused = `${at(2)} level=error msg="Could not get tags from registry: unauthorized: authentication required" imageUpdater_name=it-tools`
  const midCycle = [start(2), refused].join('\n')
  const v = analyzeLog(midCycle, { since: Date.parse('2026-01-01T00:00:01Z') })
  assert.equal(v.healthy, false)
  assert.equal(v.terminal?.what, 'unauthorized')
  assert.match(v.terminal!.fix, /read:packages/)
  const started = Date.now()
  let reads = 0
  const ended = await awaitHealthyCycle(async () => (reads++, analyzeLog(midCycle)), 5_000, () => {}, { pollMs: 1, sayEveryMs: 10_000 })
  assert.equal(reads, 1, 'no second look: waiting will not clear it')
  assert.ok(Date.now() - started < 1000)
  assert.equal(ended.terminal?.what, 'unauthorized')
  assert.equal(analyzeLog([midCycle, result(2, 'applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=1'), cycle(3)].join('\n')).terminal, undefined, 'fixed since: a healthy cycle came after')
  assert.equal(analyzeLog(midCycle, { since: Date.parse('2026-01-01T00:00:05Z') }).terminal, undefined, 'older than the apply: history')
})
