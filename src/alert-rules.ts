// ALERT_RULES=true (off by default): where the GitOps repo runs the Prometheus Operator
// (kube-prometheus-stack, or its PrometheusRule / ServiceMonitor objects), task 5 adds a second
// values file for the Image Updater chart that makes its metrics scrapable (metrics + ServiceMonitor)
// and a PrometheusRule on them (applications watched falling to 0, image errors rising), and lists it
// in the chart Application's valueFiles. The rule's labels copy those of a PrometheusRule the repo
// already has (kube-prometheus-stack selects rules by its `release` label).
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { gitRun } from './git.ts'
import { parseAllDocuments } from 'yaml'

export const alertRulesOn = (ctx: Ctx) => /^(true|1|yes|on)$/i.test(ctx.settings.alertRules ?? '')

export const alertValuesFile = (ctx: Ctx) => `${ctx.settings.valuesDir}/argocd-image-updater-alerts.yaml`

export interface PrometheusOperator {
  /** the file that shows it (a PrometheusRule, a ServiceMonitor, the kube-prometheus-stack chart) */
  evidence: string
  /** labels for the rule and the ServiceMonitor, as a flow map (`{release: kube-prometheus-stack}`) */
  labels: string
}

/** Where the repo shows the Prometheus Operator, and the labels its rules carry; undefined: it does not. */
export async function findPrometheusOperator(ctx: Ctx): Promise<PrometheusOperator | undefined> {
  let files: string[]
  try {
    const { stdout } = await gitRun(ctx.repoDir, ['grep', '-l', '-I', '-E', 'kube-prometheus-stack|kind: *(PrometheusRule|ServiceMonitor)', 'HEAD', '--', '*.yaml', '*.yml'])
    files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^HEAD:/, ''))
  } catch {
    return undefined // git grep exits 1 when nothing matches
  }
  if (!files.length) return undefined
  let release: string | undefined
  for (const file of files) {
    const { stdout } = await gitRun(ctx.repoDir, ['show', `HEAD:${file}`]).catch(() => ({ stdout: '' }))
    for (const doc of parseAllDocuments(stdout).map((d) => d.toJS() as any)) {
      if (doc?.kind === 'PrometheusRule' && doc.metadata?.labels && Object.keys(doc.metadata.labels).length)
        return { evidence: file, labels: flowMap(doc.metadata.labels) }
      // a kube-prometheus-stack Application: its release name is what its rule selector asks for
      const chart = [doc?.spec?.source, ...(doc?.spec?.sources ?? [])].find((s: any) => s?.chart === 'kube-prometheus-stack')
      if (chart) release ??= chart.helm?.releaseName ?? doc.metadata?.name
    }
  }
  return { evidence: files[0], labels: flowMap({ release: release ?? 'kube-prometheus-stack' }) }
}

const flowMap = (labels: Record<string, unknown>) => `{${Object.entries(labels).map(([k, v]) => `${k}: ${JSON.stringify(String(v))}`).join(', ')}}`

/** The labels of the rule, or a SetupError when ALERT_RULES is on where it cannot work. */
export async function alertRuleLabels(ctx: Ctx, appMinor: string): Promise<string> {
  if (appMinor !== '1.2')
    throw new SetupError(`ALERT_RULES=true needs Image Updater's metrics, which this setup knows from chart 1.2 on (CHART_VERSION is ${ctx.settings.chartVersion})`, 'set CHART_VERSION=1.2.4, or ALERT_RULES=false')
  const found = await findPrometheusOperator(ctx)
  if (!found)
    throw new SetupError(
      'ALERT_RULES=true, but the GitOps repo shows no Prometheus Operator (no kube-prometheus-stack Application, PrometheusRule or ServiceMonitor)',
      'install kube-prometheus-stack (or the Prometheus Operator) through the repo first, or set ALERT_RULES=false',
    )
  return found.labels
}
