// CustomResourceDefinitions the sandbox installs or renders. These are reduced, hand-written
// structural schemas: enough for the API server to validate required fields and prune unknown
// ones the way a real server would (which is what makes version drift visible).
import { MODEL_ANNOTATION } from '../apiserver/kinds.ts'
import type { KObject } from '../store.ts'

type Schema = Record<string, unknown>
const str: Schema = { type: 'string' }
const bool: Schema = { type: 'boolean' }
const int: Schema = { type: 'integer' }
const open: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
const obj = (properties: Record<string, Schema>, required?: string[]): Schema => ({ type: 'object', properties, ...(required ? { required } : {}) })
const arr = (items: Schema): Schema => ({ type: 'array', items })

/** A column `kubectl get` prints for a custom kind (the API server's Table, sandbox/apiserver/table.ts). */
interface PrinterColumn {
  name: string
  jsonPath: string
  type: 'string' | 'date' | 'integer' | 'boolean'
  priority?: number
}

/**
 * The short names and categories the upstream CRDs declare (argo-cd's manifests/crds/*-crd.yaml,
 * external-secrets' config/crds/bases/*.yaml), which `kubectl get app` / `get es` /
 * `get external-secrets` resolve through discovery. Kinds not listed declare none.
 */
const UPSTREAM_NAMES: Record<string, { shortNames: string[]; categories?: string[] }> = {
  'argoproj.io/Application': { shortNames: ['app', 'apps'] },
  'argoproj.io/AppProject': { shortNames: ['appproj', 'appprojs'] },
  'argoproj.io/ApplicationSet': { shortNames: ['appset', 'appsets'] },
  'external-secrets.io/ExternalSecret': { shortNames: ['es'], categories: ['external-secrets'] },
  'external-secrets.io/SecretStore': { shortNames: ['ss'], categories: ['external-secrets'] },
  'external-secrets.io/ClusterSecretStore': { shortNames: ['css'], categories: ['external-secrets'] },
}

/** `spec.names` of a CRD for a kind, with the upstream short names and categories where known. */
function namesOf(group: string, kind: string, plural: string): Record<string, unknown> {
  const upstream = UPSTREAM_NAMES[`${group}/${kind}`]
  return {
    ...(upstream?.categories ? { categories: upstream.categories } : {}),
    kind,
    listKind: `${kind}List`,
    plural,
    ...(upstream ? { shortNames: upstream.shortNames } : {}),
    singular: kind.toLowerCase(),
  }
}

function crd(
  group: string,
  kind: string,
  plural: string,
  scope: 'Namespaced' | 'Cluster',
  version: string,
  schema: Schema,
  extraLabels: Record<string, string> = {},
  additionalPrinterColumns: PrinterColumn[] = [],
): KObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: extraLabels },
    spec: {
      group,
      names: namesOf(group, kind, plural),
      scope,
      versions: [
        { name: version, served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: schema }, ...(additionalPrinterColumns.length ? { additionalPrinterColumns } : {}) },
      ],
    },
  }
}

const looseRoot = (requiredSpec = true): Schema => ({ type: 'object', properties: { spec: open, status: open, operation: open }, ...(requiredSpec ? { required: ['spec'] } : {}) })

// The printer columns the upstream CRDs declare (Argo CD's application-crd.yaml, ESO's bundle).
const READY_CONDITION = '.status.conditions[?(@.type=="Ready")]'
const APPLICATION_COLUMNS: PrinterColumn[] = [
  { name: 'Sync Status', jsonPath: '.status.sync.status', type: 'string' },
  { name: 'Health Status', jsonPath: '.status.health.status', type: 'string' },
  { name: 'Revision', jsonPath: '.status.sync.revision', type: 'string', priority: 10 },
  { name: 'Project', jsonPath: '.spec.project', type: 'string', priority: 10 },
]
const EXTERNAL_SECRET_COLUMNS: PrinterColumn[] = [
  { name: 'StoreType', jsonPath: '.spec.secretStoreRef.kind', type: 'string', priority: 1 },
  { name: 'Store', jsonPath: '.spec.secretStoreRef.name', type: 'string' },
  { name: 'Refresh Interval', jsonPath: '.spec.refreshInterval', type: 'string' },
  { name: 'Status', jsonPath: `${READY_CONDITION}.reason`, type: 'string' },
  { name: 'Ready', jsonPath: `${READY_CONDITION}.status`, type: 'string' },
]
const SECRET_STORE_COLUMNS: PrinterColumn[] = [
  { name: 'Age', jsonPath: '.metadata.creationTimestamp', type: 'date' },
  { name: 'Status', jsonPath: `${READY_CONDITION}.reason`, type: 'string' },
  { name: 'Capabilities', jsonPath: '.status.capabilities', type: 'string' },
  { name: 'Ready', jsonPath: `${READY_CONDITION}.status`, type: 'string' },
]

export const applicationCrd = (): KObject => crd('argoproj.io', 'Application', 'applications', 'Namespaced', 'v1alpha1', looseRoot(), {}, APPLICATION_COLUMNS)
export const applicationSetCrd = (): KObject => crd('argoproj.io', 'ApplicationSet', 'applicationsets', 'Namespaced', 'v1alpha1', looseRoot())
export const appProjectCrd = (): KObject => crd('argoproj.io', 'AppProject', 'appprojects', 'Namespaced', 'v1alpha1', looseRoot())
export const externalSecretCrd = (): KObject => crd('external-secrets.io', 'ExternalSecret', 'externalsecrets', 'Namespaced', 'v1', looseRoot(false), {}, EXTERNAL_SECRET_COLUMNS)
export const clusterSecretStoreCrd = (): KObject => crd('external-secrets.io', 'ClusterSecretStore', 'clustersecretstores', 'Cluster', 'v1', looseRoot(), {}, SECRET_STORE_COLUMNS)

