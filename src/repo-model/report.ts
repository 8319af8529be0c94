// What --dry-run says was found for each app of the run: the Application that renders it, the file,
// the cluster, the source type, and why the setup chose what it chose. The model supplies the
// facts; the onboarding adds its reasons with noteChoice while it plans.
import type { Ctx } from '../context.ts'
import { appNamed, describeWhere, loadRepoModel, objectsNamed, type ModelCtx } from './index.ts'
import type { ModelApp, RenderedObject, RepoModel } from './types.ts'

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job']

// Kept per settings object, which the runner's check-mode copies of the context share, so reasons
// given while the preflight plans are not lost; a reason given twice (a task plans again) shows once.
const choices = new WeakMap<object, Map<string, string[]>>()

/**
 * Records why the setup chose what it chose for an app of the run (one short line, e.g. "no move:
 * it-tools already renders through the Kustomize Application platform"). Shown in --dry-run under
 * the app's block.
 */
export function noteChoice(ctx: Pick<Ctx, 'settings'>, app: string, why: string): void {
  let byApp = choices.get(ctx.settings)
  if (!byApp) choices.set(ctx.settings, (byApp = new Map()))
  const list = byApp.get(app) ?? []
  if (!list.includes(why)) list.push(why)
  byApp.set(app, list)
}

/** The reasons recorded for an app so far. */
export function choicesFor(ctx: Pick<Ctx, 'settings'>, app: string): string[] {
  return [...(choices.get(ctx.settings)?.get(app) ?? [])]
}

function clusterText(app: ModelApp): string {
  const d = app.destination
  const where = d.cluster ? `${d.cluster.name}${d.cluster.server ? ` (${d.cluster.server})` : ''}` : `${d.server ?? d.name ?? '?'} (${d.unresolved})`
  return `${where}${d.namespace ? `, namespace ${d.namespace}` : ''}`
}

function sourceText(app: ModelApp, obj?: RenderedObject): string {
  const s = obj ? app.sources[obj.source] : app.sources.find((x) => x.thisRepo) ?? app.sources[0]
  if (!s) return 'no source'
  return `${s.type} (${s.typeWhy})`
}

/** The block for one app of the run: what renders it, from where, to which cluster, and why. */
export function appBlock(model: RepoModel, name: string, why: string[]): string[] {
  const lines = [`${name}:`]
  const renders = objectsNamed(model, name, WORKLOADS)
  const own = appNamed(model, name)
  if (renders.length === 0 && !own) lines.push(`  not found: no Application renders a workload named ${name}, and no Application has that name`)
  for (const { app, object } of renders) {
    lines.push(`  ${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name} from ${object.file}:${object.line}`)
    lines.push(`    Application ${app.name} (${describeWhere(app)}), ${sourceText(app, object)}`)
    lines.push(`    cluster ${clusterText(app)}`)
  }
  if (own && !renders.some((r) => r.app === own)) {
    lines.push(`  Application ${own.name} (${describeWhere(own)}), ${sourceText(own)}, ${own.render.status}`)
    lines.push(`    cluster ${clusterText(own)}`)
  }
  if (renders.length > 1) lines.push(`  ${renders.length} workloads have this name: ${renders.map((r) => `${r.app.name} (${r.object.file})`).join(', ')}`)
  for (const w of why) lines.push(`  why: ${w}`)
  return lines
}

/** The "Found in the repo" section of --dry-run for the apps of the run. */
export async function foundReport(ctx: ModelCtx, apps: string[]): Promise<string> {
  const model = await loadRepoModel(ctx)
  const lines = ['Found in the repo (as Argo CD sees it):']
  for (const name of apps) lines.push(...appBlock(model, name, choicesFor(ctx, name)).map((l) => `  ${l}`))
  const { secretStore } = await import('../secret-store.ts')
  const storeName = (await secretStore(ctx)).name
  const vault = model.vaultStores.filter((v) => v.kind === 'ClusterSecretStore' && v.name === storeName)
  for (const v of vault) lines.push(`  Vault (store ${v.name}, ${v.where.file}:${v.where.line}): ${v.server} on ${v.cluster ? `cluster ${v.cluster.name}` : 'an unknown cluster'} (${v.clusterWhy})`)
  lines.push(`  (${model.applications.length} Applications, ${model.clusters.length} cluster(s); the model took ${model.cost.ms} ms${model.cost.kustomizeBuilds ? `, ${model.cost.kustomizeBuilds} kustomize build(s)` : ''})`)
  return lines.join('\n')
}
