// Starts the whole sandbox: a fresh CA and certificates, the object store, the API server on
// https://127.0.0.1, a kubeconfig shaped like k3s's that points at it, and the simulated
// controllers (Argo CD, ESO, Vault, Image Updater) from sandbox/actors.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPki, type Pki } from './apiserver/pki.ts'
import { Pods, type PodRuntime } from './apiserver/pods.ts'
import { ClusterDirectory, IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from './actors/clusters.ts'
import { startApiServer } from './apiserver/server.ts'
import { Faults, Stats, type FaultSwitches, type SandboxStats } from './apiserver/stats.ts'
import { Store } from './store.ts'
import { serveControl, CONTROL_DIR } from './control.ts'
import type { ActorEnv, Actors } from './actors/index.ts'
import type { SeededProblem } from './actors/seed.ts'

export type { SandboxStats } from './apiserver/stats.ts'
export type { FaultSwitches } from './apiserver/stats.ts'

export type { Actors } from './actors/index.ts'

/** A cluster besides in-cluster (another destination of the repo's Applications), with its own API. */
export interface SandboxCluster {
  /** Argo CD's name for it, also its kubeconfig context */
  name: string
  /** its address as the repo names it (what Argo CD's cluster Secret says) */
  server: string
  /** where the sandbox serves its API (https://127.0.0.1:<port>) */
  url: string
  pki: Pki
  store: Store
  pods: PodRuntime
}

export interface Sandbox {
  url: string
  kubeconfigPath: string
  /** The admin context (client certificate); TOKEN_CONTEXT_NAME is the same cluster with the bearer token. */
  contextName: string
  /** This start's CA and certificates (the kubeconfig holds the CA and the client pair). */
  pki: Pki
  /** The bearer token of the kubeconfig's token user. */
  token: string
  store: Store
  /** The exec/log hooks (the same the actors get), e.g. for tests that stand up their own pod. */
  pods: PodRuntime
  actors: Actors
  /** the other clusters the repo deploys to, each with its own API, store and certificates (none for a single-cluster repo) */
  clusters: SandboxCluster[]
  /** settings a run against this sandbox needs beyond KUBECONFIG (VAULT_KUBE_CONTEXT when Vault runs on another cluster) */
  settings: Record<string, string>
  stats(): SandboxStats
  resetStats(): void
  faults: FaultSwitches
  stop(): Promise<void>
}

export interface SandboxOptions {
  repoDir: string
  port?: number
  /** Where the kubeconfig goes; a temp dir (removed by stop()) when absent. */
  dir?: string
  controllerDelayMs?: number
  /** the certificates to serve and sign in with (default: new ones, valid from now) */
  pki?: Pki
  log?: (line: string) => void
  /** false: only the API server, no simulated controllers (the API server's own tests). */
  actors?: boolean
  /** true: refuse to start when the sandbox could not model part of the repo (opaque apps, unknown kinds, permissive CRDs). */
  strict?: boolean
  /** Applications to seed Degraded or OutOfSync on purpose (tests of earlier problems). */
  problems?: Record<string, SeededProblem>
}

export const CONTEXT_NAME = 'sandbox'
export const TOKEN_CONTEXT_NAME = 'sandbox-token'

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

/**
 * A kubeconfig as k3s writes one (/etc/rancher/k3s/k3s.yaml): the CA and the admin client pair
 * inline as base64 data, the server as https://127.0.0.1:<port>. A second user and context carry
 * the bearer token, the other credential a real kubeconfig may hold.
 */
export function kubeconfigYaml(url: string, pki: Pki, token: string, others: { name: string; url: string; pki: Pki }[] = []): string {
  // each other cluster: its own CA, server and admin client pair, context named as Argo CD names it
  const clusters = others.map((o) => `- name: ${o.name}\n  cluster:\n    certificate-authority-data: ${base64(o.pki.caPem)}\n    server: ${o.url}\n`).join('')
  const users = others.map((o) => `- name: ${o.name}\n  user:\n    client-certificate-data: ${base64(o.pki.client.certPem)}\n    client-key-data: ${base64(o.pki.client.keyPem)}\n`).join('')
  const contexts = others.map((o) => `- name: ${o.name}\n  context:\n    cluster: ${o.name}\n    user: ${o.name}\n    namespace: default\n`).join('')
  return `apiVersion: v1
kind: Config
clusters:
- name: ${CONTEXT_NAME}
  cluster:
    certificate-authority-data: ${base64(pki.caPem)}
    server: ${url}
${clusters}users:
- name: ${CONTEXT_NAME}
  user:
    client-certificate-data: ${base64(pki.client.certPem)}
    client-key-data: ${base64(pki.client.keyPem)}
- name: ${TOKEN_CONTEXT_NAME}
  user:
    token: ${token}
${users}contexts:
- name: ${CONTEXT_NAME}
  context:
    cluster: ${CONTEXT_NAME}
    user: ${CONTEXT_NAME}
    namespace: default
- name: ${TOKEN_CONTEXT_NAME}
  context:
    cluster: ${CONTEXT_NAME}
    user: ${TOKEN_CONTEXT_NAME}
    namespace: default
${contexts}current-context: ${CONTEXT_NAME}
`
}

export const LOCK_FILE = 'sandbox.lock'

/** A pid that names a running process (signal 0 only checks; EPERM means it runs as another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `dir` for this sandbox: a lock file with the pid, made exclusively. A lock whose process is
 * gone is stale and taken over; a live one refuses with its pid, so a second sandbox never
 * overwrites the kubeconfig the first one's users hold. Returns the lock's own content, which
 * stop() checks before removing anything.
 */
export function lockDir(dir: string): string {
  const path = join(dir, LOCK_FILE)
  const mine = `${process.pid} ${randomBytes(6).toString('hex')}\n`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 })
      return mine
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let held = ''
    try {
      held = readFileSync(path, 'utf8')
    } catch {
      continue // removed meanwhile: try again
    }
    const pid = Number(held.split(' ')[0])
    if (Number.isInteger(pid) && pid > 0 && running(pid))
      throw new Error(`another sandbox (pid ${pid}) is using ${dir}: its kubeconfig is ${join(dir, 'kubeconfig')}. Stop it first (Ctrl-C in its terminal, or kill ${pid}), or start this one with another --dir`)
    rmSync(path, { force: true }) // stale: its process is gone
  }
  throw new Error(`could not lock ${dir} for the sandbox (${path} keeps coming back); remove it when no sandbox runs there`)
}

