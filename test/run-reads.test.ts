// One read per run: the cluster read cache (src/cluster/read-cache.ts), the run's one `git status`
// (src/run-reads.ts) and every Application's floor from one `git log` (src/cluster/origin.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Ctx } from '../src/context.ts'
import { withReadCache } from '../src/cluster/read-cache.ts'
import type { KObj, KRef, Kube } from '../src/cluster/kube.ts'
import { containsCommit, lastChange, lastChanges } from '../src/cluster/origin.ts'
import { checkoutStatus, forgetRunReads, keepRunReads, RunReads } from '../src/run-reads.ts'

const ref: KRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'cm' }

/** A Kube whose every call is counted; `state` is what the "cluster" holds now. */
function countingKube(state: { flag: string }) {
  const calls: string[] = []
  const obj = (): KObj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'argocd' }, data: { flag: state.flag } })
  const k = {
    contextName: 'c',
    currentContext: 'c',
    contextNames: ['c'],
    server: 'https://x',
    async get() {
      calls.push('get')
      return obj()
    },
    async list() {
      calls.push('list')
      return [obj()]
    },
    async apply(o: KObj) {
      calls.push('apply')
      return o
    },
    async mergePatch() {
      calls.push('mergePatch')
      return obj()
    },
    async waitFor() {
      calls.push('waitFor')
      return obj()
    },
    async exec() {
      calls.push('exec')
      return { stdout: '', stderr: '', exitCode: 0 }
    },
    async logs() {
      calls.push('logs')
      return ''
    },
    // a write added to Kube later: the cache must treat it as one
    async remove() {
      calls.push('remove')
    },
  }
  return { k: k as unknown as Kube & { remove(): Promise<void> }, calls }
}

test('the cluster read cache: each object and list read once until this run writes; copies, never shared objects', async () => {
  const state = { flag: 'a' }
  const { k, calls } = countingKube(state)
  const cached = withReadCache(k, new RunReads()) as Kube & { remove(): Promise<void> }
  const first = await cached.get(ref)
  first!.data.flag = 'mutated by a caller'
  state.flag = 'b'
  assert.equal((await cached.get(ref))!.data.flag, 'a', 'served from the first read, not changed by the caller')
  await cached.list('v1', 'ConfigMap', 'argocd')
  await cached.list('v1', 'ConfigMap', 'argocd')
  await cached.exec('vault', 'vault-0', undefined, ['vault', 'status'])
  await cached.logs('argocd', 'p', undefined, 10)
  assert.deepEqual(calls, ['get', 'list', 'exec', 'logs'], 'exec and logs change no API object and are never cached')
  assert.equal((await cached.get(ref))!.data.flag, 'a')

  const writes = [() => cached.apply(first!, { force: true }), () => cached.mergePatch(ref, {}), () => cached.remove()]
  for (const [i, write] of writes.entries()) {
    calls.length = 0
    state.flag = `after write ${i}`
    await write()
    assert.equal((await cached.get(ref))!.data.flag, state.flag, 'a write drops the kept reads')
    await cached.list('v1', 'ConfigMap', 'argocd')
    assert.deepEqual(calls.filter((c) => c === 'get' || c === 'list'), ['get', 'list'])
  }
})

test('the cluster read cache: a wait already satisfied by the kept object does not read again; otherwise it waits fresh and keeps what it saw', async () => {
  const state = { flag: 'a' }
  const { k, calls } = countingKube(state)
  const cached = withReadCache(k, new RunReads())
  await cached.get(ref)
  const isA = (o: KObj | undefined) => (o?.data?.flag === 'a' ? { ready: true as const } : { waiting: 'not a' })
  assert.equal((await cached.waitFor(ref, isA, { timeoutMs: 1000, what: 'x' })).data.flag, 'a')
  assert.deepEqual(calls, ['get'])
  state.flag = 'b'
  const isB = (o: KObj | undefined) => (o?.data?.flag === 'b' ? { ready: true as const } : { waiting: 'not b' })
  assert.equal((await cached.waitFor(ref, isB, { timeoutMs: 1000, what: 'x' })).data.flag, 'b')
  assert.deepEqual(calls, ['get', 'waitFor'], 'the kept object is not what the wait wants: the wait runs')
  assert.equal((await cached.get(ref))!.data.flag, 'b', "the wait's object is the latest view")
  assert.deepEqual(calls, ['get', 'waitFor'])
  // a failed read is not kept
  const failing = withReadCache({ ...k, get: async () => Promise.reject(new Error('boom')) }, new RunReads())
  await assert.rejects(failing.get(ref), /boom/)
  await assert.rejects(failing.get(ref), /boom/)
})

