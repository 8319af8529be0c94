// Task 1 against the sandbox API server's real pods/exec (websocket, v5 stdin close), with a small
// stand-in for the vault CLI in vault-0: the write happens once, a rerun writes nothing, the tokens
// only ever travel on stdin, and sealed / logged-out pods stop the task with a fix.
import { after, before, beforeEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from '../sandbox/store.ts'
import { createPki } from '../sandbox/apiserver/pki.ts'
import { Pods } from '../sandbox/apiserver/pods.ts'
import { startApiServer, type ApiServer } from '../sandbox/apiserver/server.ts'
import { Faults, Stats } from '../sandbox/apiserver/stats.ts'
import { kubeconfigYaml } from '../sandbox/index.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { keepRunReads } from '../src/run-reads.ts'
import task from '../tasks/01-vault-token.ts'
import { isLoggedIn } from '../src/cluster/vault.ts'

const PAT = `ghp_${'0123456789abcdefghijklmnopqrstuvwxyz'}`
// assembled at run time so no token-shaped literal sits in the repository
const VAULT_TOKEN = ['hvs', 'sandbox-root-token-value'].join('.')

/** Just enough of the vault CLI for the five command lines the setup uses. */
class FakeVault {
  sealed = false
  loggedIn = true
  kv = new Map<string, { data: Record<string, string>; version: number }>()
  puts = 0
  /** how many of the next puts lose their stdin on the way (the pat arrives empty) */
  dropStdin = 0
  handler = async (cmd: string[], stdin: Buffer) => {
    const ok = (o: unknown) => ({ stdout: JSON.stringify(o), stderr: '', exitCode: 0 })
    const fail = (msg: string, exitCode = 2) => ({ stdout: '', stderr: msg, exitCode })
    const line = cmd.join(' ')
    if (line === 'vault status -format=json') return { ...ok({ initialized: true, sealed: this.sealed }), exitCode: this.sealed ? 2 : 0 }
    if (this.sealed) return fail('Error: Vault is sealed')
    if (line === 'vault token lookup -format=json') return this.loggedIn ? ok({ data: { policies: ['root'] } }) : fail('permission denied')
    if (line === 'vault login -no-print -') {
      const input = this.dropStdin > 0 ? (this.dropStdin--, '') : stdin.toString()
      if (input.trim() !== VAULT_TOKEN) return fail('invalid token')
      this.loggedIn = true
      return { stdout: '', stderr: '', exitCode: 0 }
    }
    if (!this.loggedIn) return fail('permission denied')
    if (cmd[1] === 'kv' && cmd[2] === 'get' && cmd[3] === '-format=json' && cmd.length === 5) {
      const e = this.kv.get(cmd[4])
      return e ? ok({ data: { data: e.data, metadata: { version: e.version } } }) : fail(`No value found at ${cmd[4]}`)
    }
    if (cmd[1] === 'kv' && cmd[2] === 'put' && cmd[3] === '-format=json' && cmd.length === 7 && cmd[5].startsWith('username=') && cmd[6] === 'pat=-') {
      const version = (this.kv.get(cmd[4])?.version ?? 0) + 1
      const pat = this.dropStdin > 0 ? (this.dropStdin--, '') : stdin.toString()
      this.kv.set(cmd[4], { data: { username: cmd[5].slice('username='.length), pat }, version })
      this.puts++
      return ok({ data: { version } })
    }
    return fail(`unsupported command: ${line}`, 1)
  }
}

let server: ApiServer
let stats: Stats
let dir: string
const vault = new FakeVault()
const logs: string[] = []

function ctx(env: Record<string, string> = {}, dryRun = false): Ctx {
  const { settings, secrets } = loadConfig({
    env: { GITOPS_REPO_DIR: dir, GITHUB_USERNAME: 'meirongdev', GITHUB_PAT: PAT, KUBECONFIG: join(dir, 'kubeconfig'), GITHUB_API_URL: 'off', ...env },
    cwd: '/nonexistent-dir',
  })
  return { settings, secrets, repoDir: dir, projectDir: dir, dryRun, yes: false, log: (l: string) => logs.push(l), touchedPaths: new Set() } as unknown as Ctx
}

async function run(c: Ctx): Promise<string[]> {
  const changes = await task.plan(c)
  for (const ch of changes) await ch.apply()
  return changes.map((ch) => ch.summary)
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cluster-vault-'))
  const store = new Store()
  const pods = new Pods()
  stats = new Stats()
  const pki = createPki()
  server = await startApiServer({ store, pods, stats, faults: new Faults(), pki, token: 'test-token' })
  writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(server.url, pki, 'test-token'))
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vault' } })
  store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vault-0', namespace: 'vault' }, spec: { containers: [{ name: 'vault', image: 'hashicorp/vault' }] } })
  pods.registerExec('vault', 'vault-0', vault.handler)
})
after(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(() => {
  vault.sealed = false
  vault.loggedIn = true
})

test('writes username and pat once, verifies by reading back, and a rerun writes nothing', async () => {
  assert.deepEqual(await run(ctx()), ['vault kv put secret/homelab/github (username, pat from stdin)'])
  assert.equal(vault.puts, 1)
  assert.deepEqual(vault.kv.get('secret/homelab/github')?.data, { username: 'meirongdev', pat: PAT })
  assert.ok(logs.some((l) => /version 1, fields pat, username/.test(l)))
  assert.deepEqual(await run(ctx()), [], 'same values: up to date')
  assert.equal(vault.puts, 1)
})

test('a different token is written again', async () => {
  const other = `ghp_${'otherClassicToken0abcdefghijklmnopqr'}`
  assert.equal((await run(ctx({ GITHUB_PAT: other }))).length, 1)
  assert.equal(vault.kv.get('secret/homelab/github')?.data.pat, other)
  assert.equal((await run(ctx())).length, 1, 'back to the first token')
})

test('not logged in: logs in with VAULT_TOKEN on stdin; without it, stops with a fix', async () => {
  vault.loggedIn = false
  await assert.rejects(task.plan(ctx()), (e: Error & { fix: string }) => /not logged in/.test(e.message) && /VAULT_TOKEN/.test(e.fix))
  assert.deepEqual(await run(ctx({ VAULT_TOKEN })), [], 'logged in, then found the values already there')
  assert.equal(vault.loggedIn, true)
})

test('dry-run with a logged-out pod changes nothing and reports the pending write', async () => {
  vault.loggedIn = false
  const changes = await task.plan(ctx({ VAULT_TOKEN }, true))
  assert.equal(changes.length, 1)
  assert.match(changes[0].summary, /after vault login/)
  assert.equal(vault.loggedIn, false)
})

test('a sealed Vault stops the task with the unseal command', async () => {
  vault.sealed = true
  await assert.rejects(task.plan(ctx()), (e: Error & { fix: string }) => /sealed/.test(e.message) && /vault operator unseal/.test(e.fix))
})

test('sealed after the run began: the next vault command stops with the unseal fix, not a login error', async () => {
  // Vault sealed between the run's first look and task 1's plan (the proof:faults case vault-sealed
  // does this to a whole run): the lookup's 503 is a sealed Vault, not a logged-out CLI
  await task.prepare!(ctx())
  vault.sealed = true
  await assert.rejects(task.plan(ctx({ VAULT_TOKEN })), (e: Error & { fix: string }) => /^Vault is sealed \(vault token lookup\)/.test(e.message) && /vault operator unseal/.test(e.fix))
  await assert.rejects(task.prepare!(ctx()), (e: Error & { fix: string }) => /^Vault is sealed/.test(e.message) && /vault operator unseal/.test(e.fix))
  await assert.rejects(task.plan(ctx({ VAULT_TOKEN }, true)), (e: Error) => /^Vault is sealed/.test(e.message), 'dry-run too')
  await assert.rejects(task.plan(ctx({ GITHUB_PAT: '' }, true)), (e: Error) => /^Vault is sealed$/.test(e.message), 'dry-run without a token: the status check')
})

test('a converged prepare and plan send 4 vault commands: a login check and a read each', async () => {
  await run(ctx())
  const before = stats.snapshot().execCommands.length
  await task.prepare!(ctx())
  assert.deepEqual(await run(ctx()), [])
  const sent = stats.snapshot().execCommands.slice(before).map((c) => c.join(' '))
  assert.deepEqual(sent, ['vault token lookup -format=json', 'vault kv get -format=json secret/homelab/github', 'vault token lookup -format=json', 'vault kv get -format=json secret/homelab/github'])
})

test("in one run (kept reads), task 1's plan asks Vault nothing its prepare asked, and a login is followed by fresh reads", async () => {
  await run(ctx())
  const c = ctx({ VAULT_TOKEN })
  keepRunReads(c)
  let before = stats.snapshot().execCommands.length
  await task.prepare!(c)
  assert.deepEqual(await run(c), [])
  assert.deepEqual(
    stats.snapshot().execCommands.slice(before).map((e) => e.join(' ')),
    ['vault token lookup -format=json', 'vault kv get -format=json secret/homelab/github'],
  )
  // logged out: the plan logs in on the lookup prepare kept, once; after the login the kept
  // "not logged in" is gone, so the next check asks again and sees the login
  const d = ctx({ VAULT_TOKEN })
  keepRunReads(d)
  vault.loggedIn = false
  before = stats.snapshot().execCommands.length
  await task.prepare!(d)
  assert.deepEqual(await run(d), [])
  assert.equal(await isLoggedIn(d), true)
  assert.deepEqual(
    stats.snapshot().execCommands.slice(before).map((e) => e.join(' ')),
    ['vault token lookup -format=json', 'vault login -no-print -', 'vault kv get -format=json secret/homelab/github', 'vault token lookup -format=json'],
  )
  // a write drops what was read: the read-back after the put is sent, not served from the plan's read
  const e = ctx({ VAULT_TOKEN, GITHUB_PAT: `ghp_${'z'.repeat(36)}` })
  keepRunReads(e)
  const puts = vault.puts
  assert.equal((await run(e)).length, 1)
  assert.equal(vault.puts, puts + 1)
  assert.equal(vault.kv.get('secret/homelab/github')?.data.pat, `ghp_${'z'.repeat(36)}`)
  assert.ok(logs.at(-1)?.includes(`version ${vault.kv.get('secret/homelab/github')?.version}`), logs.at(-1))
  await run(ctx())
})

test('a write whose stdin arrived incomplete is found by the read-back and written again; twice in a row stops with the fix', async () => {
  const other = `ghp_${'y'.repeat(36)}`
  vault.dropStdin = 1
  const puts = vault.puts
  const before = logs.length
  assert.equal((await run(ctx({ GITHUB_PAT: other }))).length, 1)
  assert.equal(vault.puts, puts + 2, 'written again')
  assert.equal(vault.kv.get('secret/homelab/github')?.data.pat, other)
  assert.ok(logs.slice(before).some((l) => /does not hold what was sent \(the exec's stdin arrived incomplete\); writing it again/.test(l)), logs.slice(before).join('\n'))
  vault.dropStdin = 2
  await assert.rejects(run(ctx()), (e: Error & { fix?: string }) => {
    assert.match(e.message, /^reading secret\/homelab\/github back after writing it twice shows other values than were sent \(version \d+\)/)
    assert.match(e.fix ?? '', /^rerun: task 1 writes it again \(npx tsx scripts\/run\.ts --from 1\)/)
    assert.ok(!e.message.includes(PAT) && !e.message.includes(other))
    return true
  })
  vault.dropStdin = 0
  await run(ctx())
  assert.equal(vault.kv.get('secret/homelab/github')?.data.pat, PAT)
})

test('a login whose stdin arrived incomplete is tried once more; a wrong VAULT_TOKEN still fails with its fix', async () => {
  vault.loggedIn = false
  vault.dropStdin = 1
  const before = stats.snapshot().execCommands.length
  assert.equal(await isLoggedIn(ctx({ VAULT_TOKEN })), false)
  await run(ctx({ VAULT_TOKEN }))
  assert.equal(vault.loggedIn, true)
  assert.equal(stats.snapshot().execCommands.slice(before).filter((c) => c.join(' ') === 'vault login -no-print -').length, 2)
  vault.loggedIn = false
  await assert.rejects(run(ctx({ VAULT_TOKEN: ['hvs', 'not-the-token'].join('.') })), (e: Error & { fix?: string }) => /^vault login with VAULT_TOKEN failed: invalid token/.test(e.message) && /check VAULT_TOKEN/.test(e.fix ?? ''))
})

test('no token on any exec command line, in any log line', () => {
  const lines = stats.snapshot().execCommands.map((c) => c.join(' '))
  assert.ok(lines.length >= 8)
  assert.ok(lines.every((l) => !l.includes(PAT) && !l.includes(VAULT_TOKEN) && !l.includes('github_pat_')), lines.join('\n'))
  assert.ok(lines.every((l) => /^vault (status -format=json|token lookup -format=json|login -no-print -|kv get -format=json \S+|kv put -format=json \S+ username=\S+ pat=-)$/.test(l)), lines.join('\n'))
  assert.ok(logs.every((l) => !l.includes(PAT) && !l.includes(VAULT_TOKEN)))
})

test('a fine-grained token is refused before anything is written to Vault (ghcr.io takes classic tokens only)', async () => {
  const puts = vault.puts
  const fine = ['github', 'pat', '11AAAAAAA0abcdefghijklmnop_qrstuvwxyz'].join('_')
  await assert.rejects(run(ctx({ GITHUB_PAT: fine })), (e: Error & { fix?: string }) => {
    assert.match(e.message, /fine-grained token \(github_pat_…\): ghcr.io does not accept fine-grained tokens/)
    assert.match(e.fix ?? '', /classic personal access token with read:packages and repo/)
    assert.ok(!e.message.includes(fine) && !(e.fix ?? '').includes(fine))
    return true
  })
  assert.equal(vault.puts, puts, 'nothing written')
})
