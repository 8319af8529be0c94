// WATCH: a chunked response of newline-delimited JSON events, as `kubectl get -w` and client-node's
// Watch/informers read it. Starts with the current state (no resourceVersion or "0"), or with the
// events after a given resourceVersion (410 Expired when it is too old).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError, type KObject, type Store, type WatchEvent } from '../store.ts'
import { joinApiVersion, type ResourceType } from './kinds.ts'
import type { Faults } from './stats.ts'
import { statusOf } from './status.ts'

interface OpenWatch {
  startedAt: number
  timer?: NodeJS.Timeout
  end(): void
}

/** The watches open on one server, so faults can cut them and stop() can end them. */
export class Watches {
  private readonly open = new Set<OpenWatch>()

  constructor(private readonly faults: Faults) {
    faults.onWatchDropChange = () => {
      for (const w of this.open) this.arm(w)
    }
  }

  add(w: OpenWatch): void {
    this.open.add(w)
    this.arm(w)
  }

  delete(w: OpenWatch): void {
    clearTimeout(w.timer)
    this.open.delete(w)
  }

  private arm(w: OpenWatch): void {
    clearTimeout(w.timer)
    w.timer = undefined
    const ms = this.faults.watchDropMs
    if (ms === undefined) return
    const at = Math.max(w.startedAt, this.faults.dropSince) + ms
    w.timer = setTimeout(() => w.end(), Math.max(0, at - Date.now()))
  }

  endAll(): void {
    for (const w of [...this.open]) w.end()
  }

  get size(): number {
    return this.open.size
  }
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  opts: {
    store: Store
    type: ResourceType
    namespace?: string
    match: (o: KObject) => boolean
    query: URLSearchParams
    watches: Watches
    /** How an event's object goes on the wire: the object itself, or e.g. its one-row Table (`kubectl get -w`). */
    encode?: (o: KObject) => unknown
  },
): void {
  const { store, type, namespace, match, query } = opts
  const apiVersion = joinApiVersion(type.group, type.version)
  const mine = (o: KObject) =>
    o.kind === type.kind && o.apiVersion.split('/')[0] === apiVersion.split('/')[0] && (!type.namespaced || !namespace || o.metadata.namespace === namespace) && match(o)

  const rv = query.get('resourceVersion') ?? ''
  let backlog: WatchEvent[]
  if (rv === '' || rv === '0') backlog = store.list(apiVersion, type.kind, namespace).filter(match).map((object) => ({ type: 'ADDED' as const, object }))
  else {
    const since = store.eventsSince(rv)
    if (!since) {
      const gone = new ApiError(410, 'Expired', `too old resource version: ${rv} (${store.resourceVersion})`)
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ type: 'ERROR', object: statusOf(gone) }) + '\n')
      return
    }
    backlog = since.filter((e) => mine(e.object))
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' })
  res.flushHeaders()
  const send = (e: WatchEvent) => {
    const object = { ...e.object, apiVersion }
    if (!res.writableEnded) res.write(JSON.stringify({ type: e.type, object: opts.encode ? opts.encode(object) : object }) + '\n')
  }
  backlog.forEach(send)
  const unsubscribe = store.watch((e) => {
    if (mine(e.object)) send(e)
  })

  let ended = false
  const w: OpenWatch = {
    startedAt: Date.now(),
    end() {
      if (ended) return
      ended = true
      unsubscribe()
      clearTimeout(timeout)
      opts.watches.delete(w)
      if (!res.writableEnded) res.end()
    },
  }
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0)
  const timeout = timeoutSeconds > 0 ? setTimeout(() => w.end(), timeoutSeconds * 1000) : undefined
  opts.watches.add(w)
  req.on('close', () => w.end())
  res.on('close', () => w.end())
}
