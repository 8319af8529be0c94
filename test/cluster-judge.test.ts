// Unit tests of the wait's judgement (no API server): snapshot against now, what is ours, revision
// mismatch named first, conditions that end a wait at once, and progress lines without a flood.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeApp, snapshotOf, type JudgeInput } from '../src/cluster/app-snapshot.ts'
import { shortReason, waitForApp, WaitProgress, withProgress } from '../src/cluster/wait-app.ts'
import type { KObj, Kube } from '../src/cluster/kube.ts'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'

const OURS = 'a'.repeat(40)
const OLD = 'b'.repeat(40)

type Res = { kind: string; name: string; namespace?: string; group?: string; status?: string; health?: string; message?: string }
function app(opts: { rev?: string; resources?: Res[]; conditions?: { type: string; message: string }[]; op?: Record<string, unknown>; health?: string }): KObj {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'vault-eso', namespace: 'argocd' },
    status: {
      sync: { status: 'Synced', revision: opts.rev ?? OURS },
      health: { status: opts.health ?? 'Healthy' },
      conditions: opts.conditions ?? [],
      ...(opts.op ? { operationState: opts.op } : {}),
      resources: (opts.resources ?? []).map((r) => ({ group: r.group ?? '', kind: r.kind, namespace: r.namespace ?? 'ns', name: r.name, status: r.status ?? 'Synced', ...(r.health ? { health: { status: r.health, ...(r.message ? { message: r.message } : {}) } } : {}) })),
    },
  }
}
const input = (before: KObj | undefined, knownOurs: string[] = []): JudgeInput => ({ before: snapshotOf(before), knownOurs: new Set(knownOurs), containsOurs: async (r) => r === OURS, revision: OURS })

const cloudflareBroken: Res = { group: 'external-secrets.io', kind: 'ExternalSecret', name: 'cloudflare', health: 'Degraded', message: 'Secret does not exist' }
const cloudflareOk: Res = { group: 'external-secrets.io', kind: 'ExternalSecret', name: 'cloudflare', health: 'Healthy' }
const github: Res = { group: 'external-secrets.io', kind: 'ExternalSecret', name: 'github', namespace: 'argocd', health: 'Healthy' }

test('a resource broken before and untouched is a warning; an added one must be Healthy; a regression fails', async () => {
  const before = app({ rev: OLD, resources: [cloudflareBroken] })
  // done: ours (added) Healthy, the old breakage only warned about
  const done = await judgeApp(app({ resources: [cloudflareBroken, github] }), input(before))
  assert.deepEqual(done.state, { ready: true })
  assert.match(done.warnings[0], /ExternalSecret ns\/cloudflare in Application argocd\/vault-eso was already Degraded before the setup .*Secret does not exist/)
  // ours still Progressing: waiting, and it is the pending one
  const busy = await judgeApp(app({ resources: [cloudflareBroken, { ...github, health: 'Progressing' }] }), input(before))
  assert.ok('waiting' in busy.state)
  assert.deepEqual(busy.pending.map((r) => r.name), ['github'])
  assert.match(busy.details[0], /ExternalSecret argocd\/github: Progressing \[added by the setup\]/)
  // Healthy before, Degraded now: the run fails naming it
  const regressed = await judgeApp(app({ resources: [{ ...cloudflareOk, health: 'Degraded', message: 'Secret does not exist' }, github] }), input(app({ rev: OLD, resources: [cloudflareOk] })))
  assert.ok('failed' in regressed.state)
  assert.match(regressed.state.failed, /ExternalSecret ns\/cloudflare .* was Healthy before the setup and is Degraded now: "Secret does not exist"/)
  // a resource known to be ours is never excused by the snapshot (a rerun after a failure)
  const brokenOurs = { ...github, health: 'Degraded', message: 'Secret does not exist' }
  const rerun = await judgeApp(app({ resources: [brokenOurs] }), input(app({ resources: [brokenOurs] }), ['external-secrets.io/ExternalSecret/argocd/github']))
  assert.ok('waiting' in rerun.state)
  assert.equal(rerun.warnings.length, 0)
})

test('the revision mismatch is named first, Healthy at the older revision included', async () => {
  const before = app({ rev: OLD, resources: [cloudflareOk] })
  const v = await judgeApp(app({ rev: OLD, resources: [cloudflareOk, { ...github, health: 'Missing' }] }), input(before))
  assert.ok('waiting' in v.state)
  assert.match(v.details[0], /^Application argocd\/vault-eso is at revision bbbbbbb, not yet at the pushed aaaaaaa \(Healthy at the older revision\)$/)
  assert.match(v.details[1], /ExternalSecret argocd\/github: Missing/)
})

test('a new ComparisonError fails at once; one that was there before the setup is waited on', async () => {
  const cond = { type: 'ComparisonError', message: 'rpc error: code = Unknown desc = repository not found' }
  const fresh = await judgeApp(app({ conditions: [cond] }), input(app({ rev: OLD })))
  assert.ok('failed' in fresh.state)
  assert.match(fresh.state.failed, /Application argocd\/vault-eso has condition ComparisonError: "rpc error: code = Unknown desc = repository not found"/)
  const old = await judgeApp(app({ rev: OLD, conditions: [cond] }), input(app({ rev: OLD, conditions: [cond] })))
  assert.ok('waiting' in old.state)
})

