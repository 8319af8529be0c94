// The benchmark: whole-process timings of the runner on the sandbox over repeated runs (median, min,
// max after a warm-up), with the mutating API requests of each run (sandbox stats), the child
// processes of a converged run (strace), peak memory (GNU time), the plain-Node floor
// (scripts/bench-probe.ts), the objects read more than once (sandbox read stats) and how soon a wait
// notices a change; then the ratios issue 14 sets as targets (they hold on any machine, absolute
// times do not). Builds the CLI bundle first (scripts/build.ts), as `npm install` does, so what is
// measured is what users run. Prints a table; rewrites the "Benchmark" section of docs/QUALITY.md.
//
//   npm run bench                 (RUNS=7 by default; RUNS=3 npm run bench for a quick look)
//   BENCH=terminal npm run bench  (only how soon a failing deploy stops: section "bench-terminal")
//   BENCH=model npm run bench     (only what the repo model costs: section "model-cost", scripts/model-cost.ts)
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server } from 'node:tls'
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_IMAGE_TAG, type SampleRepo } from '../sandbox/sample-repo.ts'
import { replaceQualitySection } from './proofs/lib.ts'
import { measureTerminal, TERMINAL_CASES } from './terminal-latency.ts'
import { buildBundle } from './build.ts'
import { bundleStaleness } from '../src/fast-start.ts'

const PROJECT = resolve(import.meta.dirname, '..')
const TSX = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
const RUN = join(PROJECT, 'scripts', 'run.ts')
const STATUS = join(PROJECT, 'scripts', 'status.ts')
const PROBE = join(PROJECT, 'scripts', 'bench-probe.ts')
const RUNS = Number(process.env.RUNS ?? 7)
const USER = 'meirongdev'
const IMAGE = 'ghcr.io/meirongdev/it-tools'
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const STRACE = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' })
    return 'strace'
  } catch {
    return undefined
  }
})()

// ---- a world: a sample GitOps repo with its bare origin, and a sandbox cluster for it

interface World {
  root: string
  repo: SampleRepo
  sandbox: Sandbox
  env: NodeJS.ProcessEnv
}

async function makeWorld(controllerDelayMs: number): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'bench-'))
  const repo = createSampleRepo({}, root)
  const sandbox = await startSandbox({ repoDir: repo.dir, controllerDelayMs })
  // assembled at run time so no token-shaped literal sits in the repository
  const token = ['ghp', `BENCHONLY${Math.random().toString(36).slice(2).padEnd(27, '0')}`].join('_')
  sandbox.actors.registry.setAuth(USER, token)
  sandbox.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
  return { root, repo, sandbox, env: worldEnv(root, sandbox, token, { GITOPS_REPO_DIR: repo.dir }) }
}

/** A run's whole environment in a world: nothing of the caller's beyond PATH and HOME. */
function worldEnv(root: string, sandbox: Sandbox, token: string, settings: Record<string, string>): NodeJS.ProcessEnv {
  mkdirSync(join(root, 'cwd'))
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    ...settings,
    GITHUB_USERNAME: USER,
    GITHUB_PAT: token,
    GITHUB_API_URL: 'off',
    KUBECONFIG: sandbox.kubeconfigPath,
    KUBE_CONTEXT: sandbox.contextName,
    STATE_DIR: join(root, 'state'),
    SYNC_TIMEOUT_SECONDS: '60',
  }
}

/** The largest corpus repo (sandbox/corpus/), its apps onboarded in one run, as a world of its own. */
async function makeCorpusWorld(name: string, controllerDelayMs: number): Promise<World> {
  const { CORPUS, buildCorpusRepo, prepareCorpusRun } = await import('../sandbox/corpus/index.ts')
  const shape = CORPUS.find((c) => c.name === name)
  if (!shape) throw new Error(`no corpus repo ${name}`)
  const root = mkdtempSync(join(tmpdir(), 'bench-corpus-'))
  const repo = buildCorpusRepo(shape, root)
  const sandbox = await startSandbox({ repoDir: repo.dir, controllerDelayMs })
  const token = ['ghp', `BENCHONLY${Math.random().toString(36).slice(2).padEnd(27, '0')}`].join('_')
  const prep = prepareCorpusRun(sandbox, shape, USER, token)
  return { root, repo, sandbox, env: worldEnv(root, sandbox, token, { ...repo.env, ...prep.env }) }
}

