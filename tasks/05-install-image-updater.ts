// Task 5: install Argo CD Image Updater from the argo-helm chart, with values from this repo.
// The values file is created once and then belongs to the user (task 9 only lowers the log level);
// after that only what the setup needs is checked and repaired in place (src/repairs.ts).
import { planFile, present, readRepoFile } from '../src/files.ts'
import { knownFacts, pullSecretRef, repoFacts, templateVars, type RepoFacts } from '../src/repo-facts.ts'
import { newApplication } from '../src/conventions.ts'
import { planRepairs, valuesRepairs } from '../src/repairs.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { appendBlockItem, appendToSequence, getAt, setScalar, singleDocument } from '../src/yaml-edit.ts'
import { SetupError } from '../src/errors.ts'
import type { Ctx } from '../src/context.ts'
import { chartHandSet, settingDrift } from '../src/lifecycle/drift.ts'
import { alertRuleLabels, alertRulesOn, alertValuesFile } from '../src/alert-rules.ts'

/**
 * The chart's Application is written once; after that only the chart version follows CHART_VERSION
 * (the rest, sync options included, is the user's).
 */
async function planChartApplication(ctx: Ctx, facts: RepoFacts, rel: string, rendered: string, ours: string[], alertValues?: string) {
  const text = await readRepoFile(ctx, rel)
  const withAlerts = (t: string) => (alertValues ? appendToSequence(t, rel, ['spec', 'sources', 0, 'helm', 'valueFiles'], alertValues) : t)
  if (text === null) return newApplication(ctx, rel, withAlerts(rendered), undefined, ours)
  const home = facts.updaterHome?.viaChart ? facts.updaterHome : undefined
  const path = ['spec', 'sources', 0, 'targetRevision']
  const { value, line } = getAt(text, rel, path)
  if (getAt(text, rel, ['spec', 'sources', 0, 'chart']).value !== 'argocd-image-updater')
    throw new SetupError(`${rel}:${line}: expected spec.sources[0] to be the argocd-image-updater chart`, `move ${rel} away to have it written again, or make its first source the chart, then rerun`)
  // a chart version set by hand after the setup stops the run (the ImageUpdaters follow CHART_VERSION): src/lifecycle/drift.ts
  const refused = chartHandSet((await settingDrift(ctx, rel, text, text, [{ path, want: ctx.settings.chartVersion, setting: 'CHART_VERSION', what: 'chart version' }])).handSet)
  if (refused) throw refused
  const sources = getAt(text, rel, ['spec', 'sources']).value
  const syncsHome = home && Array.isArray(sources) && sources.some((x) => x?.path === home.dir)
  return planRepairs(ctx, rel, text, [
    { reason: `chart version ${ctx.settings.chartVersion} (CHART_VERSION)`, routine: true, edit: (t) => (value === ctx.settings.chartVersion ? t : setScalar(t, rel, path, ctx.settings.chartVersion)) },
    ...(alertValues ? [{ reason: `the alert rules' values file (ALERT_RULES=true): ${alertValues}`, edit: withAlerts }] : []),
    ...(home && !syncsHome
      ? [{ reason: `a source for ${home.dir}, the ImageUpdaters of the apps that stay where they are`, routine: true, edit: (t: string) => appendBlockItem(t, rel, ['spec', 'sources'], [`- repoURL: ${facts.repoUrl}`, `  targetRevision: ${ctx.settings.branch}`, `  path: ${home.dir}`]) }]
      : []),
  ])
}

export const task: Task = {
  id: 5,
  title: 'Install Argo CD Image Updater (Helm chart Application and values)',
  scope: 'repo',
  managedPaths: (ctx) => [...new Set([`${ctx.settings.valuesDir}/argocd-image-updater.yaml`, `${ctx.settings.applicationsDir}/argocd-image-updater.yaml`, knownFacts(ctx)?.chartApplicationFile ?? `${ctx.settings.applicationsDir}/argocd-image-updater.yaml`, ...(alertRulesOn(ctx) ? [alertValuesFile(ctx)] : [])])],
  async plan(ctx) {
    const facts = await repoFacts(ctx)
    const vars = templateVars(ctx, facts)
    const values = await readRepoFile(ctx, facts.valuesFile)
    if (values !== null) singleDocument(values, facts.valuesFile)
    const hosts = facts.apps.map((a) => a.image.registry)
    // ALERT_RULES=true: a second values file with the metrics, the ServiceMonitor and the PrometheusRule (src/alert-rules.ts)
    const alerts = alertRulesOn(ctx) ? await planFile(ctx, alertValuesFile(ctx), renderManifest('image-updater-alerts-values.yaml', { ruleLabels: await alertRuleLabels(ctx, facts.shape.appMinor) })) : undefined
    if (alerts) alerts.summary += ' (PrometheusRule argocd-image-updater: ImageUpdaterWatchesNothing, ImageUpdaterImageErrors; metrics Service and ServiceMonitor on)'
    return present([
      alerts,
      values === null
        ? await planFile(ctx, facts.valuesFile, renderManifest('image-updater-values.yaml', vars), null)
        : await planRepairs(ctx, facts.valuesFile, values, valuesRepairs(values, facts.valuesFile, { logLevel: ctx.settings.logLevel, hosts, pullSecret: pullSecretRef(ctx), chartVersion: ctx.settings.chartVersion })),
      await planChartApplication(ctx, facts, facts.chartApplicationFile, renderManifest('image-updater-application.yaml', vars, { imageUpdaters: facts.updaterHome?.viaChart === true }), [...facts.apps.map((a) => a.applicationFile), facts.chartApplicationFile], alertRulesOn(ctx) ? `$values/${alertValuesFile(ctx)}` : undefined),
    ])
  },
}
export default task
await runIfMain(import.meta, task)