test('a sync operation of ours that failed ends the wait, quoting the failed resources', async () => {
  const op = { phase: 'Failed', message: 'one or more objects failed to apply', syncResult: { revision: OURS, resources: [{ kind: 'ExternalSecret', namespace: 'argocd', name: 'github', status: 'SyncFailed', message: 'admission webhook denied' }] } }
  const v = await judgeApp(app({ rev: OLD, op }), input(app({ rev: OLD })))
  assert.ok('failed' in v.state)
  assert.match(v.state.failed, /sync operation Failed: "one or more objects failed to apply"; ExternalSecret argocd\/github: "admission webhook denied"/)
  const running = await judgeApp(app({ op: { phase: 'Running', message: 'one or more tasks are running', syncResult: { revision: OURS } } }), input(app({ rev: OLD })))
  assert.ok('waiting' in running.state)
  assert.match(running.details[0], /sync operation Running/)
})

test('progress: a line when the reason changes, at most one every few seconds, with elapsed and limit', async () => {
  const lines: string[] = []
  const p = new WaitProgress((l) => lines.push(l), 'Application argocd/x', 300_000, 50)
  p.update('A')
  p.update('A')
  p.update('B') // too soon after A: not shown yet
  assert.equal(lines.length, 1)
  await new Promise((r) => setTimeout(r, 60))
  p.update('B')
  p.update('B')
  assert.equal(lines.length, 2)
  assert.match(lines[0], /^waiting for Application argocd\/x \(0s of 300s\): A$/)
  assert.match(lines[1], /: B$/)
  assert.equal(shortReason(['one', 'two', 'three', 'four']), 'one; two (+2 more)')
})

test('progress never stands still: the same reason is said again after the refresh time, with the elapsed seconds moved', async () => {
  const lines: string[] = []
  const p = new WaitProgress((l) => lines.push(l), 'Application argocd/x', 300_000, 3000, 40)
  p.update('A')
  p.update('A')
  assert.equal(lines.length, 1)
  await new Promise((r) => setTimeout(r, 50))
  p.update('A')
  assert.equal(lines.length, 2, 'said again once the refresh time passed')
  assert.match(lines[1], /: A$/)
})

test('one look of a wait reads a pending ExternalSecret and its Events once, for the terminal check and the cause both', async () => {
  const calls: string[] = []
  const es = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'github', namespace: 'argocd', uid: 'u1' },
    spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault-backend' } },
    status: { conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }] },
  }
  const store = { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name: 'vault-backend' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }
  const event = { involvedObject: { kind: 'ExternalSecret', name: 'github', uid: 'u1' }, type: 'Warning', lastTimestamp: '2026-11-25T00:00:00Z', message: 'target is owned by another ExternalSecret' }
  const looks = 3
  const k = {
    get: async (ref: { kind: string; name: string }) => (calls.push(`get ${ref.kind}/${ref.name}`), ref.kind === 'ExternalSecret' ? structuredClone(es) : structuredClone(store)),
    list: async (_av: string, kind: string) => (calls.push(`list ${kind}`), [structuredClone(event)]),
    waitFor: async (_ref: unknown, check: (o: KObj | undefined) => Promise<unknown>) => {
      for (let i = 0; i < looks; i++) assert.ok('waiting' in ((await check(app({ resources: [{ ...github, health: 'Progressing' }] }))) as object))
      throw new SetupError('timed out after 1s waiting for it', 'fix')
    },
  } as unknown as Kube
  const lines: string[] = []
  const ctx = { settings: { syncTimeoutSeconds: '1', vaultPath: 'secret/homelab/github' }, log: (l: string) => lines.push(l) } as unknown as Ctx
  await assert.rejects(waitForApp(ctx, k, { ref: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'vault-eso' }, what: 'vault-eso', judge: input(undefined), fix: 'fix' }), (err: Error) =>
    /ExternalSecret argocd\/github: Progressing \[added by the setup\] \(ESO says: "target is owned by another ExternalSecret"\)/.test(err.message),
  )
  const count = (c: string) => calls.filter((x) => x === c).length
  assert.equal(count('get ExternalSecret/github'), looks)
  assert.equal(count('list Event'), looks)
  assert.equal(count('get ClusterSecretStore/vault-backend'), looks)
})

test('withProgress: any wait says what it waits for and why, and is looked at every second so its counter moves', async () => {
  const lines: string[] = []
  const said = withProgress({ log: (l) => lines.push(l), liveProgress: true }, 'ConfigMap argocd/x log.level=info', 300_000, (cm) => (cm?.data?.level === 'info' ? { ready: true } : { waiting: `log.level is ${cm?.data?.level ?? 'unset'}` }))
  assert.equal(said.recheckMs, 1000)
  assert.deepEqual(await said.check({ data: { level: 'debug' } } as never), { waiting: 'log.level is debug' })
  assert.deepEqual(await said.check({ data: { level: 'info' } } as never), { ready: true })
  assert.deepEqual(lines, ['waiting for ConfigMap argocd/x log.level=info (0s of 300s): log.level is debug'])
})
