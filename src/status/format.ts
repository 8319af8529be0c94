// The status screen: a header naming the cluster and the controller, one row per app, then each
// problem with its cause and fix, then what was not checked and why.
import type { AppStatus, StatusReport } from './judge.ts'

/** `2026-12-05T20:01:02Z` → `3m ago` (relative to now), or `-`. */
export function ago(at: string | undefined, now: number): string {
  if (!at) return '-'
  const t = Date.parse(at)
  if (Number.isNaN(t)) return at
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 90) return `${s}s ago`
  if (s < 90 * 60) return `${Math.round(s / 60)}m ago`
  if (s < 48 * 3600) return `${Math.round(s / 3600)}h ago`
  return `${Math.round(s / 86400)}d ago`
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
}

const short = (tag: string | undefined) => (tag && /^sha256:[0-9a-f]{64}$/.test(tag) ? `${tag.slice(0, 19)}…` : (tag ?? '-'))

function appRows(app: AppStatus, now: number): string[][] {
  const base = [app.app, app.cluster ?? '-', app.sync || app.health ? `${app.sync ?? '?'}/${app.health ?? '?'}` : '-', app.imageUpdater ? `${app.imageUpdater}${app.matches ? '' : ' (matches nothing)'}` : 'none']
  const tail = [ago(app.lastCheck, now), ago(app.lastUpdate, now), app.problems.length ? `PROBLEM (${app.problems.length})` : app.verdict]
  const images = app.images.length ? app.images : [{ image: '-' } as AppStatus['images'][number]]
  return images.map((img, i) => [...(i === 0 ? base : base.map(() => '')), img.image, short(img.git), short(img.running), short(img.newest), ...(i === 0 ? tail : tail.map(() => ''))])
}

export function formatStatus(report: StatusReport, now: number): string {
  const c = report.controller
  const out: string[] = []
  out.push(`Image Updater status: context ${report.context} (${report.server})`)
  out.push(c.deployment ? `controller ${c.deployment} v${c.version ?? '?'}, ${c.replicas}, checks every ${c.interval}` : 'controller: not found')
  out.push('')
  if (report.apps.length) {
    const header = ['APP', 'CLUSTER', 'SYNC/HEALTH', 'IMAGEUPDATER', 'IMAGE', 'GIT', 'RUNNING', 'NEWEST ALLOWED', 'CHECKED', 'UPDATED', 'VERDICT']
    out.push(...table([header, ...report.apps.flatMap((a) => appRows(a, now))]))
  } else out.push('no app: no ImageUpdater in the cluster and none onboarded by the setup')
  const problems = [...report.problems, ...report.apps.flatMap((a) => a.problems)]
  if (problems.length) {
    out.push('', `${problems.length} problem${problems.length > 1 ? 's' : ''}:`)
    for (const p of problems) out.push(`  ✗ ${p.subject}: ${p.problem}`, `    fix: ${p.fix}`)
  } else out.push('', `every app is kept up to date (${report.apps.length} app${report.apps.length === 1 ? '' : 's'})`)
  const recent = report.apps.filter((a) => a.recentUpdates.length)
  if (recent.length) {
    out.push('', 'recent updates:')
    for (const a of recent) out.push(`  ${a.app}: ${a.recentUpdates.join('; ')}`)
  }
  const notes = [...report.notes, ...report.apps.flatMap((a) => a.images.filter((i) => i.newestNote && !i.newest).map((i) => `${a.app} ${i.image}: newest allowed tag not known (${i.newestNote})`))]
  if (notes.length) out.push('', 'not checked:', ...notes.map((n) => `  - ${n}`))
  return `${out.join('\n')}\n`
}