/** The largest corpus repo's converged rerun beside the sample's (target: within 2x), or why it was not measured. */
async function corpusRerun(log: (l: string) => void, sample: Sample[]): Promise<{ row?: Row; note?: string }> {
  const name = process.env.BENCH_CORPUS ?? 'homelab-today'
  log(`bench: converged rerun on the corpus repo ${name}`)
  let w: World | undefined
  try {
    w = await makeCorpusWorld(name, 20)
    await runnerSample(w, [])
    await w.sandbox.actors.settle()
    const runs = await repeat(Math.min(RUNS, 5), () => runnerSample(w!, []))
    return { row: { what: `converged rerun, corpus repo ${name} (\`scripts/run.ts\`)`, samples: runs.map((r) => r.ms), cpu: cpuOf(runs), unit: 'ms', target: 2 * median(sample.map((r) => r.ms)), note: 'target: twice the sample repo\'s converged rerun' } }
  } catch (err) {
    // a failed run's message is "run exited N:" and then its stderr: the cause is the ✖ line there
    const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter(Boolean)
    const cause = lines.find((l) => l.startsWith('✖')) ?? lines[0] ?? ''
    return { note: `converged rerun on the corpus repo ${name}: not measured (${cause})` }
  } finally {
    if (w) await dropWorld(w)
  }
}

async function dropWorld(w: World): Promise<void> {
  await w.sandbox.stop()
  rmSync(w.root, { recursive: true, force: true })
}

// ---- one whole process, timed from spawn to exit

interface Sample {
  ms: number
  code: number
  /** max RSS in MiB (GNU time), when available */
  rssMiB?: number
  /** user + system CPU time in ms (GNU time): steadier than wall time on a loaded machine */
  cpuMs?: number
  /** API paths (GETs) the run read more than once, with how often (sandbox read stats) */
  readTwice?: string[]
  mutating?: number
  requests?: number
  stderr: string
}

