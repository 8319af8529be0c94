// The sandbox's Kubernetes API over HTTPS on 127.0.0.1, as k3s serves it: authentication by client
// certificate (signed by the sandbox's CA) or the kubeconfig's bearer token, 401 for anyone else;
// then injected faults, request accounting, discovery, resources, watch, pods/exec and pods/log.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import { ApiError, type KObject, type Store } from '../store.ts'
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery.ts'
import { ExecServer } from './exec.ts'
import { groupVersionDocument, openApiIndex } from './openapi.ts'
import type { Pki } from './pki.ts'
import type { Pods } from './pods.ts'
import * as resources from './resources.ts'
import { parseResourcePath, type Target } from './routes.ts'
import type { Faults, Stats } from './stats.ts'
import { asApiError, sendError, sendJson } from './status.ts'
import { TABLE_CONTENT_TYPE, tableOf, wantsTable } from './table.ts'
import { serveWatch, Watches } from './watch.ts'

export interface ApiServerOptions {
  store: Store
  pods: Pods
  stats: Stats
  faults: Faults
  /** The serving certificate, and the CA that client certificates must be signed by. */
  pki: Pki
  /** The bearer token accepted instead of a client certificate (the kubeconfig's token user). */
  token: string
  port?: number
}

export interface ApiServer {
  url: string
  port: number
  close(): Promise<void>
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** The verb a request counts as in stats: GET of a collection is LIST, or WATCH with ?watch. */
function verbOf(method: string, target: Target, query: URLSearchParams): string {
  if (method === 'GET' && !target.name) return ['1', 'true'].includes(query.get('watch') ?? '') ? 'WATCH' : 'LIST'
  if (method === 'GET' && target.subresource === 'exec') return 'POST'
  return method
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { store, pods, stats, faults } = opts
  const watches = new Watches(faults)
  const exec = new ExecServer(store, pods, (command) => stats.exec(command))
  const sockets = new Set<Duplex>()
  let address = '127.0.0.1:0'

  // k3s runs with anonymous auth off: every path, /version and /healthz included, needs a user.
  // The TLS layer asks for a client certificate but lets the request through without one
  // (rejectUnauthorized: false), so that a missing or foreign certificate gets an API answer, 401.
  const authenticated = (req: IncomingMessage) => (req.socket as TLSSocket).authorized === true || req.headers.authorization === `Bearer ${opts.token}`

  /** Faults and bookkeeping shared by plain requests and exec upgrades; throws the injected error. */
  async function admit(path: string, key: string, mutating: boolean): Promise<void> {
    stats.count(key, mutating)
    // unref'd: a stalled request (proof:faults' stalled-api holds each for 10 min) must not keep the
    // process that hosts the sandbox alive after the sandbox is stopped
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs).unref())
    const failure = faults.takeFailure(path)
    if (failure === 500) throw new ApiError(500, 'InternalError', 'Internal error occurred: injected fault (sandbox fail500Next)')
    if (failure === 403) throw new ApiError(403, 'Forbidden', `forbidden: injected fault (sandbox forbidNext) on ${path}`)
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox')
    const path = url.pathname
    if (!authenticated(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized')
    if (path === '/sandbox/stats') return sendJson(res, 200, stats.snapshot())
    if (req.method === 'GET' && !['1', 'true'].includes(url.searchParams.get('watch') ?? '')) stats.read(path)
    const segments = path.split('/').filter(Boolean)
    const target = parseResourcePath(segments)
    if (!target) return serveNonResource(path, segments, res)

    const method = req.method ?? 'GET'
    const verb = verbOf(method, target, url.searchParams)
    const type = store.typeOfResource(target.group, target.version, target.resource)
    const resourceKey = (type?.plural ?? target.resource) + (target.subresource ? `/${target.subresource}` : '')
    const mutating = MUTATING.has(method) && target.subresource !== 'exec'
    const body = MUTATING.has(method) ? await readBody(req) : ''
    // kubectl create (configmap, secret, ...) sends built-in kinds as protobuf; this sandbox reads
    // JSON and YAML only: say so, with the way around it, instead of a JSON parse error
    if (body && /protobuf/.test(req.headers['content-type'] ?? ''))
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the sandbox reads JSON request bodies only, not ${req.headers['content-type']} (kubectl create sends protobuf): use kubectl create ... --dry-run=client -o yaml | kubectl apply -f -`,
      )
    if (mutating && body) stats.body(body)
    await admit(path, `${verb} ${resourceKey}`, mutating)
    if (!type || (type.namespaced ? false : target.namespace !== undefined) || (type.namespaced && target.name && !target.namespace)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
    }
    if (mutating && faults.takeConflict()) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${resourceKey} "${target.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again (sandbox conflictNextWrite)`, undefined, { name: target.name, kind: type.plural, group: type.group })
    }
    if (target.subresource && !['status', 'log', 'exec', 'scale'].includes(target.subresource)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
    if (target.subresource === 'scale' && !type.scale) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
    if ((target.subresource === 'log' || target.subresource === 'exec') && type.kind !== 'Pod') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
    if (target.subresource === 'status' && !type.statusSubresource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')

    const userAgent = String(req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown'
    const call: resources.Call = {
      store,
      type,
      target,
      query: url.searchParams,
      manager: url.searchParams.get('fieldManager') ?? userAgent,
      dryRun: url.searchParams.getAll('dryRun').includes('All'),
    }
    if (target.subresource === 'log') return serveLog(call, res)
    if (target.subresource === 'exec') throw new ApiError(400, 'BadRequest', 'Upgrade request required')
    // kubectl get asks for a Table (server-side printing); -o yaml/json and every client library ask for objects
    const table = !target.subresource && wantsTable(req.headers.accept)
    const includeObject = url.searchParams.get('includeObject')
    let reply: resources.Reply
    switch (verb) {
      case 'WATCH': {
        const asTable = table ? (o: KObject) => tableOf(store, type, [o], { includeObject }) : undefined
        return serveWatch(req, res, { store, type, namespace: target.namespace, match: resources.matcher(call), query: url.searchParams, watches, encode: asTable })
      }
      case 'LIST':
        reply = resources.list(call)
        if (table) {
          const list = reply.body as { items: KObject[]; metadata: { resourceVersion?: string } }
          return sendJson(res, 200, tableOf(store, type, list.items, { resourceVersion: list.metadata.resourceVersion, includeObject }), TABLE_CONTENT_TYPE)
        }
        break
      case 'GET':
        reply = resources.getOne(call)
        if (table) return sendJson(res, 200, tableOf(store, type, [reply.body as KObject], { resourceVersion: store.resourceVersion, includeObject }), TABLE_CONTENT_TYPE)
        break
      case 'POST':
        reply = resources.create(call, parseJson(body))
        break
      case 'PUT':
        reply = resources.update(call, parseJson(body))
        break
      case 'PATCH':
        reply = resources.patch(call, String(req.headers['content-type'] ?? '').split(';')[0]!.trim(), body)
        break
      case 'DELETE':
        reply = resources.remove(call)
        break
      default:
        throw new ApiError(405, 'MethodNotAllowed', `method ${method} is not allowed`)
    }
    if (reply.warnings?.length) res.setHeader('Warning', reply.warnings.map((w) => `299 - ${JSON.stringify(w)}`))
    sendJson(res, reply.code, reply.body)
  }

  function serveNonResource(path: string, segments: string[], res: ServerResponse): void {
    const types = store.types()
    let body: unknown
    if (path === '/version') body = VERSION_INFO
    else if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.end('ok')
      return
    } else if (path === '/api') body = apiVersions(address)
    else if (path === '/apis') body = apiGroupList(types)
    else if (segments[0] === 'api' && segments.length === 2) body = apiResourceList(types, '', segments[1]!)
    else if (segments[0] === 'apis' && segments.length === 2) body = apiGroup(types, segments[1]!)
    else if (segments[0] === 'apis' && segments.length === 3) body = apiResourceList(types, segments[1]!, segments[2]!)
    else if (path === '/openapi/v3') body = openApiIndex(types)
    else if (segments[0] === 'openapi' && segments[1] === 'v3') body = groupVersionDocument(types, segments.slice(2).join('/'))
    if (body === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
    sendJson(res, 200, body)
  }

  function serveLog(call: resources.Call, res: ServerResponse): void {
    const pod = resources.getOne(call).body as { metadata: { namespace: string; name: string } }
    const read = pods.logReader(pod.metadata.namespace, pod.metadata.name)
    let text = read ? read() : ''
    const tail = Number(call.query.get('tailLines') ?? NaN)
    if (Number.isInteger(tail) && tail >= 0) {
      const lines = text.split('\n')
      const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined
      text = lines.slice(lines.length - tail).join('\n') + (trailing !== undefined && tail > 0 ? '\n' : '')
      if (tail === 0) text = ''
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end(text)
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox')
    const target = parseResourcePath(url.pathname.split('/').filter(Boolean))
    try {
      if (!authenticated(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized')
      if (!target || target.group !== '' || target.resource !== 'pods' || !target.namespace || !target.name || target.subresource !== 'exec') {
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource')
      }
      await admit(url.pathname, 'POST pods/exec', false)
      exec.handle(req, socket, head, target.namespace, target.name, url.searchParams)
    } catch (e) {
      exec.refuse(socket, asApiError(e))
    }
  }

  const server = createServer({ key: opts.pki.server.keyPem, cert: opts.pki.server.certPem, ca: [opts.pki.caPem], requestCert: true, rejectUnauthorized: false }, (req, res) => {
    serve(req, res).catch((e) => sendError(res, e))
  })
  server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head))
  server.on('secureConnection', () => stats.tlsConnection())
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  address = `127.0.0.1:${port}`
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    async close() {
      watches.endAll()
      exec.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `the body of the request could not be decoded: ${(e as Error).message}`)
  }
}
