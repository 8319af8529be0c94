// A built-in rendering of what the argo-helm `argocd-image-updater` chart 1.x installs, enough for
// the setup to be checked against: the ImageUpdater CRD of the chart's app version, ServiceAccount,
// RBAC, the `argocd-image-updater-config` ConfigMap built from `config.*` values, and the
// `<fullname>-controller` Deployment. A top-level `logLevel` value is not read by the chart.
import { stringify } from 'yaml'
import type { KObject } from '../store.ts'
import { imageUpdaterCrd } from './crds.ts'

export const IMAGE_UPDATER_CHART = 'argocd-image-updater'
export const ARGO_HELM_REPO = 'https://argoproj.github.io/argo-helm'

/**
 * Chart versions the sandbox knows, newest last, with their app versions. Only "1.2.4 = v1.2.2" is a
 * verified pairing; the other patch pairings are approximations (the minor always matches).
 */
export const CHART_APP_VERSIONS: [string, string][] = [
  ['1.0.0', '1.0.0'], ['1.0.1', '1.0.1'], ['1.0.2', '1.0.2'],
  ['1.1.0', '1.1.0'], ['1.1.1', '1.1.1'],
  ['1.2.0', '1.2.0'], ['1.2.1', '1.2.0'], ['1.2.2', '1.2.1'], ['1.2.3', '1.2.1'], ['1.2.4', '1.2.2'],
]

/** Resolves `targetRevision` (exact, `1.2.*`, `*`, `>=1.0.0` style) to a known chart version. */
export function resolveChartVersion(targetRevision: string | undefined): string | undefined {
  const want = (targetRevision ?? '').trim()
  const known = CHART_APP_VERSIONS.map(([c]) => c)
  if (!want || want === '*' || want === 'latest') return known.at(-1)
  if (known.includes(want.replace(/^v/, ''))) return want.replace(/^v/, '')
  const wildcard = /^v?(\d+)(?:\.(\d+|\*|x))?(?:\.(\*|x))?$/.exec(want)
  if (wildcard) {
    const [, maj, min] = wildcard
    return [...known].reverse().find((v) => v.startsWith(`${maj}.`) && (min === undefined || min === '*' || min === 'x' || v.split('.')[1] === min))
  }
  const ge = /^>=\s*v?(\d+)\.(\d+)\.(\d+)/.exec(want)
  if (ge) return known.at(-1)
  return undefined
}

export function appVersionOfChart(chartVersion: string): string | undefined {
  return CHART_APP_VERSIONS.find(([c]) => c === chartVersion)?.[1]
}

function isObject(v: unknown): v is Record<string, any> {
  return !!v && typeof v === 'object' && !Array.isArray(v)
}

/** Helm's value merge: maps merge, everything else is replaced. */
export function mergeValues(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base }
  for (const [k, v] of Object.entries(over ?? {})) out[k] = isObject(v) && isObject(out[k]) ? mergeValues(out[k], v) : v
  return out
}

const DEFAULT_VALUES = {
  crds: { install: true, keep: true },
  replicaCount: 1,
  image: { repository: 'quay.io/argoprojlabs/argocd-image-updater', tag: '' },
  nameOverride: '',
  fullnameOverride: '',
  createClusterRoles: true,
  rbac: { enabled: true },
  serviceAccount: { create: true, name: '' },
  config: { name: 'argocd-image-updater-config', 'kube.events': false, 'git.user': '', 'git.email': '', 'log.level': 'info', registries: [] as unknown[] },
}

const KNOWN_CONFIG_KEYS = new Set(['name', 'kube.events', 'git.user', 'git.email', 'git.commit-message-template', 'git.commit-signing-key', 'git.commit-sign-off', 'git.commit-signing-method', 'log.level', 'registries', 'sshConfig', 'argocd.grpc_web', 'argocd.server_addr', 'argocd.insecure', 'argocd.plaintext', 'argocd.token'])

/** The ConfigMap data the chart builds from `config.*`. */
export function configMapData(config: Record<string, any>): Record<string, string> {
  const data: Record<string, string> = {}
  data['kube.events'] = String(config['kube.events'] ?? false)
  data['log.level'] = String(config['log.level'] ?? 'info')
  if (config['git.user']) data['git.user'] = String(config['git.user'])
  if (config['git.email']) data['git.email'] = String(config['git.email'])
  if (config['git.commit-message-template']) data['git.commit-message-template'] = String(config['git.commit-message-template'])
  if (Array.isArray(config.registries) && config.registries.length > 0) data['registries.conf'] = stringify({ registries: config.registries })
  for (const [k, v] of Object.entries(config)) {
    if (KNOWN_CONFIG_KEYS.has(k)) continue
    data[k] = typeof v === 'string' ? v : stringify(v).trimEnd()
  }
  return data
}

export function renderImageUpdaterChart(opts: { chartVersion: string; release: string; namespace: string; values: Record<string, any> }): KObject[] {
  const appVersion = appVersionOfChart(opts.chartVersion)
  if (!appVersion) throw new Error(`chart ${IMAGE_UPDATER_CHART} version ${opts.chartVersion} not found in ${ARGO_HELM_REPO}`)
  const v = mergeValues(DEFAULT_VALUES, opts.values)
  const name = (v.nameOverride as string) || IMAGE_UPDATER_CHART
  const fullname = (v.fullnameOverride as string) || (opts.release.includes(name) ? opts.release : `${opts.release}-${name}`)
  const ns = opts.namespace
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': opts.release }
  const labels = { 'helm.sh/chart': `${IMAGE_UPDATER_CHART}-${opts.chartVersion}`, ...selector, 'app.kubernetes.io/version': `v${appVersion}`, 'app.kubernetes.io/managed-by': 'Helm' }
  const saName = v.serviceAccount.name || fullname
  const out: KObject[] = []
  if (v.crds?.install) {
    const crd = imageUpdaterCrd(appVersion)
    crd.metadata.labels = { ...labels }
    if (v.crds.keep) crd.metadata.annotations = { 'helm.sh/resource-policy': 'keep' }
    out.push(crd)
  }
  if (v.serviceAccount?.create) out.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: saName, namespace: ns, labels } })
  if (v.createClusterRoles) {
    out.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `${fullname}-manager-role`, labels }, rules: [{ apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['get', 'list', 'watch', 'update', 'patch'] }, { apiGroups: ['argocd-image-updater.argoproj.io'], resources: ['imageupdaters', 'imageupdaters/status'], verbs: ['get', 'list', 'watch', 'update', 'patch'] }] })
    out.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${fullname}-manager-rolebinding`, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${fullname}-manager-role` }, subjects: [{ kind: 'ServiceAccount', name: saName, namespace: ns }] })
  }
  out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: v.config.name || 'argocd-image-updater-config', namespace: ns, labels }, data: configMapData(v.config) })
  const image = `${v.image.repository}:${v.image.tag || `v${appVersion}`}`
  const env = ['log.level', 'kube.events', 'git.user', 'git.email'].map((key) => ({ name: `IMAGE_UPDATER_${key.replace(/\W/g, '_').toUpperCase()}`, valueFrom: { configMapKeyRef: { name: v.config.name, key, optional: true } } }))
  out.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${fullname}-controller`, namespace: ns, labels },
    spec: {
      replicas: v.replicaCount,
      selector: { matchLabels: selector },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { labels: selector },
        spec: { serviceAccountName: saName, containers: [{ name: `${fullname}-controller`, image, args: ['run'], env }] },
      },
    },
  })
  return out
}