function runProcess(command: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Sample> {
  const memFile = join(tmpdir(), `bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const argv = GNU_TIME ? [GNU_TIME, '-f', '%M %U %S', '-o', memFile, ...command] : command
  return new Promise((done, fail) => {
    const started = performance.now()
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', fail)
    child.on('close', (code) => {
      const ms = performance.now() - started
      let rssMiB: number | undefined
      let cpuMs: number | undefined
      if (GNU_TIME && existsSync(memFile)) {
        const [kib, user, sys] = (readFileSync(memFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number)
        rssMiB = Number.isFinite(kib) ? kib! / 1024 : undefined
        cpuMs = Number.isFinite(user) && Number.isFinite(sys) ? (user! + sys!) * 1000 : undefined
        rmSync(memFile, { force: true })
      }
      done({ ms, code: code ?? -1, rssMiB, cpuMs, stderr })
    })
  })
}

const runner = (args: string[]) => [process.execPath, '--import', TSX, RUN, ...args]

async function runnerSample(w: World, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  w.sandbox.resetStats()
  const s = await runProcess(runner(args), { ...w.env, ...env }, join(w.root, 'cwd'))
  const stats = w.sandbox.stats()
  s.mutating = stats.mutatingTotal
  s.requests = Object.values(stats.requests).reduce((a, b) => a + b, 0)
  s.readTwice = Object.entries(stats.reads ?? {})
    .filter(([, n]) => n > 1)
    .map(([path, n]) => `${n}x ${decodeURIComponent(path)}`)
  if (s.code !== 0) throw new Error(`${args.join(' ') || 'run'} exited ${s.code}:\n${s.stderr}`)
  return s
}

async function repeat(n: number, once: () => Promise<Sample>): Promise<Sample[]> {
  await once() // warm-up: disk cache, tsx's transform cache
  const out: Sample[] = []
  for (let i = 0; i < n; i++) out.push(await once())
  return out
}

// ---- figures

interface Row {
  what: string
  samples: number[]
  /** CPU time of the same runs, when GNU time measured it */
  cpu?: number[]
  unit: 'ms'
  target?: number
  note?: string
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const cpuOf = (xs: Sample[]) => xs.map((x) => x.cpuMs).filter((x): x is number => x !== undefined)
const countOf = (xs: string[]) => [...new Set(xs)].map((c) => `${xs.filter((x) => x === c).length}x \`${c}\``).join(', ')
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`)
const verdict = (r: Row) => (r.target === undefined ? '' : median(r.samples) <= r.target ? `ok (< ${fmt(r.target)})` : `MISSED (target ${fmt(r.target)}, ${(median(r.samples) / r.target).toFixed(2)}x)`)

// ---- child processes of one run, by strace

interface Children {
  /** processes the runner itself started (zx's `bash -c` execs its command in the same process) */
  count: number
  commands: string[]
  /** processes those started in turn (git's own helpers, e.g. `git-upload-pack` under `ls-remote`) */
  helpers: string[]
}

async function childProcesses(w: World, args: string[]): Promise<Children | undefined> {
  if (!STRACE) return undefined
  const out = join(w.root, 'strace.txt')
  w.sandbox.resetStats()
  const s = await runProcess(['strace', '-f', '-qq', '-e', 'trace=execve,clone,clone3,fork,vfork', '-o', out, ...runner(args)], w.env, join(w.root, 'cwd'))
  if (s.code !== 0) throw new Error(`strace run exited ${s.code}: ${s.stderr}`)
  const lines = readFileSync(out, 'utf8').split('\n')
  const root = lines[0]?.split(/\s+/)[0]
  const byPid = new Map<string, string>()
  // who created whom (threads of the runner included), to tell the runner's children from theirs
  const parent = new Map<string, string>()
  const pending = new Map<string, string>()
  for (const l of lines) {
    const c = /^(\d+)\s+(?:clone3?|v?fork|<\.\.\. (?:clone3?|v?fork) resumed>).* = (\d+)$/.exec(l)
    if (c) parent.set(c[2]!, c[1]!)
    // an execve interrupted by another process's line comes as "<unfinished ...>" and "<... execve resumed>"
    const started = /^(\d+)\s+execve\("([^"]+)", \[(.*?)\].*<unfinished \.\.\.>$/.exec(l)
    if (started) pending.set(started[1]!, started[3]!)
    const resumed = /^(\d+)\s+<\.\.\. execve resumed>.* = 0$/.exec(l)
    const m = /^(\d+)\s+execve\("([^"]+)", \[(.*?)\].* = 0$/.exec(l)
    const pid = m?.[1] ?? resumed?.[1]
    const argv = m?.[3] ?? (resumed ? pending.get(resumed[1]!) : undefined)
    if (!pid || argv === undefined || pid === root) continue
    const args = [...argv.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!)
    byPid.set(pid, args.slice(0, 3).join(' ').replace(/\s+--.*$/, '').replace(/'?\/tmp\/bench-[^/\s]*(\/\S*)?/g, '<tmp>$1'))
  }
  // a process is the runner's own when no exec'd process is among its ancestors
  const ownedByRunner = (pid: string) => {
    for (let p = parent.get(pid); p && p !== root; p = parent.get(p)) if (byPid.has(p)) return false
    return true
  }
  const pids = [...byPid.keys()]
  return { count: pids.filter(ownedByRunner).length, commands: pids.filter(ownedByRunner).map((p) => byPid.get(p)!), helpers: pids.filter((p) => !ownedByRunner(p)).map((p) => byPid.get(p)!) }
}

// ---- the requests of one converged run, recorded by a TLS-terminating proxy in front of the sandbox
// (it serves the sandbox's own certificate and goes on upstream as the kubeconfig's admin)

async function recordRequests(w: World, args: string[]): Promise<{ method: string; path: string }[]> {
  const upstream = new URL(w.sandbox.url)
  const { pki } = w.sandbox
  const seen: { method: string; path: string }[] = []
  const server: Server = createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (client) => {
    const up = connect({ port: Number(upstream.port), host: upstream.hostname, ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem })
    let carry = ''
    client.on('data', (chunk: Buffer) => {
      const text = carry + chunk.toString('latin1')
      const re = /(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r\n/g
      let end = 0
      for (let m = re.exec(text); m; m = re.exec(text)) {
        seen.push({ method: m[1]!, path: m[2]! })
        end = m.index + m[0].length
      }
      carry = text.slice(Math.max(end, text.length - 400))
      up.write(chunk)
    })
    up.pipe(client)
    client.on('end', () => up.end())
    const close = () => {
      client.destroy()
      up.destroy()
    }
    client.on('error', close)
    up.on('error', close)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const kc = join(w.root, 'proxied.kubeconfig')
  writeFileSync(kc, readFileSync(w.sandbox.kubeconfigPath, 'utf8').replace(/server: .*/, `server: https://127.0.0.1:${port}`), { mode: 0o600 })
  const s = await runProcess(runner(args), { ...w.env, KUBECONFIG: kc }, join(w.root, 'cwd'))
  server.close()
  if (s.code !== 0) throw new Error(`proxied run exited ${s.code}: ${s.stderr}`)
  return seen
}

// ---- how soon a wait notices a change (the product's waitFor, in this process)

async function waitLatency(w: World, n: number): Promise<number[]> {
  const { loadConfig } = await import('../src/settings.ts')
  const { StateStore } = await import('../src/state.ts')
  const { kube } = await import('../src/cluster/kube.ts')
  const { settings, secrets } = loadConfig({ env: w.env, cwd: join(w.root, 'cwd') })
  const ctx = { settings, secrets, repoDir: w.repo.dir, projectDir: PROJECT, dryRun: false, yes: false, log: () => {}, touchedPaths: new Set<string>(), state: new StateStore(join(w.root, 'wait-state'), w.repo.dir) }
  const k = await kube(ctx)
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'argocd', name: 'bench-flip' }
  w.sandbox.store.upsert({ ...ref, metadata: { name: ref.name, namespace: ref.namespace }, data: { flag: 'start' } })
  const out: number[] = []
  for (let i = 0; i <= n; i++) {
    const want = `v${i}`
    let seenAt = 0
    const waiting = k.waitFor(ref, (o) => (o?.data?.flag === want ? ((seenAt = performance.now()), { ready: true }) : { waiting: `flag ${o?.data?.flag}` }), { timeoutMs: 10_000, what: 'bench flip' })
    // let the wait read the object and open its watch, so what is measured is the watch
    await new Promise((r) => setTimeout(r, 300))
    const flipped = performance.now()
    w.sandbox.store.upsert({ ...ref, metadata: { name: ref.name, namespace: ref.namespace }, data: { flag: want } })
    await waiting
    if (i > 0) out.push(seenAt - flipped) // the first is a warm-up
  }
  return out
}

