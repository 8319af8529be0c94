// Reading Argo CD Application status (its revisions, who tracks a resource, what differs) and the
// patch that asks Argo CD to sync now. Whether an app is done is judged in app-snapshot.ts.
import type { KObj } from './kube.ts'
import { FIELD_MANAGER } from './kube.ts'

export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh'

/** Git revisions the app's last comparison used (single source: one; multi-source: one per source). */
export function syncedRevisions(app: KObj): string[] {
  const sync = app.status?.sync ?? {}
  const revs: unknown[] = Array.isArray(sync.revisions) ? sync.revisions : [sync.revision]
  return revs.filter((r): r is string => typeof r === 'string' && r.length > 0)
}

/** Git revisions the app's current or last sync operation is at. */
export function operationRevisions(app: KObj): string[] {
  const op = app.status?.operationState ?? {}
  const from = [op.syncResult?.revision, ...(op.syncResult?.revisions ?? []), op.operation?.sync?.revision, ...(op.operation?.sync?.revisions ?? [])]
  return from.filter((r): r is string => typeof r === 'string' && r.length > 0)
}

/**
 * The sync operation under way on the app, described ("Running since 12:00:01Z: one or more tasks
 * are running"), or undefined when none is: an `operation` requested and not yet finished, or an
 * operationState that has not completed (Argo CD's isOperationInProgress).
 */
export function operationUnderWay(app: KObj): string | undefined {
  const op = app.status?.operationState
  if (op?.phase === 'Running' || op?.phase === 'Terminating') return `${op.phase}${op.startedAt ? ` since ${op.startedAt}` : ''}${op.message ? `: ${op.message}` : ''}`
  if (app.operation) return 'requested, not started yet'
  return undefined
}

/**
 * The merge patch that makes Argo CD sync now, or undefined when one is already under way.
 * Auto-synced apps only need a refresh; others (and an auto-sync that failed at this revision,
 * which Argo CD does not retry by itself) get an explicit sync operation.
 */
export function syncTrigger(app: KObj): Record<string, unknown> | undefined {
  const op = app.status?.operationState
  if (operationUnderWay(app)) return undefined
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
