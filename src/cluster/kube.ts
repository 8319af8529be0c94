// Cluster access for the cluster tasks, through @kubernetes/client-node only (no kubectl at run time).
// The client library costs about a second to load, so it is imported lazily: repo tasks never pay it.
// One client per Ctx (WeakMap), never module-level state that outlives a run.
import { Readable, Writable } from 'node:stream'
import { delimiter } from 'node:path'
import { existsSync } from 'node:fs'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { shareOneAgent } from './agent.ts'
import { clientCertificateProblem } from './client-cert.ts'
import { listedKubeconfigs, unreadableKubeconfigFix } from './kubeconfig-file.ts'
import { runReads } from '../run-reads.ts'
import { withReadCache } from './read-cache.ts'

/** The manager name Kubernetes records for every field this setup writes. */
export const FIELD_MANAGER = 'image-updater-setup'

export interface KRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

export interface KObj {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
    creationTimestamp?: string | Date
    [k: string]: unknown
  }
  [k: string]: any
}

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

/** What a wait sees each time the object changes: done, still waiting (and why), or a final failure. */
export type WaitState = { ready: true } | { waiting: string } | { failed: string }
export type WaitCheck = (obj: KObj | undefined) => WaitState | Promise<WaitState>

export interface WaitOptions {
  timeoutMs: number
  /** "Application argocd/it-tools Synced and Healthy at 1a2b3c4" */
  what: string
  /** what the user should do when the wait times out */
  fix?: string
  /** also run the check again this often on the last object seen (checks that read other objects) */
  recheckMs?: number
}

export interface Kube {
  /** the kube context actually used: KUBE_CONTEXT, or the current-context when that is empty */
  contextName: string
  /** the kubeconfig's current-context (what kubectl would use) */
  currentContext: string
  contextNames: string[]
  /** the API server of each context of the kubeconfig */
  contextServers: Record<string, string>
  server: string
  get(ref: KRef): Promise<KObj | undefined>
  list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KObj[]>
  /** server-side apply; `force` only for objects this setup owns */
  apply(obj: KObj, opts: { force: boolean }): Promise<KObj>
  /** JSON merge patch (annotations, sync operations, pausing auto-prune) */
  mergePatch(ref: KRef, patch: unknown): Promise<KObj>
  /** deletes (background propagation); false when it was not there */
  delete(ref: KRef): Promise<boolean>
  /** resolves with the object once `check` says ready; watches, reconnecting when a watch drops */
  waitFor(ref: KRef, check: WaitCheck, opts: WaitOptions): Promise<KObj>
  exec(namespace: string, pod: string, container: string | undefined, command: string[], stdin?: string | Buffer): Promise<ExecResult>
  logs(namespace: string, pod: string, container: string | undefined, tailLines: number): Promise<string>
}

type ClientNode = typeof import('./client-node.ts')

const clients = new WeakMap<Ctx, Map<string, Promise<Kube>>>()

/** Another kube context than KUBE_CONTEXT's, and the setting that named it (for its messages). */
export interface OtherContext {
  context: string
  setting: string
}

/**
 * The cluster client for this run (created once per Ctx): KUBE_CONTEXT's, or with `other` the
 * client of another context (the cluster Vault runs on), also made once per run and context, each
 * with its own kept-alive connection.
 */
export function kube(ctx: Ctx, other?: OtherContext): Promise<Kube> {
  let byContext = clients.get(ctx)
  if (!byContext) clients.set(ctx, (byContext = new Map()))
  const key = other?.context ?? ''
  let k = byContext.get(key)
  if (!k) {
    // reads of another cluster are kept apart from the same names on this one
    k = connect(ctx, other).then((client) => withReadCache(client, runReads(ctx), other ? `context ${other.context}: ` : ''))
    byContext.set(key, k)
    // a failed connection attempt must not be cached: the next call retries
    k.catch(() => byContext.delete(key))
  }
  return k
}