/** Image Updater app version (`1.2.2`) as [major, minor, patch]. */
export function appVersionParts(appVersion: string): [number, number, number] {
  const [a, b, c] = appVersion.replace(/^v/, '').split('.').map((n) => parseInt(n, 10) || 0)
  return [a ?? 0, b ?? 0, c ?? 0]
}

export function versionAtLeast(appVersion: string, major: number, minor: number): boolean {
  const [a, b] = appVersionParts(appVersion)
  return a > major || (a === major && b >= minor)
}

/**
 * The ImageUpdater CRD of an Image Updater app version: `spec.namespace` required up to 1.1.x and
 * gone in 1.2; `applicationRefs[].useAnnotations` from 1.1; status counters from 1.2.
 */
export function imageUpdaterCrd(appVersion: string): KObject {
  const hasUseAnnotations = versionAtLeast(appVersion, 1, 1)
  const hasNamespace = !versionAtLeast(appVersion, 1, 2)
  const hasCounters = versionAtLeast(appVersion, 1, 2)
  const updateSettings = obj({ allowTags: str, ignoreTags: arr(str), forceUpdate: bool, platforms: arr(str), pullSecret: str, updateStrategy: str })
  const writeBack = obj({ method: str, gitConfig: obj({ branch: str, repository: str, writeBackTarget: str }) }, ['method'])
  const image = obj({
    alias: str,
    imageName: str,
    commonUpdateSettings: updateSettings,
    manifestTargets: obj({ kustomize: obj({ name: str }, ['name']), helm: obj({ name: str, tag: str, spec: str }, ['name']) }),
  }, ['alias', 'imageName'])
  const appRef = obj({
    namePattern: str,
    labelSelectors: obj({ matchLabels: { type: 'object', additionalProperties: str }, matchExpressions: arr(obj({ key: str, operator: str, values: arr(str) }, ['key', 'operator'])) }),
    commonUpdateSettings: updateSettings,
    images: arr(image),
    writeBackConfig: writeBack,
    ...(hasUseAnnotations ? { useAnnotations: bool } : {}),
  }, ['namePattern'])
  const spec = obj({
    ...(hasNamespace ? { namespace: str } : {}),
    applicationRefs: arr(appRef),
    commonUpdateSettings: updateSettings,
    writeBackConfig: writeBack,
  }, hasNamespace ? ['applicationRefs', 'namespace'] : ['applicationRefs'])
  const condition = obj({ type: str, status: str, reason: str, message: str, lastTransitionTime: str, observedGeneration: int }, ['type', 'status', 'reason', 'message', 'lastTransitionTime'])
  const status = obj({
    conditions: arr(condition),
    observedGeneration: int,
    ...(hasCounters ? { applicationsMatched: int, imagesManaged: int, lastCheckedAt: str, lastUpdatedAt: str, recentUpdates: arr(open) } : {}),
  })
  return crd('argocd-image-updater.argoproj.io', 'ImageUpdater', 'imageupdaters', 'Namespaced', 'v1alpha1', obj({ apiVersion: str, kind: str, metadata: { type: 'object' }, spec, status }, ['spec']))
}

/** The packages whose models carry the real CRD schemas of these API groups. */
const MODEL_PACKAGES: Record<string, string> = {
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  'traefik.io': '@kubernetes-models/traefik',
  'traefik.containo.us': '@kubernetes-models/traefik',
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'acme.cert-manager.io': '@kubernetes-models/cert-manager',
  'external-secrets.io': '@kubernetes-models/external-secrets',
  'argoproj.io': '@kubernetes-models/argo-cd',
}

/** Custom kinds that are cluster-scoped (a rendered object does not say; these projects' CRDs do). */
const CLUSTER_SCOPED = new Set(['GatewayClass', 'ClusterIssuer', 'ClusterSecretStore', 'ClusterExternalSecret', 'ClusterGenerator', 'ClusterPushSecret', 'ClusterPolicy', 'ClusterTriggerAuthentication', 'IPAddressPool'])

/** `IngressRoute` → `ingressroutes`, `NetworkPolicy` → `networkpolicies`, `Gateway` → `gateways` */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase()
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`
  return `${k}s`
}

/**
 * A CRD for a custom kind a running homelab has installed by other means (k3s, a Helm chart, a
 * `kubectl apply` of a project's CRD bundle). Its schema is permissive; where a model package
 * ships the kind, the CRD names it (MODEL_ANNOTATION) and the API server validates objects against
 * that real schema too. `schemaFrom` tells which.
 */
export function installedCrd(group: string, kind: string, versions: string[], hasModel: (pkg: string, version: string) => boolean): { crd: KObject; schemaFrom?: string } {
  const pkg = MODEL_PACKAGES[group]
  const schemaFrom = pkg && versions.every((v) => hasModel(pkg, v)) ? pkg : undefined
  const plural = pluralOf(kind)
  const crd: KObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, ...(schemaFrom ? { annotations: { [MODEL_ANNOTATION]: schemaFrom } } : {}) },
    spec: {
      group,
      names: namesOf(group, kind, plural),
      scope: CLUSTER_SCOPED.has(kind) ? 'Cluster' : 'Namespaced',
      versions: versions.map((name, i) => ({ name, served: true, storage: i === 0, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
    },
  }
  return { crd, schemaFrom }
}
