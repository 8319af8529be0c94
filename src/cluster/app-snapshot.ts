// What "done" means for an Application the setup touches, judged against a snapshot taken before
// the setup changed anything. A real homelab is never all green: a resource that was already
// Degraded or Missing and that the setup did not add or change is a warning, not a reason to wait;
// a resource that was Healthy and is not any more, or one of ours that is not Healthy, is.
import type { Ctx } from '../context.ts'
import { operationRevisions, syncedRevisions } from './argo.ts'
import type { KObj, WaitState } from './kube.ts'
import type { SavedAppSnapshot } from '../state.ts'

export interface ResourceState {
  key: string
  group: string
  kind: string
  namespace: string
  name: string
  /** Synced / OutOfSync */
  status?: string
  /** Healthy / Progressing / Degraded / Missing / Suspended / Unknown; undefined: Argo CD judges no health for the kind */
  health?: string
  message?: string
  requiresPruning?: boolean
}

export interface AppSnapshot {
  exists: boolean
  sync?: string
  health?: string
  conditions: { type: string; message: string }[]
  resources: Map<string, ResourceState>
}

// The snapshots of this run, taken by task 7 before its first change, for tasks 8 and 9 to reuse.
const snapshots = new WeakMap<Ctx, Map<string, AppSnapshot>>()

export function rememberSnapshot(ctx: Ctx, app: string, snap: AppSnapshot): void {
  let byApp = snapshots.get(ctx)
  if (!byApp) snapshots.set(ctx, (byApp = new Map()))
  // the first one wins: a later plan in the same run sees the setup's own changes
  if (!byApp.has(app)) byApp.set(app, snap)
}

/** The snapshot task 7 took in this run, or (a later run) the app as first seen now (read only then). */
export async function snapshotFor(ctx: Ctx, app: string, seeNow: () => Promise<KObj | undefined>): Promise<AppSnapshot> {
  return snapshots.get(ctx)?.get(app) ?? snapshotOf(await seeNow())
}

/** The snapshot as saved progress holds it (src/state.ts moveSnapshots). */
export function savedSnapshot(snap: AppSnapshot): SavedAppSnapshot {
  return { at: new Date().toISOString(), exists: snap.exists, sync: snap.sync, health: snap.health, conditions: snap.conditions, resources: [...snap.resources.values()] }
}

export function fromSaved(saved: SavedAppSnapshot): AppSnapshot {
  return { exists: saved.exists, sync: saved.sync, health: saved.health, conditions: saved.conditions ?? [], resources: new Map((saved.resources ?? []).map((r) => [r.key, r])) }
}