/** HTTP status of a client-node error, when it has one. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown }
  if (typeof e?.code === 'number') return e.code
  if (typeof e?.statusCode === 'number') return e.statusCode
  return undefined
}

/** A short message for an API error (the server's Status message when there is one). */
export function apiMessage(err: unknown): string {
  if (err instanceof KubeApiError) return err.detail
  const body = (err as { body?: unknown })?.body
  let parsed: any = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      parsed = undefined
    }
  }
  if (parsed && typeof parsed.message === 'string') return `${statusOf(err) ?? ''} ${parsed.message}`.trim()
  // websocket failures (exec) reject with an event object, not an Error
  const message = (err as { message?: unknown })?.message
  const msg = err instanceof Error ? err.message : typeof message === 'string' ? message : String(err)
  return transportMessage(msg) ?? msg.split('\n')[0]
}

/**
 * A transport failure said once: an aborted request is the request timeout, and a refused or
 * unreachable connection is named by its code (the client repeats the same error per address tried).
 */
function transportMessage(msg: string): string | undefined {
  const mute = /(it accepted the connection but did not complete the TLS handshake within \S+|could not connect within \S+)/.exec(msg)?.[1]
  if (mute) return mute
  if (/aborted a request|operation was aborted|no answer from the API server/i.test(msg))
    return /no answer from the API server within \S+/.exec(msg)?.[0] ?? 'no answer from the API server within the request timeout (REQUEST_TIMEOUT_SECONDS)'
  const code = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\b/.exec(msg)?.[1]
  if (!code) return undefined
  const address = /\b(?:connect|getaddrinfo) [A-Z]+ (\S+)/.exec(msg)?.[1]
  return `connection failed (${code}${address ? ` ${address}` : ''})`
}

/**
 * A failed API call as the user sees it: what was asked, the server's answer, and what to do. Keeps
 * the HTTP status (`code`, so statusOf works on it) and the server's message (`detail`).
 */
export class KubeApiError extends SetupError {
  constructor(
    message: string,
    fix: string,
    readonly code: number | undefined,
    readonly detail: string,
  ) {
    super(message, fix)
  }
}

/**
 * The kind a call needed that the cluster does not serve, as client-node's discovery found it: its
 * group-version is not served at all (404 on the resource list) or does not list the kind. That is
 * the cluster's answer, not an API server in trouble: never retried, never blamed on its health.
 */
export function unservedKind(err: unknown): { apiVersion: string; kind: string } | undefined {
  const msg = (err as { message?: unknown })?.message
  if (typeof msg !== 'string') return undefined
  const unlisted = /Unrecognized API version and kind: (\S+) (\S+)/.exec(msg)
  if (unlisted) return { apiVersion: unlisted[1]!, kind: unlisted[2]! }
  const unserved = /Failed to fetch resource metadata for (\S+)\/([^/\s:]+):/.exec(msg)
  if (unserved && statusOf(err) === 404) return { apiVersion: unserved[1]!, kind: unserved[2]! }
  return undefined
}

