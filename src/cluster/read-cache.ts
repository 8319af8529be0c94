// The cluster client as the tasks see it: each object (and each list) is read from the API once per
// run and served from memory after that, until this run writes (see src/run-reads.ts). Any call
// other than a read, an exec (runs a command, changes no API object) or a log read is taken as a
// write and drops every kept read, before and after, so a write added to Kube later is covered too.
// waitFor reads fresh (it watches, and its check's own reads are fresh) unless the object kept from
// earlier in the run already satisfies it; the object a wait resolves with is kept as the latest view.
import type { RunReads } from '../run-reads.ts'
import type { KObj, KRef, Kube } from './kube.ts'

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value))

/** `prefix` keeps the reads of a client of another cluster (context) apart from this one's. */
export function withReadCache(k: Kube, reads: RunReads, prefix = ''): Kube {
  const refKey = (r: KRef) => `${prefix}kube get ${r.apiVersion} ${r.kind} ${r.namespace ?? ''}/${r.name}`
  const cached: Kube = { ...k }
  for (const [name, value] of Object.entries(k)) {
    if (typeof value !== 'function' || ['get', 'list', 'waitFor', 'exec', 'logs'].includes(name)) continue
    ;(cached as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      reads.forget()
      try {
        return await value.apply(k, args)
      } finally {
        reads.forget()
      }
    }
  }
  cached.get = async (ref) => copy(await reads.once(refKey(ref), () => k.get(ref)))
  cached.list = async (apiVersion, kind, namespace, labelSelector) =>
    copy(await reads.once(`${prefix}kube list ${apiVersion} ${kind} ${namespace ?? ''} ${labelSelector ?? ''}`, () => k.list(apiVersion, kind, namespace, labelSelector)))
  cached.waitFor = async (ref, check, opts) => {
    // An object read earlier in this run, with no write of ours since, that is already what the
    // wait wants: done, as a wait started at that read would have been. Anything else waits fresh.
    const known = reads.peek<KObj | undefined>(refKey(ref))
    if (known) {
      const seenBefore = copy(await known.catch(() => undefined))
      if (seenBefore) {
        let state
        try {
          state = await check(seenBefore)
        } catch {
          state = undefined
        }
        if (state && 'ready' in state) return seenBefore
      }
    }
    // the check reads other objects on every event: those reads must see the cluster as it is now
    const obj: KObj = await reads.fresh(() => k.waitFor(ref, check, opts), { writes: false })
    reads.seen(refKey(ref), copy(obj))
    return obj
  }
  return cached
}