// ---- main

function machine(): string {
  let free = ''
  try {
    free = execFileSync('free', ['-h'], { encoding: 'utf8' }).split('\n')[1]!.trim().replace(/\s+/g, ' ')
  } catch {
    free = `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`
  }
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim()
  return `nproc ${nproc} (${cpus()[0]?.model.trim() ?? 'cpu'}), free -h: \`${free}\`, Node ${process.version}, ${process.platform} ${process.arch}`
}

/**
 * How long a failing deploy takes to stop after each terminal state appears (target under 10 s),
 * timed in process from the sandbox showing the state to task 7's deploy throwing. Rewrites the
 * "bench-terminal" section of docs/QUALITY.md.
 */
async function terminalLatency(log: (line: string) => void): Promise<void> {
  const samples = Math.min(RUNS, 3)
  const rows: Row[] = []
  for (const c of TERMINAL_CASES) {
    log(`bench: time to fail, ${c.name} x${samples}`)
    const after: number[] = []
    const total: number[] = []
    for (let i = 0; i < samples; i++) {
      const r = await measureTerminal(c)
      after.push(r.afterAppearMs)
      total.push(r.totalMs)
    }
    rows.push({ what: `${c.name}: fails after the state appears`, samples: after, unit: 'ms', target: 10_000, note: `whole deploy until the failure: median ${fmt(median(total))}` })
  }
  const table = rows.map((r) => [r.what, fmt(median(r.samples)), fmt(Math.min(...r.samples)), fmt(Math.max(...r.samples)), verdict(r), r.note ?? ''])
  process.stdout.write(`\n${table.map((r) => r.join('  ')).join('\n')}\n`)
  replaceQualitySection(
    'bench-terminal',
    [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench\` (or \`BENCH=terminal npm run bench\`; ${samples} runs per row, each on a fresh sandbox; load average ${loadavg()[0]!.toFixed(1)}). Time from the sandbox showing the state to task 7's deploy throwing its SetupError (scripts/terminal-latency.ts).`,
      `Machine: ${machine()}.`,
      '',
      '| terminal state | median | min | max | target | note |',
      '| --- | --- | --- | --- | --- | --- |',
      ...table.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n'),
  )
}

async function main(): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`)
  if (process.env.BENCH === 'terminal') {
    await terminalLatency(log)
    return 0
  }
  if (process.env.BENCH === 'model') {
    const { measureModelCost } = await import('./model-cost.ts')
    replaceQualitySection('model-cost', (await measureModelCost(log)).join('\n'))
    return 0
  }
  const rows: Row[] = []
  const notes: string[] = []
  const load = () => loadavg()[0]!.toFixed(2)
  const loadBefore = load()
  // what `npm install` builds; the runs below use it (src/fast-start.ts) unless it is stale
  if (bundleStaleness(PROJECT)) {
    log('bench: building the CLI bundle (npm run build)')
    await buildBundle()
  }
  const startPath = bundleStaleness(PROJECT) ?? 'bundle'
  if (startPath !== 'bundle') log(`bench: the bundle is not used (${startPath}): measuring the sources`)

  // 1. converged reruns, on one world that has had its full run
  log('bench: setting up a converged world (full run)')
  const w = await makeWorld(20)
  let children: Children | undefined
  let recorded: { method: string; path: string }[] = []
  let converged: Sample[] = []
  let repoOnly: Sample[] = []
  let fromSources: Sample[] = []
  let help: Sample[] = []
  let list: Sample[] = []
  let tsxBare: Sample[] = []
  let probe: Sample[] = []
  let status: Sample[] = []
  try {
    const first = await runnerSample(w, [])
    log(`bench: full run ${fmt(first.ms)}, ${first.mutating} mutating requests`)
    await w.sandbox.actors.settle()
    // the setup's own pushes moved origin; the checkout already has them (it pushed them)

    log(`bench: converged rerun x${RUNS}`)
    converged = await repeat(RUNS, () => runnerSample(w, []))
    rows.push({ what: 'converged rerun, all tasks (`scripts/run.ts`)', samples: converged.map((s) => s.ms), cpu: cpuOf(converged), unit: 'ms', target: 1500 })
    const corpus = await corpusRerun(log, converged)
    if (corpus.row) rows.push(corpus.row)
    if (corpus.note) notes.push(corpus.note)
    fromSources = await repeat(Math.min(RUNS, 3), () => runnerSample(w, [], { SETUP_FROM_SOURCE: '1' }))
    rows.push({ what: 'the same from the sources (`SETUP_FROM_SOURCE=1`: no bundle)', samples: fromSources.map((s) => s.ms), cpu: cpuOf(fromSources), unit: 'ms' })

    log('bench: repo tasks only')
    repoOnly = await repeat(RUNS, () => runnerSample(w, ['--only', '0,2-6']))
    rows.push({ what: 'converged rerun, repo tasks only (`--only 0,2-6`)', samples: repoOnly.map((s) => s.ms), cpu: cpuOf(repoOnly), unit: 'ms', target: 600 })

    log('bench: --list, --help')
    const listRuns = await repeat(RUNS, () => runnerSample(w, ['--list']))
    rows.push({ what: '`--list`', samples: listRuns.map((s) => s.ms), cpu: cpuOf(listRuns), unit: 'ms', target: 400 })
    help = await repeat(RUNS, () => runnerSample(w, ['--help']))
    rows.push({ what: '`--help`', samples: help.map((s) => s.ms), cpu: cpuOf(help), unit: 'ms', target: 400 })
    list = listRuns
    tsxBare = await repeat(RUNS, () => runProcess([process.execPath, '--import', TSX, '-e', '0'], w.env, join(w.root, 'cwd')))
    rows.push({ what: 'reference: `node --import tsx -e 0`', samples: tsxBare.map((s) => s.ms), cpu: cpuOf(tsxBare), unit: 'ms' })
    const npxHelp = await repeat(Math.min(RUNS, 3), () => runProcess(['npx', 'tsx', RUN, '--help'], w.env, PROJECT))
    rows.push({ what: '`npx tsx scripts/run.ts --help` (npx and the tsx CLI on top)', samples: npxHelp.map((s) => s.ms), cpu: cpuOf(npxHelp), unit: 'ms', note: 'reference' })

    // status on the converged world: read-only, each object once (exit 0: every app kept up to date)
    log('bench: status')
    status = await repeat(RUNS, async () => {
      w.sandbox.resetStats()
      const s = await runProcess([process.execPath, '--import', TSX, STATUS], w.env, join(w.root, 'cwd'))
      s.mutating = w.sandbox.stats().mutatingTotal
      s.readTwice = Object.entries(w.sandbox.stats().reads ?? {}).filter(([, n]) => n > 1).map(([path, n]) => `${n}x ${decodeURIComponent(path)}`)
      if (s.code !== 0) throw new Error(`status exited ${s.code}:\n${s.stderr}`)
      return s
    })
    rows.push({ what: '`scripts/status.ts` after the setup (every app kept up to date)', samples: status.map((s) => s.ms), cpu: cpuOf(status), unit: 'ms' })
    if (status.some((s) => s.mutating)) notes.push(`status sent ${status.map((s) => s.mutating).join(', ')} mutating requests (it must send none)`)
    const statusReadTwice = [...new Set(status.flatMap((s) => s.readTwice ?? []))]
    if (statusReadTwice.length) notes.push(`status read ${statusReadTwice.length} object(s) more than once: ${statusReadTwice.join(', ')}`)

    log('bench: child processes (strace)')
    children = await childProcesses(w, [])

    log('bench: the floor (plain-Node probe)')
    recorded = await recordRequests(w, [])
    if (process.env.BENCH_VERBOSE) for (const r of recorded) log(`  ${r.method} ${decodeURIComponent(r.path)}`)
    const reads = recorded.filter((r) => r.method === 'GET')
    const execs = [...new Set(reads.filter((r) => r.path.includes('/exec?')).map((r) => r.path))]
    const discovery = (p: string) => /^\/(api|apis)(\/[^/]+)?(\/[^/]+)?\/?$/.test(p.split('?')[0]!) || p.startsWith('/version') || p.startsWith('/openapi')
    const watches = reads.filter((r) => /[?&]watch=(1|true)/.test(r.path))
    const gets = [...new Set(reads.filter((r) => !r.path.includes('/exec?') && !discovery(r.path) && !watches.includes(r)).map((r) => r.path))]
    const planFile = join(w.root, 'probe-plan.json')
    writeFileSync(planFile, JSON.stringify({ repoDir: w.repo.dir, kubeconfig: w.sandbox.kubeconfigPath, gets, execs }))
    probe = await repeat(RUNS, async () => {
      w.sandbox.resetStats()
      const s = await runProcess([process.execPath, '--import', TSX, PROBE, planFile], w.env, join(w.root, 'cwd'))
      if (s.code !== 0) throw new Error(`probe exited ${s.code}: ${s.stderr}`)
      return s
    })
    rows.push({ what: `floor: plain-Node probe (${gets.length} GETs, ${execs.length} execs, files, 1 git status)`, samples: probe.map((s) => s.ms), cpu: cpuOf(probe), unit: 'ms' })
    const nodeBare = await repeat(RUNS, () => runProcess([process.execPath, '-e', '0'], w.env, join(w.root, 'cwd')))
    rows.push({ what: 'reference: `node -e 0`', samples: nodeBare.map((s) => s.ms), cpu: cpuOf(nodeBare), unit: 'ms' })
    notes.push(
      `The converged run sent ${recorded.length} API requests: ${reads.filter((r) => !r.path.includes('/exec?') && !discovery(r.path)).length} GETs and LISTs, ${reads.filter((r) => discovery(r.path)).length} discovery GETs, ${reads.filter((r) => r.path.includes('/exec?')).length} execs, ${watches.length} watches, ${recorded.length - reads.length} writes; the probe sends each distinct read once (${gets.length} GETs, ${execs.length} execs), one after another, started the same way (\`node --import tsx\`).`,
    )

    log('bench: wait latency')
    const waits = await waitLatency(w, RUNS)
    rows.push({ what: 'a wait notices a flipped object (`waitFor`, in-process)', samples: waits, unit: 'ms', target: 100 })
  } finally {
    await dropWorld(w)
  }

  // 2. first full runs, fresh world each, controller delays at zero
  log(`bench: first full run x${RUNS} (controller delays 0)`)
  const fulls: Sample[] = []
  for (let i = 0; i <= RUNS; i++) {
    const fw = await makeWorld(0)
    try {
      const s = await runnerSample(fw, [])
      if (i > 0) fulls.push(s)
    } finally {
      await dropWorld(fw)
    }
  }
  rows.push({ what: 'first full run, tasks 0-9 (sandbox controller delays 0)', samples: fulls.map((s) => s.ms), cpu: cpuOf(fulls), unit: 'ms' })

  // 3. how soon a failing deploy stops (its own section of QUALITY.md)
  await terminalLatency(log)

  // ---- print
  const table = [
    ['what', 'median', 'min', 'max', 'CPU (median)', 'target'],
    ...rows.map((r) => [r.what, fmt(median(r.samples)), fmt(Math.min(...r.samples)), fmt(Math.max(...r.samples)), r.cpu?.length ? fmt(median(r.cpu)) : '', verdict(r)]),
  ]
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
  process.stdout.write(`\n${table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}\n\n`)

  // issue 14's targets, as ratios of medians (wall time; CPU time alongside, steadier under load)
  const med = (xs: Sample[], pick: (s: Sample) => number | undefined) => median(xs.map((x) => pick(x) ?? NaN))
  const ratioRows = [
    { what: 'converged rerun / `--help`', a: converged, b: help, target: 3 },
    { what: 'converged rerun / plain-Node probe', a: converged, b: probe, target: 3 },
    { what: '`--list` / `node --import tsx -e 0`', a: list, b: tsxBare, target: 1.5 },
    { what: '`--help` / `node --import tsx -e 0`', a: help, b: tsxBare, target: 1.5 },
    { what: '`scripts/status.ts` / `--help`', a: status, b: help, target: 3 },
  ].map((r) => {
    const wall = med(r.a, (x) => x.ms) / med(r.b, (x) => x.ms)
    const cpu = med(r.a, (x) => x.cpuMs) / med(r.b, (x) => x.cpuMs)
    return { ...r, wall, cpu, ok: wall <= r.target }
  })
  const ratioTable = [
    '| ratio (medians) | wall time | CPU time | target | result |',
    '| --- | --- | --- | --- | --- |',
    ...ratioRows.map((r) => `| ${r.what} | ${r.wall.toFixed(2)}x | ${Number.isFinite(r.cpu) ? `${r.cpu.toFixed(2)}x` : ''} | at most ${r.target}x | ${r.ok ? 'ok' : 'MISSED'} |`),
  ]
  const readTwice = [...new Set(converged.flatMap((s) => s.readTwice ?? []))]
  const maxMutating = Math.max(...converged.map((s) => s.mutating ?? 0), ...repoOnly.map((s) => s.mutating ?? 0))
  const rss = (xs: Sample[]) => Math.max(...xs.map((s) => s.rssMiB ?? 0))
  const facts = [
    `mutating API requests per converged rerun: ${converged.map((s) => s.mutating).join(', ')} (target 0); API requests per converged rerun (sandbox count, discovery not counted): ${median(converged.map((s) => s.requests ?? 0))}`,
    children
      ? `child processes of a converged rerun (strace -f): **${children.count}** started by the runner (target at most 4): ${countOf(children.commands)}; and ${children.helpers.length} started by those in turn (git's own helpers): ${countOf(children.helpers) || 'none'}`
      : 'child processes: strace not installed, not counted',
    `API objects read more than once in a converged rerun (sandbox read stats, every GET by path; watches and execs aside): **${readTwice.length}** (target 0)${readTwice.length ? `: ${readTwice.join(', ')}` : ''}`,
    GNU_TIME ? `peak memory (max RSS, GNU time): converged rerun **${rss(converged).toFixed(0)} MiB** (target under 150 MiB), from the sources ${rss(fromSources).toFixed(0)} MiB, repo tasks only ${rss(repoOnly).toFixed(0)} MiB, first full run ${rss(fulls).toFixed(0)} MiB` : 'peak memory: /usr/bin/time not installed',
    `started from: ${startPath === 'bundle' ? 'the prebuilt bundle (build/cli, fresh)' : `the sources (${startPath})`}`,
    `first full run: ${fulls.map((s) => s.mutating).join(', ')} mutating requests`,
    `load average (1 min) before / after: ${loadBefore} / ${load()}`,
  ]
  process.stdout.write(`${ratioTable.join('\n').replace(/\*\*/g, '')}\n\n`)
  for (const f of facts) process.stdout.write(`${f.replace(/\*\*/g, '')}\n`)
  for (const n of notes) process.stdout.write(`${n.replace(/\*\*/g, '')}\n`)

  const missed = rows.filter((r) => r.target !== undefined && median(r.samples) > r.target)
  const childMiss = children && children.count > 4
  const memMiss = GNU_TIME && rss(converged) >= 150
  replaceQualitySection(
    'bench',
    [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench\` (${RUNS} runs per row after one warm-up; each is a whole process, \`node --import tsx scripts/run.ts\`, timed from spawn to exit).`,
      `Machine: ${machine()}.`,
      '',
      '| what | median | min | max | CPU (median) | target |',
      '| --- | --- | --- | --- | --- | --- |',
      ...table.slice(1).map((r) => `| ${r.join(' | ')} |`),
      '',
      ...ratioTable,
      '',
      ...facts.map((f) => `- ${f}`),
      ...notes.map((n) => `- ${n}`),
      '',
      `Targets missed in this run: ${[...missed.map((r) => r.what), ...ratioRows.filter((r) => !r.ok).map((r) => r.what), ...(childMiss ? ['child processes'] : []), ...(memMiss ? ['peak memory'] : []), ...(readTwice.length ? ['objects read twice'] : []), ...(maxMutating ? ['mutating requests'] : [])].join('; ') || 'none'}.`,
      '<!-- notes on misses are kept below the generated part -->',
    ].join('\n'),
  )
  return 0
}

process.exitCode = await main()
