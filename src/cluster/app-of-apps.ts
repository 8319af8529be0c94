// Applications managed by a parent Application (app-of-apps). A parent with automated sync and
// self-heal reverts a live patch to a child within seconds (the pause of personal-services'
// auto-prune) and applies the pushed children in its own order (personal-services may prune
// it-tools before the it-tools app adopts it). So:
//  - parent with automated sync: its automated sync (and its ancestors') is paused before the
//    push and restored once the move is done; the original policy is kept in an annotation on the
//    parent, so a rerun after a failure still restores it;
//  - parent without automated sync: nothing reverts the move; once it is done the parent is synced
//    at the pushed commit so it tracks the new children.
// Either way the setup then waits for the parent at the pushed commit.
import { trackedBy } from './argo.ts'
import type { KObj, KRef, Kube } from './kube.ts'
import type { AppSnapshot } from './app-snapshot.ts'

/** Where the parent's own automated sync policy waits while the setup has it paused. */
export const PAUSED_ANNOTATION = 'image-updater-setup/paused-automated-sync'
const APP_API = 'argoproj.io/v1alpha1'
const MAX_DEPTH = 5

export interface Ancestor {
  live: KObj
  ref: KRef
  /** the automated sync policy it has (or had, before the setup paused it) */
  automated?: Record<string, unknown>
  /** the setup paused it and has not restored it yet */
  pausedBySetup: boolean
  /** names of our Applications it manages */
  children: string[]
  /** what it is judged against once restored (planDeploy: the snapshot saved before the push on a resumed move) */
  before?: AppSnapshot
}

export const appRef = (namespace: string, name: string): KRef => ({ apiVersion: APP_API, kind: 'Application', namespace, name })

function automatedOf(app: KObj): { automated?: Record<string, unknown>; paused: boolean } {
  const saved = app.metadata.annotations?.[PAUSED_ANNOTATION]
  if (saved) {
    try {
      return { automated: JSON.parse(saved), paused: true }
    } catch {
      return { automated: {}, paused: true }
    }
  }
  const automated = app.spec?.syncPolicy?.automated
  return { automated: automated && typeof automated === 'object' ? automated : undefined, paused: false }
}

/** Whether the parent lists this child in its status.resources (Argo CD's own record of what it manages). */
const listsChild = (parent: KObj, child: string, ns: string) =>
  (parent.status?.resources ?? []).some((r: { kind?: string; name?: string; namespace?: string }) => r.kind === 'Application' && r.name === child && (r.namespace ?? ns) === ns)

/**
 * The parents (and their parents) of our live Applications, top-most first. Found by Argo CD's
 * tracking label or annotation on the child; with `deep`, also by a parent listing the child in its
 * status.resources (one list of Applications: only when a change is ahead, never on a converged rerun).
 */
export async function findAncestors(k: Kube, children: KObj[], ns: string, opts: { deep: boolean }): Promise<Ancestor[]> {
  const found = new Map<string, Ancestor>()
  const names = new Set(children.map((c) => c.metadata.name))
  let all: KObj[] | undefined
  const parentOf = async (child: KObj): Promise<KObj | undefined> => {
    const tracked = trackedBy(child)
    if (tracked && tracked !== child.metadata.name) {
      const parent = await k.get(appRef(ns, tracked))
      if (parent) return parent
    }
    if (!opts.deep) return undefined
    all ??= await k.list(APP_API, 'Application', ns)
    return all.find((a) => a.metadata.name !== child.metadata.name && listsChild(a, child.metadata.name, ns))
  }
  const order: string[] = []
  for (const child of children) {
    let current: KObj | undefined = child
    let managed = child.metadata.name
    for (let depth = 0; current && depth < MAX_DEPTH; depth++) {
      const parent: KObj | undefined = await parentOf(current)
      if (!parent || names.has(parent.metadata.name)) break
      const name = parent.metadata.name
      let entry = found.get(name)
      if (!entry) {
        const { automated, paused } = automatedOf(parent)
        entry = { live: parent, ref: appRef(ns, name), automated, pausedBySetup: paused, children: [] }
        found.set(name, entry)
        order.push(name)
      }
      if (!entry.children.includes(managed)) entry.children.push(managed)
      managed = name
      current = parent
    }
  }
  // top-most first: pausing a grandparent first keeps it from undoing the pause of its child
  return order.reverse().map((n) => found.get(n)!)
}

export function describeAncestor(a: Ancestor): string {
  const policy = a.automated ? `automated sync${a.automated.selfHeal ? ' with self-heal' : ''}${a.automated.prune ? ' and prune' : ''}` : 'manual sync'
  return `Application ${a.ref.namespace}/${a.ref.name} (${policy}; manages ${a.children.join(', ')})`
}

/**
 * Whether the parent's automated sync is paused now: the setup's annotation is there and the live
 * spec has no automated policy. A parent that manages itself puts its policy back when it syncs
 * its own manifest (the annotation stays), so the annotation alone proves nothing.
 */
export function pauseHolds(live: KObj): boolean {
  return live.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined && !live.spec?.syncPolicy?.automated
}

/** The merge patch that pauses a parent's automated sync and keeps the policy for the restore. */
export function pausePatch(a: Ancestor): Record<string, unknown> {
  return { metadata: { annotations: { [PAUSED_ANNOTATION]: JSON.stringify(a.automated ?? {}) } }, spec: { syncPolicy: { automated: null } } }
}

/** The merge patch that puts the parent's automated sync back, as it was before the pause. */
export function restorePatch(live: KObj): Record<string, unknown> | undefined {
  const { automated, paused } = automatedOf(live)
  if (!paused) return undefined
  return { metadata: { annotations: { [PAUSED_ANNOTATION]: null } }, spec: { syncPolicy: { automated: automated ?? {} } } }
}

/** The dry-run line that says which way the move goes under these parents. */
export function strategyNote(ancestors: Ancestor[]): string {
  const automated = ancestors.filter((a) => a.automated)
  if (automated.length)
    return `the move runs with the automated sync of ${automated.map((a) => a.ref.name).join(', ')} paused (self-heal would revert the pause of the apps' old Application and the pushed children would sync in any order); restored afterwards`
  return `${ancestors.map((a) => a.ref.name).join(', ')} sync${ancestors.length > 1 ? '' : 's'} manually: the children are deployed in order, then the parent is synced at the pushed commit`
}
