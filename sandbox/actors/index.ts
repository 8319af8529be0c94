// Entry point of the parts the sandbox plays: seeds the cluster from the GitOps repo, then runs the
// Argo CD, Deployment, ESO and Image Updater controllers on short timers until stopped.
import { isAbsolute, resolve } from 'node:path'
import { Store, type KObject } from '../store.ts'
import { generatedApplications, reconcileApplicationSets } from './applicationset.ts'
import { Pods, type PodRuntime } from '../apiserver/pods.ts'
import { ClusterDirectory, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, planClusters, type ClusterHandle } from './clusters.ts'
import { ArgoCdController } from './argocd.ts'
import { GitRemote, git, normaliseRepoUrl } from './git-source.ts'
import { GitPushPolicy, ImageUpdaterController } from './image-updater.ts'
import { ControllerLoop } from './loop.ts'
import { InMemoryRegistry } from './registry.ts'
import { OpaqueApps, scanRepo, seedCluster, type RepoScan, type SeededProblem, type StartReport } from './seed.ts'
import { reconcileK3s } from './k3s.ts'
import { reconcileStatefulWorkloads } from './stateful-workloads.ts'
import { reconcileExternalSecrets } from './eso.ts'
import { runVaultCli, VaultState } from './vault.ts'
import { reconcileDeployments, type PodFaults } from './workloads.ts'

export interface ActorEnv {
  store: Store
  pods: PodRuntime
  repoDir: string
  log: (line: string) => void
  controllerDelayMs?: number
  problems?: Record<string, SeededProblem>
  /** Starts the API of another cluster the repo deploys to (absent: its objects are kept in memory only). */
  addCluster?(name: string, server: string): Promise<{ store: Store; pods: PodRuntime }>
}
export interface Actors {
  registry: { pushTag(image: string, tag: string, builtAt?: Date): void; setAuth(username: string, token: string): void; tags(image: string): string[] }
  /** the Git host's rules for Image Updater's write-back push (test switches) */
  gitHost: { readOnlyToken(token: string): void; protectBranch(branch: string): void; reset(): void }
  /** a registry webhook reaching Image Updater (it then processes every ImageUpdater at once) */
  imageUpdaterWebhook(): void
  vault: { seal(): void; unseal(): void; logout(): void; login(token: string): void; read(path: string): Record<string, string> | undefined; remove(path: string): void }
  /**
   * switches for failure tests: a sync that fails, pods stuck in a waiting reason (undefined: off),
   * an app's next sync operation held under way until the returned function releases it
   */
  faults: { failSync(app: string, message: string | undefined): void; podWaiting(namespace: string, deployment: string, reason: string | undefined): void; holdSync(app: string): () => void }
  /** What the seeder made of the repo: each app's sync and health, and what it could not model. */
  report: StartReport
  /** in-cluster (Argo CD's) and every other cluster the repo's Applications deploy to */
  clusters: ClusterDirectory
  settle(): Promise<void>
  stop(): Promise<void>
}

const SETTLE_TIMEOUT_MS = 30_000

/** The bare remote `origin` of the checkout, and every URL that names this repository. */
async function repoIdentity(repoDir: string): Promise<{ remote: GitRemote; urls: Set<string>; scan: RepoScan }> {
  const originUrl = (await git(['-C', repoDir, 'remote', 'get-url', 'origin'])).trim()
  const bare = originUrl.startsWith('file://') ? originUrl.slice('file://'.length) : isAbsolute(originUrl) ? originUrl : resolve(repoDir, originUrl)
  const remote = new GitRemote(bare)
  const urls = new Set([normaliseRepoUrl(originUrl), normaliseRepoUrl(bare), normaliseRepoUrl(`file://${bare}`)])
  const scan = await scanRepo(remote)
  // The repoURLs the repo's own Applications use for it (chart sources are other repositories).
  for (const o of scan.applications) for (const s of [o.spec?.source, ...(o.spec?.sources ?? [])]) if (s?.repoURL && !s.chart) urls.add(normaliseRepoUrl(s.repoURL))
  // and those of the ApplicationSets: their git generators and their templates' sources
  for (const set of scan.applicationSets) {
    for (const g of set.spec?.generators ?? []) if (g?.git?.repoURL) urls.add(normaliseRepoUrl(g.git.repoURL))
    const t = set.spec?.template?.spec
    for (const s of [t?.source, ...(t?.sources ?? [])]) if (s?.repoURL && !s.chart && !String(s.repoURL).includes('{{')) urls.add(normaliseRepoUrl(s.repoURL))
  }
  return { remote, urls, scan }
}