export const resourceKey = (r: { group?: string; kind: string; namespace?: string; name: string }) => `${r.group ?? ''}/${r.kind}/${r.namespace ?? ''}/${r.name}`
export const resourceLabel = (r: { kind: string; namespace?: string; name: string }) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`
const short = (rev: string) => (/^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 7) : rev)

/** The resources of an Application as Argo CD reports them in `status.resources`. */
export function resourcesOf(app: KObj | undefined): ResourceState[] {
  const list: any[] = Array.isArray(app?.status?.resources) ? app!.status.resources : []
  return list.map((r) => ({
    key: resourceKey(r),
    group: r.group ?? '',
    kind: r.kind,
    namespace: r.namespace ?? '',
    name: r.name,
    status: r.status,
    health: r.health?.status,
    message: r.health?.message,
    requiresPruning: r.requiresPruning === true,
  }))
}

export function conditionsOf(app: KObj | undefined): { type: string; message: string }[] {
  const list: any[] = Array.isArray(app?.status?.conditions) ? app!.status.conditions : []
  return list.map((c) => ({ type: String(c.type ?? ''), message: String(c.message ?? '') }))
}

export function snapshotOf(app: KObj | undefined): AppSnapshot {
  return {
    exists: Boolean(app),
    sync: app?.status?.sync?.status,
    health: app?.status?.health?.status,
    conditions: conditionsOf(app),
    resources: new Map(resourcesOf(app).map((r) => [r.key, r])),
  }
}

export function describeResource(r: ResourceState): string {
  const health = r.health ?? 'no health'
  return `${resourceLabel(r)}: ${health}${r.status && r.status !== 'Synced' ? `, ${r.status}` : ''}${r.message ? ` (${r.message})` : ''}`
}

/** Conditions that say Argo CD cannot even compare the app: waiting does not clear them. */
const ERROR_CONDITIONS = new Set(['ComparisonError', 'InvalidSpecError'])

export interface JudgeInput {
  before: AppSnapshot
  /** resources this setup manages whatever the snapshot says (e.g. our ExternalSecrets on a rerun) */
  knownOurs: Set<string>
  /** whether a git revision contains the commit the setup pushed */
  containsOurs(rev: string): Promise<boolean>
  /** the pushed commit (for messages) */
  revision: string
  /** when the setup applied or asked for a sync: a failed operation started after this is ours */
  since?: Date
}

export interface Verdict {
  state: WaitState
  /** resources of ours (or regressed ones) that are not done yet, for terminal-state checks */
  pending: ResourceState[]
  /** resources already broken before the setup and not touched by it */
  warnings: string[]
  /** one line per thing still waited for, the revision mismatch first (for the timeout message) */
  details: string[]
  /** the resources behind `warnings`, and the one whose regression failed the app (for causes read elsewhere, e.g. ESO's Events) */
  warned?: ResourceState[]
  regressed?: ResourceState
}

const anyOurs = async (revs: string[], containsOurs: (r: string) => Promise<boolean>) => (revs.length ? (await Promise.all(revs.map(containsOurs))).some(Boolean) : false)

/**
 * Is the app done: the sync operation of ours finished at a revision containing the pushed commit,
 * every resource of ours Synced and Healthy, and no resource that was Healthy before degraded?
 */
/** Whether the status was computed from the spec's source(s) as they are (no comparedTo: cannot tell, taken as yes). */
export function comparedToSpec(app: KObj): boolean {
  const compared = app.status?.sync?.comparedTo
  if (!compared || (compared.source === undefined && compared.sources === undefined)) return true
  const spec = app.spec ?? {}
  // what picks the manifests (Argo CD may fill other fields with defaults in comparedTo)
  const key = (src: unknown) => {
    const list: Record<string, unknown>[] = Array.isArray(src) ? src : src && typeof src === 'object' ? [src as Record<string, unknown>] : []
    return JSON.stringify(list.map((x) => [x.repoURL, x.path ?? '', x.chart ?? '', x.targetRevision ?? 'HEAD', x.ref ?? '']))
  }
  return key(compared.source ?? compared.sources) === key(spec.source ?? spec.sources)
}

export async function judgeApp(app: KObj | undefined, input: JudgeInput): Promise<Verdict> {
  const name = app?.metadata.name ?? '(absent)'
  if (!app) return { state: { waiting: 'the Application does not exist yet' }, pending: [], warnings: [], details: ['the Application does not exist yet'] }
  const st = app.status ?? {}
  const op = st.operationState
  const label = `Application ${app.metadata.namespace}/${name}`

  // Conditions that appeared since the snapshot (an old one may be what this setup is fixing)
  for (const c of conditionsOf(app)) {
    if (!ERROR_CONDITIONS.has(c.type)) continue
    if (input.before.conditions.some((b) => b.type === c.type && b.message === c.message)) continue
    return { state: { failed: `${label} has condition ${c.type}: "${c.message}"` }, pending: [], warnings: [], details: [] }
  }

  const opRevsOurs = op ? await anyOurs(operationRevisions(app), input.containsOurs) : false
  // a failed operation with a newer one requested (app.operation: a rerun asked for a sync after it
  // failed) is the past: the new one is waited for
  if (op && (op.phase === 'Failed' || op.phase === 'Error') && !app.operation) {
    const recent = input.since && op.startedAt ? new Date(op.startedAt) >= new Date(input.since.getTime() - 1000) : false
    if (opRevsOurs || recent) {
      const failed = (op.syncResult?.resources ?? []).filter((r: { status?: string }) => r.status === 'SyncFailed')
      const causes = failed.slice(0, 3).map((r: any) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: "${r.message ?? 'sync failed'}"`)
      return { state: { failed: `${label}: sync operation ${op.phase}: "${op.message ?? ''}"${causes.length ? `; ${causes.join('; ')}` : ''}` }, pending: [], warnings: [], details: [] }
    }
  }

  const details: string[] = []
  const revs = syncedRevisions(app)
  const atOurs = await anyOurs(revs, input.containsOurs)
  if (!atOurs) details.push(`${label} is at revision ${revs.map(short).join(',') || 'none'}, not yet at the pushed ${short(input.revision)}${st.health?.status === 'Healthy' ? ' (Healthy at the older revision)' : ''}`)
  // a spec changed by the run (a chart's targetRevision) is judged once Argo CD has compared it: until
  // then its status is the old source's (the git revision may already be ours)
  else if (!comparedToSpec(app)) details.push(`${label}: Argo CD has not compared its changed source yet (status.sync.comparedTo is the old one)`)
  if (op && (op.phase === 'Running' || op.phase === 'Terminating')) details.push(`${label}: sync operation ${op.phase}${op.message ? ` (${op.message})` : ''}`)
  else if (app.operation) details.push(`${label}: sync operation requested, not started yet`)

  // Resources the last sync of ours created or configured count as ours.
  const changedBySync = new Set<string>()
  if (op && opRevsOurs)
    for (const r of op.syncResult?.resources ?? []) if (!/ unchanged$/.test(String(r.message ?? ''))) changedBySync.add(resourceKey(r))

  const pending: ResourceState[] = []
  const warnings: string[] = []
  const warned: ResourceState[] = []
  for (const r of resourcesOf(app)) {
    const was = input.before.resources.get(r.key)
    const ours = !input.before.exists || !was || input.knownOurs.has(r.key) || changedBySync.has(r.key)
    const healthy = r.health === undefined || r.health === 'Healthy'
    if (ours) {
      if (r.requiresPruning) continue
      if (!healthy || r.status !== 'Synced') {
        pending.push(r)
        details.push(`${describeResource(r)} [${!was ? 'added' : 'changed'} by the setup]`)
      }
      continue
    }
    const wasHealthy = was.health === undefined || was.health === 'Healthy'
    if (!healthy) {
      if (!wasHealthy) {
        warnings.push(`${resourceLabel(r)} in ${label} was already ${was.health} before the setup and the setup did not change it: ${r.health}${r.message ? ` (${r.message})` : ''}`)
        warned.push(r)
        continue
      }
      if (r.health === 'Degraded')
        return { state: { failed: `${resourceLabel(r)} in ${label} was Healthy before the setup and is Degraded now: "${r.message ?? 'no message'}"` }, pending: [], warnings, warned, details: [], regressed: r }
      pending.push(r)
      details.push(`${describeResource(r)} [was Healthy before the setup]`)
    } else if (r.status === 'OutOfSync' && !r.requiresPruning && was.status === 'Synced') {
      pending.push(r)
      details.push(`${describeResource(r)} [was Synced before the setup]`)
    }
  }
  if (details.length === 0) return { state: { ready: true }, pending, warnings, warned, details }
  return { state: { waiting: details.join('; ') }, pending, warnings, warned, details }
}