test("the cluster read cache: a wait's check reads other objects fresh on every event, and nothing is kept while a change applies", async () => {
  const state = { flag: 'a' }
  const { k, calls } = countingKube(state)
  const reads = new RunReads()
  const cached = withReadCache(k, reads)
  // the check of a wait reads another object (as the Application wait reads the Secret ESO creates):
  // the object changes between two events, and the check must see the change
  const seenByCheck: string[] = []
  const waiting = {
    ...k,
    async waitFor(_r: KRef, check: (o: KObj | undefined) => unknown) {
      calls.push('waitFor')
      for (const flag of ['a', 'b']) {
        state.flag = flag
        const other = await cached.get({ ...ref, name: 'other' })
        seenByCheck.push(other!.data.flag)
        await check(other)
      }
      return (await k.get(ref))!
    },
  }
  const cachedWaiting = withReadCache(waiting as Kube, reads)
  await cached.get({ ...ref, name: 'other' })
  await cachedWaiting.waitFor(ref, () => ({ waiting: 'x' }), { timeoutMs: 1000, what: 'x' })
  assert.deepEqual(seenByCheck, ['a', 'b'], "the check saw the first read's value again: a kept read inside a wait")
  // a wait writes nothing: what was kept before it is still kept after it
  const callsAfterWait = calls.length
  assert.equal((await cached.get({ ...ref, name: 'other' }))!.data.flag, 'a', 'the read kept from before the wait')
  assert.equal(calls.length, callsAfterWait, 'a wait dropped the reads kept before it')
  // a change applied by the runner: reads inside are fresh, none kept after
  calls.length = 0
  await reads.fresh(async () => {
    await cached.get(ref)
    await cached.get(ref)
  })
  assert.deepEqual(calls, ['get', 'get'])
  await cached.get(ref)
  await cached.get(ref)
  assert.deepEqual(calls, ['get', 'get', 'get'], 'outside the fresh section reads are kept again')
})

function gitRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-reads-'))
  const g = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim()
  g('init', '-q', '-b', 'main')
  g('config', 'user.name', 't')
  g('config', 'user.email', 't@example.invalid')
  const commit = (files: Record<string, string>, message: string) => {
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, f)), { recursive: true })
      writeFileSync(join(dir, f), text)
    }
    g('add', '-A')
    g('commit', '-q', '-m', message)
  }
  commit({ 'apps/a/x.yaml': '1', 'apps/b/y.yaml': '1', 'values/v.yaml': '1' }, 'first')
  commit({ 'apps/a/x.yaml': '2' }, 'a changes')
  commit({ 'values/v.yaml': '2', 'apps/ab.yaml': '1' }, 'values and a file whose name starts like a folder')
  commit({ 'README.md': 'x' }, 'unrelated')
  return dir
}

test('every Application floor from one git log: the same answers as one git log -1 per path set, and the ancestry they imply', async () => {
  const dir = gitRepo()
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()
    const sets = [['apps/a'], ['apps/b'], ['values/v.yaml', 'apps/b'], ['apps'], ['nowhere'], ['.']]
    const expected = sets.map((paths) => execFileSync('git', ['log', '-1', '--format=%H', head, '--', ...paths], { cwd: dir, encoding: 'utf8' }).trim() || head)
    await lastChanges(dir, head, sets)
    // the answers are now kept: a broken PATH would make any new git process fail
    const path = process.env.PATH
    process.env.PATH = '/nonexistent'
    try {
      for (let i = 0; i < sets.length; i++) assert.equal(await lastChange(dir, head, sets[i]!), expected[i], `floor of ${sets[i]!.join(',')}`)
      assert.equal(await containsCommit(dir, 'main', expected[0]!, head), true)
    } finally {
      process.env.PATH = path
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("the run's git status is read once and read again after forgetRunReads (the runner calls it around every applied change)", async () => {
  const dir = gitRepo()
  try {
    const ctx = { repoDir: dir } as Ctx
    // a context the runner did not set up reads fresh every time
    writeFileSync(join(dir, 'early.yaml'), 'x')
    assert.deepEqual((await checkoutStatus(ctx)).changed, [{ xy: '??', path: 'early.yaml' }])
    rmSync(join(dir, 'early.yaml'))
    assert.deepEqual((await checkoutStatus(ctx)).changed, [])
    keepRunReads(ctx)
    assert.deepEqual((await checkoutStatus(ctx)).changed, [])
    writeFileSync(join(dir, 'new.yaml'), 'x')
    assert.deepEqual((await checkoutStatus(ctx)).changed, [], 'kept until the run says it wrote')
    forgetRunReads(ctx)
    assert.deepEqual((await checkoutStatus(ctx)).changed, [{ xy: '??', path: 'new.yaml' }])
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()
    assert.equal((await checkoutStatus(ctx)).head, head)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