export async function startActors(env: ActorEnv): Promise<Actors> {
  const delay = env.controllerDelayMs ?? 50
  const { remote, urls, scan } = await repoIdentity(env.repoDir)
  const remoteFor = (repoURL: string) => (urls.has(normaliseRepoUrl(repoURL)) ? remote : undefined)
  // the destinations of the Applications the ApplicationSets generate count too
  const generated: KObject[] = []
  for (const set of scan.applicationSets) generated.push(...(await generatedApplications(set, { store: env.store, remoteFor, log: env.log })).apps)
  const planned = planClusters([...scan.applications, ...generated], scan.clusterDocs)
  const others: ClusterHandle[] = []
  for (const p of planned) others.push({ name: p.name, server: p.server, ...(env.addCluster ? await env.addCluster(p.name, p.server) : { store: new Store(), pods: new Pods() }) })
  const clusters = new ClusterDirectory({ name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, store: env.store, pods: env.pods }, others)
  const opaque = new OpaqueApps()
  const vault = new VaultState()
  const registry = new InMemoryRegistry()
  const argo = new ArgoCdController({
    store: env.store,
    log: env.log,
    remoteFor,
    opaque: (app) => opaque.has(app),
    destination: (app) => {
      const r = clusters.resolve(app.metadata.name, app.spec?.destination)
      return 'cluster' in r ? { store: r.cluster.store, cluster: r.cluster.name } : r
    },
  })
  const gitPolicy = new GitPushPolicy()
  const imageUpdater = new ImageUpdaterController({ store: env.store, pods: env.pods, registry, remoteFor, log: env.log, gitPolicy })

  // a vault write changes what ESO reads without a store write: it wakes the controllers too
  let wakeControllers = () => {}
  const report = await seedCluster({ store: env.store, remote, scan, argo, opaque, remoteFor, vault, registry, log: env.log, problems: env.problems, clusters, planned })
  // vault-0 runs on the cluster the ClusterSecretStores' address names (seedCluster placed it)
  ;(clusters.byName(report.vaultCluster) ?? clusters.inCluster).pods.registerExec('vault', 'vault-0', async (command, stdin) => {
    const result = await runVaultCli(vault, command, stdin)
    wakeControllers()
    return result
  })

  const podFaults: PodFaults = new Map()
  const onError = (name: string, err: unknown) => env.log(`sandbox ${name}: ${(err as Error)?.stack ?? String(err)}`)
  // The standalone sandbox (no delay given) backs off while idle, so it does not burn a core for
  // hours; tests and the demo choose their delay and keep a fixed pace (their timings rely on it).
  const backOff = env.controllerDelayMs === undefined ? 20 : 1
  const loops = [
    new ControllerLoop(
      'argocd',
      delay,
      async () => {
        await reconcileApplicationSets({ store: env.store, remoteFor, log: env.log })
        await argo.reconcileAll()
      },
      onError,
      delay * backOff,
    ),
    // each cluster runs its own kube-controller-manager, k3s parts and (where it has a store) ESO;
    // every ESO reads the one Vault, wherever it runs
    new ControllerLoop('deployments', delay, async () => void clusters.all.forEach((c) => reconcileDeployments(c.store, podFaults)), onError, delay * backOff),
    new ControllerLoop('workloads', delay, async () => void clusters.all.forEach((c) => reconcileStatefulWorkloads(c.store)), onError, delay * backOff),
    new ControllerLoop('k3s', delay, async () => void clusters.all.forEach((c) => reconcileK3s(c.store)), onError, delay * backOff),
    new ControllerLoop('external-secrets', delay, async () => void clusters.all.forEach((c) => c.store.typeOf('external-secrets.io/v1', 'ExternalSecret') && reconcileExternalSecrets(c.store, vault)), onError, delay * backOff),
    // The real interval is 2m; a few cycles keeps its log readable while tests stay fast.
    new ControllerLoop('image-updater', delay * 4, () => imageUpdater.cycle(), onError, delay * 4 * backOff),
  ]
  let writes = 0
  // every write wakes the controllers from their idle back-off (src: sandbox/actors/loop.ts)
  const wakeAll = () => {
    for (const l of loops) l.wake()
  }
  wakeControllers = wakeAll
  const unwatches = clusters.all.map((c) =>
    c.store.watch(() => {
      writes++
      wakeAll()
    }),
  )
  for (const l of loops) l.start()

  return {
    report,
    clusters,
    registry: {
      pushTag: (i, t, b) => {
        registry.pushTag(i, t, b)
        wakeAll()
      },
      setAuth: (u, t) => registry.setAuth(u, t),
      tags: (i) => registry.tagNames(i),
    },
    gitHost: {
      readOnlyToken: (token) => void gitPolicy.readOnlyTokens.add(token),
      protectBranch: (branch) => void gitPolicy.protectedBranches.add(branch),
      reset: () => {
        gitPolicy.readOnlyTokens.clear()
        gitPolicy.protectedBranches.clear()
      },
    },
    imageUpdaterWebhook: () => imageUpdater.webhookEvent(),
    vault: {
      seal: () => void (vault.sealed = true),
      unseal: () => void (vault.sealed = false),
      logout: () => void (vault.podToken = undefined),
      login: (token) => {
        vault.validTokens.add(token)
        vault.podToken = token
      },
      read: (path) => vault.readLatest(VaultState.apiPath(path))?.data,
      remove: (path) => {
        vault.kv.delete(VaultState.apiPath(path))
        wakeAll()
      },
    },
    faults: {
      failSync: (app, message) => void (message ? argo.faults.failSync.set(app, message) : argo.faults.failSync.delete(app)),
      podWaiting: (namespace, deployment, reason) => void (reason ? podFaults.set(`${namespace}/${deployment}`, reason) : podFaults.delete(`${namespace}/${deployment}`)),
      holdSync: (app) => argo.holdSync(app),
    },
    async settle() {
      // Quiet = every controller ran a whole cycle and nothing in the cluster changed meanwhile.
      const deadline = Date.now() + SETTLE_TIMEOUT_MS
      for (;;) {
        const before = writes
        await Promise.all(loops.map((l) => l.nextCycle()))
        if (writes === before) return
        if (Date.now() > deadline) throw new Error('sandbox actors did not settle within 30s')
      }
    },
    async stop() {
      for (const unwatch of unwatches) unwatch()
      await Promise.all(loops.map((l) => l.stop()))
    },
  }
}
