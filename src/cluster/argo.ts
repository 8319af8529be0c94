// Reading Argo CD Application status: is it Synced AND Healthy at (or after) our commit, what does
// the user need to see when it is not, and which patch asks Argo CD to sync now.
import type { KObj, WaitState } from './kube.ts'
import { FIELD_MANAGER } from './kube.ts'

export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh'

/** Git revisions the app's last comparison used (single source: one; multi-source: one per source). */
export function syncedRevisions(app: KObj): string[] {
  const sync = app.status?.sync ?? {}
  const revs: unknown[] = Array.isArray(sync.revisions) ? sync.revisions : [sync.revision]
  return revs.filter((r): r is string => typeof r === 'string' && r.length > 0)
}

function operationRevisions(app: KObj): string[] {
  const op = app.status?.operationState ?? {}
  const from = [op.syncResult?.revision, ...(op.syncResult?.revisions ?? []), op.operation?.sync?.revision, ...(op.operation?.sync?.revisions ?? [])]
  return from.filter((r): r is string => typeof r === 'string' && r.length > 0)
}

const short = (rev: string) => (/^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 7) : rev)

/** One line the user can act on: sync/health/revision, the last condition and the operation message. */
export function describeApp(app: KObj | undefined): string {
  if (!app) return 'the Application does not exist'
  const st = app.status ?? {}
  const parts = [`sync=${st.sync?.status ?? 'Unknown'}`, `health=${st.health?.status ?? 'Unknown'}`]
  const revs = syncedRevisions(app)
  if (revs.length) parts.push(`revision=${revs.map(short).join(',')}`)
  const conditions: { type?: string; message?: string }[] = Array.isArray(st.conditions) ? st.conditions : []
  const cond = conditions[conditions.length - 1]
  if (cond) parts.push(`condition ${cond.type}: ${cond.message ?? ''}`.trim())
  if (st.health?.message) parts.push(`health message: ${st.health.message}`)
  const op = st.operationState
  if (op) parts.push(`operation ${op.phase ?? '?'}${op.message ? `: ${op.message}` : ''}`)
  const failed = (op?.syncResult?.resources ?? []).filter((r: { status?: string }) => r.status === 'SyncFailed')
  for (const r of failed.slice(0, 3)) parts.push(`${r.kind}/${r.name}: ${r.message ?? 'sync failed'}`)
  return parts.join('; ')
}

/**
 * The wait condition for an Application: Synced and Healthy at a revision that contains ours.
 * A sync operation that failed at our revision (or that started after `since`) ends the wait.
 */
export async function appConverged(app: KObj | undefined, containsOurs: (rev: string) => Promise<boolean>, since?: Date): Promise<WaitState> {
  if (!app) return { waiting: describeApp(app) }
  const st = app.status ?? {}
  const op = st.operationState
  if (op && (op.phase === 'Failed' || op.phase === 'Error')) {
    const opRevs = operationRevisions(app)
    const ours = opRevs.length ? (await Promise.all(opRevs.map(containsOurs))).some(Boolean) : false
    const recent = since && op.startedAt ? new Date(op.startedAt) >= new Date(since.getTime() - 1000) : false
    if (ours || recent) return { failed: `sync ${op.phase}: ${describeApp(app)}` }
  }
  const at = (await Promise.all(syncedRevisions(app).map(containsOurs))).some(Boolean)
  const running = op?.phase === 'Running' || op?.phase === 'Terminating'
  if (at && !running && st.sync?.status === 'Synced' && st.health?.status === 'Healthy') return { ready: true }
  return { waiting: describeApp(app) }
}

/**
 * The merge patch that makes Argo CD sync now, or undefined when one is already under way.
 * Auto-synced apps only need a refresh; others (and an auto-sync that failed at this revision,
 * which Argo CD does not retry by itself) get an explicit sync operation.
 */
export function syncTrigger(app: KObj): Record<string, unknown> | undefined {
  const op = app.status?.operationState
  if (app.operation || op?.phase === 'Running' || op?.phase === 'Terminating') return undefined
  const automated = Boolean(app.spec?.syncPolicy?.automated)
  const lastFailed = op?.phase === 'Failed' || op?.phase === 'Error'
  const refresh = { metadata: { annotations: { [REFRESH_ANNOTATION]: 'normal' } } }
  if (automated && !lastFailed) return app.metadata.annotations?.[REFRESH_ANNOTATION] ? undefined : refresh
  return { ...refresh, operation: { initiatedBy: { username: FIELD_MANAGER }, sync: { syncStrategy: { hook: {} } } } }
}

/** Paths where `live` lacks a field of `desired` or has another value (live may have more fields). */
export function differences(live: unknown, desired: unknown, path = ''): string[] {
  if (desired === undefined) return []
  if (desired === null || typeof desired !== 'object') return live === desired || (desired === null && live === undefined) ? [] : [path || '.']
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [path || '.']
    return desired.flatMap((d, i) => differences(live[i], d, `${path}[${i}]`))
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return [path || '.']
  return Object.entries(desired as Record<string, unknown>).flatMap(([k, v]) => differences((live as Record<string, unknown>)[k], v, path ? `${path}.${k}` : k))
}

/** True when every field of `desired` is present in `live` with the same value. */
export function contains(live: unknown, desired: unknown): boolean {
  return differences(live, desired).length === 0
}

/** Which Application, if any, tracks a live resource (Argo CD label or annotation tracking). */
export function trackedBy(obj: KObj | undefined): string | undefined {
  if (!obj) return undefined
  const id = obj.metadata.annotations?.['argocd.argoproj.io/tracking-id']
  if (id) return id.split(':')[0]
  return obj.metadata.labels?.['app.kubernetes.io/instance']
}

/** Repo paths an Application reads from git: source paths and `$ref/...` Helm value files. */
export function sourcePaths(app: KObj): string[] {
  const sources: { path?: string; chart?: string; helm?: { valueFiles?: string[] } }[] = [app.spec?.source, ...(app.spec?.sources ?? [])].filter(Boolean)
  const paths: string[] = []
  for (const s of sources) {
    if (s.path && !s.chart) paths.push(s.path.replace(/^\.?\/+/, '') || '.')
    for (const f of s.helm?.valueFiles ?? []) if (f.startsWith('$')) paths.push(f.replace(/^\$[^/]+\//, ''))
  }
  return paths
}