/** Removes what this sandbox wrote in a --dir it locked, only while the lock is still its own. */
function releaseDir(dir: string, lock: string, files: string[]): void {
  let held = ''
  try {
    held = readFileSync(join(dir, LOCK_FILE), 'utf8')
  } catch {
    return
  }
  if (held !== lock) return
  for (const f of files) rmSync(join(dir, f), { force: true, recursive: true })
  rmSync(join(dir, LOCK_FILE), { force: true })
}

/** Stands in when actors are disabled: nothing runs, and asking them for anything says so. */
function noActors(store: Store, pods: PodRuntime): Actors {
  const off = () => {
    throw new Error('the sandbox was started with actors: false')
  }
  return {
    registry: { pushTag: off, setAuth: off, tags: off },
    gitHost: { readOnlyToken: off, protectBranch: off, reset: off },
    imageUpdaterWebhook: off,
    vault: { seal: off, unseal: off, logout: off, login: off, read: off, remove: off },
    faults: { failSync: off, podWaiting: off, holdSync: off },
    report: { apps: [], opaque: [], crds: [], unknownKinds: [], unmodelled: [], clusters: [], vaultCluster: IN_CLUSTER_NAME },
    clusters: new ClusterDirectory({ name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, store, pods }, []),
    settle: async () => {},
    stop: async () => {},
  }
}

