// Starts the whole sandbox: a fresh CA and certificates, the object store, the API server on
// https://127.0.0.1, a kubeconfig shaped like k3s's that points at it, and the simulated
// controllers (Argo CD, ESO, Vault, Image Updater) from sandbox/actors.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPki, type Pki } from './apiserver/pki.ts'
import { Pods, type PodRuntime } from './apiserver/pods.ts'
import { startApiServer } from './apiserver/server.ts'
import { Faults, Stats, type FaultSwitches, type SandboxStats } from './apiserver/stats.ts'
import { Store } from './store.ts'
import type { ActorEnv, Actors } from './actors/index.ts'
import type { SeededProblem } from './actors/seed.ts'

export type { SandboxStats } from './apiserver/stats.ts'
export type { FaultSwitches } from './apiserver/stats.ts'

export type { Actors } from './actors/index.ts'

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
export function kubeconfigYaml(url: string, pki: Pki, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ${CONTEXT_NAME}
  cluster:
    certificate-authority-data: ${base64(pki.caPem)}
    server: ${url}
users:
- name: ${CONTEXT_NAME}
  user:
    client-certificate-data: ${base64(pki.client.certPem)}
    client-key-data: ${base64(pki.client.keyPem)}
- name: ${TOKEN_CONTEXT_NAME}
  user:
    token: ${token}
contexts:
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
current-context: ${CONTEXT_NAME}
`
}

/** Stands in when actors are disabled: nothing runs, and asking them for anything says so. */
function noActors(): Actors {
  const off = () => {
    throw new Error('the sandbox was started with actors: false')
  }
  return {
    registry: { pushTag: off, setAuth: off },
    gitHost: { readOnlyToken: off, protectBranch: off, reset: off },
    imageUpdaterWebhook: off,
    vault: { seal: off, unseal: off, logout: off, login: off, read: off, remove: off },
    faults: { failSync: off, podWaiting: off, holdSync: off },
    report: { apps: [], opaque: [], crds: [], unknownKinds: [], unmodelled: [] },
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
  const server = await startApiServer({ store, pods, stats, faults, pki, token, port: opts.port })
  const ownDir = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'k8s-sandbox-'))
  const kubeconfigPath = join(dir, 'kubeconfig')
  let actors: Actors
  try {
    writeFileSync(kubeconfigPath, kubeconfigYaml(server.url, pki, token), { mode: 0o600 })
    actors = opts.actors === false ? noActors() : await loadActors({ store, pods, repoDir: opts.repoDir, log, controllerDelayMs: opts.controllerDelayMs, problems: opts.problems })
    if (opts.strict && actors.report.unmodelled.length) {
      await actors.stop()
      throw new Error(`the sandbox could not model ${actors.report.unmodelled.length} part(s) of ${opts.repoDir} (strict): ${actors.report.unmodelled.join('; ')}`)
    }
  } catch (e) {
    await server.close()
    if (ownDir) rmSync(dir, { recursive: true, force: true })
    throw e
  }
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
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    faults,
    async stop() {
      if (stopped) return
      stopped = true
      try {
        await actors.stop()
      } finally {
        await server.close()
        if (ownDir) rmSync(dir, { recursive: true, force: true })
        else rmSync(kubeconfigPath, { force: true })
      }
    },
  }
}