/** Wraps a client-node (or transport) error of `action` ("apply Application argocd/it-tools") in a KubeApiError. */
export function apiFailure(err: unknown, action: string, server: string): SetupError {
  if (err instanceof SetupError) return err
  const code = statusOf(err)
  const detail = apiMessage(err)
  const rerun = 'then rerun: finished tasks are not redone'
  const unserved = unservedKind(err)
  if (unserved) {
    const group = unserved.apiVersion.includes('/') ? unserved.apiVersion.split('/')[0] : "''"
    return new KubeApiError(
      `the cluster at ${server} does not serve ${unserved.kind} (${unserved.apiVersion}), so the setup cannot ${action}`,
      `is its CRD installed? kubectl api-resources --api-group=${group} lists the kinds of that group the cluster serves; install the CRD that defines ${unserved.kind} (or the chart that ships it), ${rerun}`,
      404,
      detail,
    )
  }
  if (code === 401)
    return new KubeApiError(`the Kubernetes API at ${server} did not accept the credentials to ${action}: ${detail}`, `refresh the kubeconfig's credentials (kubectl get ns must work), ${rerun}`, code, detail)
  if (code === 403)
    return new KubeApiError(`the Kubernetes API refused to ${action}: ${detail}`, `give the kubeconfig's user that right (check with kubectl auth can-i), or use an admin context, ${rerun}`, code, detail)
  if (code === 409)
    return new KubeApiError(`conflict while trying to ${action}: ${detail}`, 'something else changed the object at the same moment: rerun (the setup reads it again first); finished tasks are not redone', code, detail)
  if (code === undefined || code === 429 || code >= 500)
    return new KubeApiError(`the Kubernetes API at ${server} failed to ${action} (retried where safe): ${detail}`, `check the API server's health (kubectl get --raw /readyz), ${rerun}`, code, detail)
  return new KubeApiError(`the Kubernetes API rejected the request to ${action}: ${detail}`, `fix what the message names (the file in the GitOps repo or the cluster object), ${rerun}`, code, detail)
}

/** An error whose cause (at any depth) is a connection that got no answer (see boundHandshake). */
function unanswered(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++)
    if (e.code === UNANSWERED_CODE || (typeof e.message === 'string' && /did not complete the TLS handshake within|could not connect within/.test(e.message))) return true
  return false
}

const transient = (err: unknown) => {
  if (unanswered(err) || unservedKind(err)) return false
  const code = statusOf(err)
  return code === undefined || code === 429 || code >= 500
}

/** Retries `fn` while `retryable(err)`, with exponential backoff, `attempts` times in all. */
async function withRetry<T>(fn: () => Promise<T>, retryable: (err: unknown) => boolean, attempts: number, baseMs: number): Promise<T> {
  let last: unknown
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn()
    } catch (err) {
      last = err
      if (!retryable(err) || i === attempts - 1) throw err
      await new Promise((r) => setTimeout(r, baseMs * 2 ** i))
    }
  }
  throw last
}

/** Reads (and only reads) are retried: transport errors, 429 and 5xx, with backoff, a few times. */
export function withReadRetry<T>(fn: () => Promise<T>, attempts = 4, baseMs = 150): Promise<T> {
  return withRetry(fn, transient, attempts, baseMs)
}

/**
 * Server-side applies are idempotent (the same body gives the same object however often it is
 * sent), so they are retried like reads, and on 409 Conflict too. Merge patches are not retried.
 */
export function withApplyRetry<T>(fn: () => Promise<T>, attempts = 4, baseMs = 150): Promise<T> {
  return withRetry(fn, (err) => transient(err) || statusOf(err) === 409, attempts, baseMs)
}

/**
 * The kubeconfig files to read, as kubectl reads them: every file KUBECONFIG (from .env, else the
 * environment) lists that exists, in order (a missing one is skipped); the first listed when none
 * exists (reading it then says so); none when KUBECONFIG is empty (~/.kube/config).
 */
function kubeconfigFiles(setting: string): string[] {
  const candidates = listedKubeconfigs(setting)
  const existing = candidates.filter((f) => existsSync(f))
  return existing.length ? existing : candidates.slice(0, 1)
}

type KubeConfigLike = InstanceType<ClientNode['KubeConfig']>

/**
 * Loads `files` into `kc` merged as kubectl merges them: the first file to name a cluster, user or
 * context wins, and so does the first current-context. (client-node's own merge lets the last
 * current-context win and throws on a name two files share.)
 */
function loadMerged(k8s: ClientNode, kc: KubeConfigLike, files: string[]): void {
  kc.loadFromFile(files[0]!)
  for (const file of files.slice(1)) {
    const more = new k8s.KubeConfig()
    more.loadFromFile(file)
    for (const c of more.clusters) if (!kc.clusters.some((x) => x.name === c.name)) kc.addCluster(c)
    for (const u of more.users) if (!kc.users.some((x) => x.name === u.name)) kc.addUser(u)
    for (const c of more.contexts) if (!kc.contexts.some((x) => x.name === c.name)) kc.addContext(c)
    if (!kc.getCurrentContext() && more.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext())
  }
}