async function loadActors(env: ActorEnv): Promise<Actors> {
  // Loaded lazily so the API server alone (actors: false) never loads the controllers.
  const { startActors } = await import('./actors/index.ts')
  return startActors(env)
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const log = opts.log ?? (() => {})
  const store = new Store()
  const pods = new Pods()
  const stats = new Stats()
  const faults = new Faults()
  const token = `sandbox-${randomBytes(12).toString('hex')}`
  const pki = opts.pki ?? createPki()
  const ownDir = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'k8s-sandbox-'))
  // before anything is served or written: a dir in use is refused with the other sandbox's pid
  if (!ownDir) mkdirSync(dir, { recursive: true })
  const lock = lockDir(dir)
  let server: Awaited<ReturnType<typeof startApiServer>>
  try {
    server = await startApiServer({ store, pods, stats, faults, pki, token, port: opts.port })
  } catch (e) {
    if (ownDir) rmSync(dir, { recursive: true, force: true })
    else releaseDir(dir, lock, [])
    throw e
  }
  const kubeconfigPath = join(dir, 'kubeconfig')
  let actors: Actors
  // the other clusters the repo deploys to: each its own store, CA and certificates, and port
  const others: (SandboxCluster & { close(): Promise<void> })[] = []
  const addCluster = async (name: string, serverUrl: string) => {
    const own = { store: new Store(), pods: new Pods(), pki: createPki() }
    // one request account for every cluster (a converged rerun writes nothing anywhere, no secret on
    // any command line, vault-0's execs included); reads keyed by cluster, the same path on two
    // clusters being two objects
    const counted = {
      count: (key: string, mutating: boolean) => stats.count(key, mutating),
      tlsConnection: () => stats.tlsConnection(),
      read: (path: string) => stats.read(`${name}:${path}`),
      exec: (command: string[]) => stats.exec(command),
      body: (text: string) => stats.body(text),
      snapshot: () => stats.snapshot(),
      reset: () => stats.reset(),
    } as unknown as Stats
    const api = await startApiServer({ ...own, stats: counted, faults: new Faults(), token: `sandbox-${randomBytes(12).toString('hex')}` })
    others.push({ name, server: serverUrl, url: api.url, ...own, close: () => api.close() })
    return own
  }
  const closeAll = async () => {
    await server.close()
    for (const o of others) await o.close()
  }
  try {
    writeFileSync(kubeconfigPath, kubeconfigYaml(server.url, pki, token), { mode: 0o600 })
    actors = opts.actors === false ? noActors(store, pods) : await loadActors({ store, pods, repoDir: opts.repoDir, log, controllerDelayMs: opts.controllerDelayMs, problems: opts.problems, addCluster })
    if (others.length) writeFileSync(kubeconfigPath, kubeconfigYaml(server.url, pki, token, others), { mode: 0o600 })
    if (opts.strict && actors.report.unmodelled.length) {
      await actors.stop()
      throw new Error(`the sandbox could not model ${actors.report.unmodelled.length} part(s) of ${opts.repoDir} (strict): ${actors.report.unmodelled.join('; ')}`)
    }
  } catch (e) {
    await closeAll()
    if (ownDir) rmSync(dir, { recursive: true, force: true })
    else releaseDir(dir, lock, ['kubeconfig'])
    throw e
  }
  // a run needs to know where Vault runs when it is not beside Argo CD
  const settings: Record<string, string> = actors.report.vaultCluster && actors.report.vaultCluster !== IN_CLUSTER_NAME ? { VAULT_KUBE_CONTEXT: actors.report.vaultCluster } : {}
  // another terminal publishes image tags through the dir (`scripts/sandbox.ts publish`)
  const stopControl =
    opts.actors === false
      ? () => {}
      : serveControl(dir, (req) => {
          actors.registry.pushTag(req.image, req.tag)
          log(`registry: ${req.image}:${req.tag} published by hand`)
          return { ok: true, message: `published ${req.image}:${req.tag} to the sandbox registry (built now); Image Updater sees it on its next cycle` }
        })
  let stopped = false
  return {
    url: server.url,
    kubeconfigPath,
    contextName: CONTEXT_NAME,
    pki,
    token,
    store,
    pods,
    actors,
    clusters: others.map(({ close: _close, ...c }) => c),
    settings,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    faults,
    async stop() {
      if (stopped) return
      stopped = true
      stopControl()
      try {
        await actors.stop()
      } finally {
        await closeAll()
        if (ownDir) rmSync(dir, { recursive: true, force: true })
        else releaseDir(dir, lock, ['kubeconfig', CONTROL_DIR])
      }
    },
  }
}
