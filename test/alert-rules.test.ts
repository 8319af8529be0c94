// ALERT_RULES=true: where the repo runs the Prometheus Operator, task 5 adds the values that make
// Image Updater's metrics scrapable and a PrometheusRule on them; --dry-run shows the rule; off by
// default; refused with a fix where the repo shows no Prometheus Operator.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { fixture, git, read, runSetup } from './helpers.ts'

const REPO_TASKS = ['--only', '0,2-6']
const ALERTS = 'k8s/helm/values/argocd-image-updater-alerts.yaml'

function withPrometheusRule(dir: string): void {
  mkdirSync(join(dir, 'infra/monitoring'), { recursive: true })
  writeFileSync(join(dir, 'infra/monitoring/node-rules.yaml'), 'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: node\n  namespace: monitoring\n  labels:\n    release: prom-stack\nspec:\n  groups: []\n')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'monitoring')
  git(dir, 'push', '-q', 'origin', 'HEAD')
}

test('ALERT_RULES=true in a repo with the Prometheus Operator: --dry-run shows the rule, the run writes it and converges; off by default', { timeout: 180_000 }, async () => {
  const fx = fixture()
  try {
    withPrometheusRule(fx.dir)
    const off = await runSetup(['--dry-run=full', ...REPO_TASKS], fx.env)
    assert.ok(!off.stdout.includes(ALERTS), 'off by default')
    const env = { ...fx.env, ALERT_RULES: 'true' }
    // the plain dry run names the rule in the change's summary (a long new file is folded)
    const plain = await runSetup(['--dry-run', ...REPO_TASKS], env)
    assert.match(plain.stdout, new RegExp(`create ${ALERTS} \\(PrometheusRule argocd-image-updater: ImageUpdaterWatchesNothing, ImageUpdaterImageErrors`))
    const dry = await runSetup(['--dry-run=full', ...REPO_TASKS], env)
    assert.equal(dry.code, 2, dry.stdout + dry.stderr)
    assert.match(dry.stdout, new RegExp(`create ${ALERTS}`))
    assert.match(dry.stdout, /kind: PrometheusRule/)
    assert.match(dry.stdout, /argocd_image_updater_applications_watched_total/)
    assert.match(dry.stdout, new RegExp(`\\$values/${ALERTS.replace(/\./g, '\\.')}`))

    const run = await runSetup(REPO_TASKS, env)
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const values = parse(read(fx.dir, ALERTS))
    assert.equal(values.metrics.enabled, true)
    assert.equal(values.metrics.serviceMonitor.enabled, true)
    assert.deepEqual(values.metrics.serviceMonitor.additionalLabels, { release: 'prom-stack' }, 'the labels the repo\'s own rules carry')
    const rule = values.extraObjects[0]
    assert.equal(rule.kind, 'PrometheusRule')
    assert.deepEqual(rule.metadata.labels, { release: 'prom-stack' })
    const exprs = rule.spec.groups[0].rules.map((r: { expr: string }) => r.expr)
    assert.ok(exprs.some((e: string) => /argocd_image_updater_applications_watched_total/.test(e) && /== 0/.test(e)))
    assert.ok(exprs.some((e: string) => /increase\(argocd_image_updater_images_errors_total/.test(e)))
    assert.ok(!read(fx.dir, ALERTS).includes('{{'), 'nothing Helm\'s tpl would take for a template')
    const app = parse(read(fx.dir, 'argocd/applications/argocd-image-updater.yaml'))
    assert.deepEqual(app.spec.sources[0].helm.valueFiles.slice(-1), [`$values/${ALERTS}`])
    const again = await runSetup(['--dry-run', ...REPO_TASKS], env)
    assert.equal(again.code, 0, again.stdout + again.stderr)
  } finally {
    fx.cleanup()
  }
})

test('ALERT_RULES=true where the repo shows no Prometheus Operator: refused with a fix, nothing written', { timeout: 120_000 }, async () => {
  const fx = fixture()
  try {
    const run = await runSetup(REPO_TASKS, { ...fx.env, ALERT_RULES: 'true' })
    assert.equal(run.code, 1, run.stdout + run.stderr)
    assert.match(run.stderr, /ALERT_RULES=true, but the GitOps repo shows no Prometheus Operator/)
    assert.match(run.stderr, /fix: install kube-prometheus-stack .* or set ALERT_RULES=false/)
    assert.equal(git(fx.dir, 'status', '--porcelain'), '')
  } finally {
    fx.cleanup()
  }
})