async function connect(ctx: Ctx, other?: OtherContext): Promise<Kube> {
  const k8s: ClientNode = await import('./client-node.ts')
  const kc = new k8s.KubeConfig()
  shareOneAgent(kc)
  const files = kubeconfigFiles(ctx.settings.kubeconfig)
  const file = files.length ? files.join(delimiter) : undefined
  try {
    if (files.length) loadMerged(k8s, kc, files)
    else kc.loadFromDefault()
  } catch (err) {
    throw new SetupError(`cannot read kubeconfig ${file ?? '~/.kube/config'}: ${err instanceof Error ? err.message : String(err)}`, unreadableKubeconfigFix(err, files))
  }
  const currentContext = kc.getCurrentContext()
  const contextNames = kc.getContexts().map((c) => c.name)
  // KUBE_CONTEXT selects the context, as `kubectl --context` does: the kubeconfig's current-context
  // (which another terminal may have switched) never decides where this setup writes.
  const want = other?.context ?? ctx.settings.kubeContext
  const setting = other?.setting ?? 'KUBE_CONTEXT'
  if (want) {
    if (!contextNames.includes(want))
      throw new SetupError(
        `${setting} ${want} is not in the kubeconfig ${file ?? '~/.kube/config'} (contexts: ${contextNames.join(', ') || 'none'})`,
        `set ${setting} to one of those, or KUBECONFIG to the kubeconfig that has it`,
      )
    kc.setCurrentContext(want)
  }
  const contextName = want || currentContext
  const cluster = kc.getCurrentCluster()
  if (!contextName || !cluster)
    throw new SetupError(
      `kubeconfig ${file ?? '~/.kube/config'} has no current context`,
      `set KUBE_CONTEXT in .env to the context of your cluster (one of: ${contextNames.join(', ') || 'none'})`,
    )
  const user = kc.getCurrentUser()
  const userFile = files.length > 1 ? `the one of ${file} that has user ${user?.name}` : (file ?? '~/.kube/config')
  const certProblem = clientCertificateProblem(user, contextName, userFile, cluster.server)
  if (certProblem) throw certProblem
  boundRequests(kc, Number(ctx.settings.requestTimeoutSeconds) * 1000)
  // each context's API server, so the cluster a repo names by its server can be found (Vault's)
  const contextServers = Object.fromEntries(kc.getContexts().map((c) => [c.name, kc.getCluster(c.cluster)?.server ?? '']))
  return makeKube(k8s, kc, { contextName, currentContext, contextNames, contextServers, server: cluster.server })
}

type Agentish = { createConnection?: (opts: unknown, cb?: unknown) => import('node:net').Socket }

/**
 * No request waits forever on an API server that accepts and never answers: every connection the
 * client opens (requests, watches, exec websockets) is destroyed after `ms` without a byte, and
 * every plain request is aborted after `ms` in all. The read and apply retries then try again a
 * bounded number of times; a watch that idles that long reconnects (the waits re-read and re-watch).
 */
function boundRequests(kc: InstanceType<ClientNode['KubeConfig']>, ms: number): void {
  const target = kc as unknown as {
    createAgent(cluster: unknown, opts: unknown): Agentish
    applySecurityAuthentication(context: { setSignal(signal: AbortSignal): void }): Promise<void>
  }
  const createAgent = target.createAgent.bind(kc)
  // the agent may be shared by every request (shareOneAgent): bound each one once
  const bounded = new WeakSet<object>()
  target.createAgent = (cluster, opts) => {
    const agent = createAgent(cluster, opts)
    if (bounded.has(agent)) return agent
    bounded.add(agent)
    const connect = agent.createConnection?.bind(agent)
    if (connect)
      agent.createConnection = (o, cb) => {
        const socket = connect(o, cb)
        socket.setTimeout(ms, () => socket.destroy(Object.assign(new Error(`no answer from the API server within ${ms / 1000}s`), { code: 'ETIMEDOUT' })))
        boundHandshake(socket, Math.min(ms, HANDSHAKE_MS))
        return socket
      }
    return agent
  }
  const authenticate = target.applySecurityAuthentication.bind(kc)
  target.applySecurityAuthentication = async (context) => {
    await authenticate(context)
    context.setSignal(AbortSignal.timeout(ms))
  }
}

/** Connecting and the TLS handshake are bounded apart from the request, as kubectl's transport bounds them (10 s). */
export const HANDSHAKE_MS = 10_000

/** What a connection that got no answer at all fails with: not retried (nothing answered, a retry waits as long again). */
export const UNANSWERED_CODE = 'EUNANSWERED'

/**
 * A server that accepts TCP and never completes TLS (a wrong port, a stuck proxy) would hold each
 * request for the whole request timeout, and the retries four times over: the connect and the
 * handshake each get `ms`, and failing either ends the call at once.
 */
function boundHandshake(socket: import('node:net').Socket, ms: number): void {
  const tls = socket as import('node:net').Socket & { encrypted?: boolean; connecting: boolean }
  if (!tls.encrypted) return
  const fail = (what: string) => socket.destroy(Object.assign(new Error(what), { code: UNANSWERED_CODE }))
  const timer = setTimeout(() => {
    if (tls.connecting) fail(`could not connect within ${ms / 1000}s`)
    else fail(`it accepted the connection but did not complete the TLS handshake within ${ms / 1000}s`)
  }, ms)
  timer.unref()
  socket.once('secureConnect', () => clearTimeout(timer))
  socket.once('close', () => clearTimeout(timer))
}

function makeKube(
  k8s: ClientNode,
  kc: InstanceType<ClientNode['KubeConfig']>,
  info: { contextName: string; currentContext: string; contextNames: string[]; contextServers: Record<string, string>; server: string },
): Kube {
  // KubernetesObjectApi resolves kind -> resource path through discovery; expose that for watches.
  class ObjectApi extends k8s.KubernetesObjectApi {
    /** the first discovery of each apiVersion, while it runs or once it succeeded */
    private discoveries = new Map<string, Promise<unknown>>()

    collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
      return this.specUriPath({ apiVersion, kind, metadata: { namespace } }, 'list')
    }

    // client-node keeps each apiVersion's resource list once it has it, but reads it again for every
    // call made while the first read is under way: reads started together (preflight's) would each
    // send the same discovery GET. They wait for the first instead, then find the kind in the kept
    // list (a kind it lacks, such as a CRD installed since, still reads the list again).
    // (options: client-node's Configuration, passed on as given)
    protected override async resource(apiVersion: string, kind: string, options?: any) {
      const first = this.discoveries.get(apiVersion)
      if (first) {
        await first.catch(() => {})
        return super.resource(apiVersion, kind, options)
      }
      const discovery = super.resource(apiVersion, kind, options)
      this.discoveries.set(apiVersion, discovery)
      discovery.catch(() => this.discoveries.delete(apiVersion))
      return discovery
    }
  }
  const objects = kc.makeApiClient(ObjectApi)
  ;(objects as unknown as { setDefaultNamespace(kc: unknown): void }).setDefaultNamespace(kc)
  const core = kc.makeApiClient(k8s.CoreV1Api)
  const watcher = new k8s.Watch(kc)
  const execer = new k8s.Exec(kc)

  const label = (ref: { kind: string; namespace?: string; name: string }) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`
  const failure = (err: unknown, action: string) => apiFailure(err, action, info.server)
  const header = (ref: KRef) => ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } })
  const plain = (o: unknown): KObj => JSON.parse(JSON.stringify(o))

  async function get(ref: KRef): Promise<KObj | undefined> {
    try {
      return plain(await withReadRetry(() => objects.read(header(ref))))
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      throw failure(err, `read ${label(ref)}`)
    }
  }

  async function list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KObj[]> {
    let res
    try {
      res = await withReadRetry(() => objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector))
    } catch (err) {
      throw failure(err, `list ${kind}${namespace ? ` in ${namespace}` : ''}`)
    }
    return (res.items ?? []).map(plain)
  }

  async function apply(obj: KObj, opts: { force: boolean }): Promise<KObj> {
    const body = { ...obj, metadata: { ...obj.metadata } }
    delete body.metadata.resourceVersion
    delete body.metadata.managedFields
    delete (body as { status?: unknown }).status
    try {
      return plain(await withApplyRetry(() => objects.patch(body as never, undefined, undefined, FIELD_MANAGER, opts.force, k8s.PatchStrategy.ServerSideApply)))
    } catch (err) {
      throw failure(err, `apply ${label({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name })} (server-side)`)
    }
  }

  async function mergePatch(ref: KRef, patch: unknown): Promise<KObj> {
    const spec = { ...header(ref), ...(patch as object) } as KObj
    spec.metadata = { ...((patch as { metadata?: object }).metadata ?? {}), name: ref.name, namespace: ref.namespace }
    try {
      return plain(await objects.patch(spec as never, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch))
    } catch (err) {
      throw failure(err, `patch ${label(ref)}`)
    }
  }

  async function del(ref: KRef): Promise<boolean> {
    try {
      await withApplyRetry(() => objects.delete(header(ref) as never, undefined, undefined, undefined, undefined, 'Background'))
      return true
    } catch (err) {
      if (statusOf(err) === 404) return false
      throw failure(err, `delete ${label(ref)}`)
    }
  }

  async function waitFor(ref: KRef, check: WaitCheck, opts: WaitOptions): Promise<KObj> {
    // the timer starts first and covers everything, discovery included: a stalled API server cannot
    // stretch a wait beyond SYNC_TIMEOUT_SECONDS
    let path: string | undefined
    return new Promise<KObj>((resolve, reject) => {
      let last = 'not seen yet'
      // the latest API failure since the object was last seen, said once (not once per retry)
      let apiError: string | undefined
      let finished = false
      let abort: AbortController | undefined
      let failures = 0
      let seen: { obj: KObj | undefined } | undefined
      // evaluations run one after another so that an older event never overrides a newer one
      let chain: Promise<void> = Promise.resolve()
      const finish = (err: Error | undefined, obj?: KObj) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        clearInterval(recheck)
        abort?.abort()
        if (err) reject(err)
        else resolve(obj!)
      }
      const evaluate = (obj: KObj | undefined) => {
        seen = { obj }
        chain = chain.then(async () => {
          if (finished) return
          try {
            const state = await check(obj)
            if ('ready' in state) finish(undefined, obj)
            else if ('failed' in state) finish(new SetupError(`${opts.what}: ${state.failed}`, opts.fix ?? 'fix the cause above, then run the task again'))
            else last = state.waiting
            apiError = undefined
          } catch (err) {
            // an error is never counted as ready
            last = `error while checking: ${err instanceof Error ? err.message : String(err)}`
          }
        })
      }
      const restart = (delayMs: number) => {
        if (!finished) setTimeout(() => void start(), delayMs)
      }
      const start = async () => {
        if (finished) return
        const startedAt = Date.now()
        try {
          if (path === undefined)
            try {
              path = await objects.collectionPath(ref.apiVersion, ref.kind, ref.namespace)
            } catch (err) {
              if (!transient(err)) return finish(failure(err, `find the API of ${ref.kind}`))
              throw err
            }
          const obj = await get(ref)
          evaluate(obj)
          await chain
          if (finished) return
          abort = await watcher.watch(
            path,
            { fieldSelector: `metadata.name=${ref.name}`, resourceVersion: obj?.metadata.resourceVersion, allowWatchBookmarks: true },
            (type, apiObj) => {
              if (type === 'ERROR') {
                // 410 Gone and friends: drop this watch, the done handler re-reads and re-watches
                abort?.abort()
                return
              }
              if (type === 'BOOKMARK' || apiObj?.metadata?.name !== ref.name) return
              if (ref.namespace && apiObj?.metadata?.namespace && apiObj.metadata.namespace !== ref.namespace) return
              evaluate(type === 'DELETED' ? undefined : plain(apiObj))
            },
            (err) => {
              if (finished) return
              if (err && (err as { name?: string }).name !== 'AbortError') {
                failures++
                apiError = apiMessage(err)
              }
              // a watch that stayed up a while reconnects at once; one that keeps dropping backs off
              const lived = Date.now() - startedAt
              restart(lived > 2000 ? 0 : Math.min(2000, 100 * 2 ** Math.min(failures++, 4)))
            },
          )
        } catch (err) {
          failures++
          apiError = apiMessage(err)
          restart(Math.min(2000, 100 * 2 ** Math.min(failures, 4)))
        }
      }
      const timer = setTimeout(() => {
        const seconds = Math.round(opts.timeoutMs / 1000)
        // an API that stopped answering is the cause, and its fix is not the one of the object waited for
        if (apiError)
          return finish(
            new KubeApiError(
              `the Kubernetes API at ${info.server} stopped answering while waiting ${seconds}s for ${opts.what}: ${apiError}`,
              "check the API server's health (kubectl get --raw /readyz), then rerun: finished tasks are not redone",
              undefined,
              apiError,
            ),
          )
        finish(new SetupError(`timed out after ${seconds}s waiting for ${opts.what}; last seen: ${last}`, opts.fix ?? 'check the object with kubectl describe, fix the cause, then run the task again'))
      }, opts.timeoutMs)
      // a recheck is skipped while an evaluation is still running, so they never pile up
      let busy = false
      const recheck = opts.recheckMs
        ? setInterval(() => {
            if (!seen || busy || finished) return
            busy = true
            evaluate(seen.obj)
            void chain.finally(() => (busy = false))
          }, opts.recheckMs)
        : undefined
      void start()
    })
  }

  async function exec(namespace: string, pod: string, container: string | undefined, command: string[], stdin?: string | Buffer): Promise<ExecResult> {
    const what = `run ${command.slice(0, 2).join(' ')} in pod ${namespace}/${pod}`
    const sink = (into: Buffer[]) =>
      new Writable({
        write(chunk, _enc, cb) {
          into.push(Buffer.from(chunk))
          cb()
        },
      })
    let out: Buffer[] = []
    let err: Buffer[] = []
    let exitCode: number | undefined
    // A failed websocket upgrade is retried: the command never started, so sending it again is safe
    // even for a write. Once connected, the result (or the error) is final.
    let ws: Awaited<ReturnType<typeof execer.exec>>
    try {
      ws = await withReadRetry(() => {
        out = []
        err = []
        exitCode = undefined
        const input = stdin === undefined ? null : Readable.from([Buffer.from(stdin)])
        return execer.exec(namespace, pod, container ?? '', command, sink(out), sink(err), input, false, (status) => {
          if (status.status === 'Success') exitCode = 0
          else {
            const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode')
            exitCode = cause?.message ? Number(cause.message) : 1
            if (!cause) err.push(Buffer.from(status.message ?? ''))
          }
        })
      })
    } catch (e) {
      throw failure(e, what)
    }
    return new Promise<ExecResult>((resolve, reject) => {
      ws.on('close', () => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: exitCode ?? 1 }))
      ws.on('error', (e) => reject(failure(e, what)))
    })
  }

  async function logs(namespace: string, pod: string, container: string | undefined, tailLines: number): Promise<string> {
    try {
      return await withReadRetry(() => core.readNamespacedPodLog({ name: pod, namespace, container, tailLines }))
    } catch (err) {
      throw failure(err, `read the log of pod ${namespace}/${pod}`)
    }
  }

  return { ...info, get, list, apply, mergePatch, delete: del, waitFor, exec, logs }
}
