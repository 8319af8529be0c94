// The resource types the sandbox serves: every built-in kind of Kubernetes 1.33 that the model
// packages ship (found from their data, not listed here), plus one type per served version of every
// CustomResourceDefinition in the store (a custom kind exists only while its CRD does).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Schema } from './schema.ts'

export interface ResourceType {
  group: string // '' for the core group
  version: string
  kind: string
  plural: string
  singular: string
  shortNames: string[]
  namespaced: boolean
  /** Whether `/status` is a separate subresource (then writes to the main resource keep the old status). */
  statusSubresource: boolean
  /** The verbs discovery lists (what kubectl checks before `get`, `delete`, `apply`, `-w`). */
  verbs: string[]
  /** Discovery categories (`all` makes `kubectl get all` list the kind). */
  categories: string[]
  /**
   * The `/scale` subresource (an autoscaling/v1 Scale, what `kubectl scale` reads and writes): where
   * the object keeps its desired and current replicas and, for custom kinds, its selector string.
   * Built-in kinds read the selector from `spec.selector`.
   */
  scale?: ScaleSubresource
  /** Only for custom kinds: the openAPIV3Schema of this version, used to validate and prune. */
  schema?: Schema
  /**
   * Only for custom kinds: the `@kubernetes-models/*` package whose model of this kind holds the
   * upstream CRD schema (named by the CRD's MODEL_ANNOTATION); objects are validated against it too.
   */
  modelPackage?: string
  custom: boolean
}

export interface ScaleSubresource {
  specReplicasPath: string
  statusReplicasPath: string
  labelSelectorPath?: string
}

/** On a CRD the sandbox installed: the package whose models carry this CRD's real schema. */
export const MODEL_ANNOTATION = 'sandbox.k8s.local/schema-from'

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

/**
 * What `kubectl api-resources` on k3s v1.33 shows that the OpenAPI data does not hold: short names,
 * categories (`all` makes `kubectl get all` list the kind) and verbs where they differ from a
 * listable kind's, by `group/Kind`.
 */
const ALL = ['all']
const DISCOVERY_EXTRAS: Record<string, { shortNames?: string[]; categories?: string[]; verbs?: string[] }> = {
  '/Namespace': { shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  '/Pod': { shortNames: ['po'], categories: ALL },
  '/ConfigMap': { shortNames: ['cm'] },
  '/Service': { shortNames: ['svc'], categories: ALL },
  '/ServiceAccount': { shortNames: ['sa'] },
  '/PersistentVolume': { shortNames: ['pv'] },
  '/PersistentVolumeClaim': { shortNames: ['pvc'] },
  '/Endpoints': { shortNames: ['ep'] },
  '/Event': { shortNames: ['ev'] },
  '/ReplicationController': { shortNames: ['rc'], categories: ALL },
  '/ComponentStatus': { shortNames: ['cs'], verbs: ['get', 'list'] },
  '/LimitRange': { shortNames: ['limits'] },
  '/Node': { shortNames: ['no'] },
  '/ResourceQuota': { shortNames: ['quota'] },
  'apps/Deployment': { shortNames: ['deploy'], categories: ALL },
  'apps/StatefulSet': { shortNames: ['sts'], categories: ALL },
  'apps/DaemonSet': { shortNames: ['ds'], categories: ALL },
  'apps/ReplicaSet': { shortNames: ['rs'], categories: ALL },
  'batch/Job': { categories: ALL },
  'batch/CronJob': { shortNames: ['cj'], categories: ALL },
  'autoscaling/HorizontalPodAutoscaler': { shortNames: ['hpa'], categories: ALL },
  'networking.k8s.io/Ingress': { shortNames: ['ing'] },
  'networking.k8s.io/NetworkPolicy': { shortNames: ['netpol'] },
  'storage.k8s.io/StorageClass': { shortNames: ['sc'] },
  'policy/PodDisruptionBudget': { shortNames: ['pdb'] },
  'scheduling.k8s.io/PriorityClass': { shortNames: ['pc'] },
  'certificates.k8s.io/CertificateSigningRequest': { shortNames: ['csr'] },
  'events.k8s.io/Event': { shortNames: ['ev'] },
  'apiextensions.k8s.io/CustomResourceDefinition': { shortNames: ['crd', 'crds'] },
}

/** The resource name the API machinery guesses for a kind (apimachinery's UnsafeGuessKindToResource). */
export function guessPlural(kind: string): string {
  const singular = kind.toLowerCase()
  if (singular === 'endpoints') return singular
  if (singular.endsWith('s')) return `${singular}es`
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`
  return `${singular}s`
}

interface ServedPaths {
  /** plural -> namespaced */
  collections: Map<string, boolean>
  /** `plural/subresource` */
  subresources: Set<string>
}

const load = createRequire(import.meta.url)

/**
 * The resource paths of Kubernetes' OpenAPI spec for its GA group-versions, by group-version: the
 * generated API clients of @kubernetes/client-node keep every path of the spec they were made from
 * (read as text: loading the client costs a second). A collection under `namespaces/{namespace}/`
 * is namespaced; `{name}/status` and `{name}/scale` are the subresources.
 */
function openApiPaths(): Map<string, ServedPaths> {
  const dir = join(dirname(load.resolve('@kubernetes/client-node/package.json')), 'dist', 'gen', 'apis')
  const byGroupVersion = new Map<string, ServedPaths>()
  const pathRe = /^\/(?:api\/(v\d+)|apis\/([a-z0-9.-]+)\/(v\d+))\/(namespaces\/\{namespace\}\/)?([a-z0-9]+)(?:\/\{name\}(?:\/([a-z]+))?)?$/
  // Scanned as bytes for the generated `localVarPath = '...'` lines (decoding 5 MB of code costs more).
  const needle = Buffer.from("localVarPath = '")
  for (const file of readdirSync(dir).filter((f) => /V\d+Api\.js$/.test(f))) {
    const code = readFileSync(join(dir, file))
    for (let at = code.indexOf(needle); at >= 0; at = code.indexOf(needle, at + 1)) {
      const start = at + needle.length
      const m = pathRe.exec(code.toString('latin1', start, code.indexOf(0x27, start)))
      if (!m || m[5] === 'watch') continue
      const [, coreVersion, group = '', groupVersion, inNamespace, plural, subresource] = m
      const key = joinApiVersion(group, (coreVersion ?? groupVersion)!)
      const served = byGroupVersion.get(key) ?? { collections: new Map(), subresources: new Set() }
      byGroupVersion.set(key, served)
      if (inNamespace || !served.collections.has(plural!)) served.collections.set(plural!, Boolean(inNamespace) || (served.collections.get(plural!) ?? false))
      if (subresource) served.subresources.add(`${plural}/${subresource}`)
    }
  }
  return byGroupVersion
}

/** What the packages say of one built-in kind (the rest of its ResourceType comes from DISCOVERY_EXTRAS). */
interface BuiltinFacts { group: string; version: string; kind: string; plural: string; namespaced: boolean; status: boolean; scale: boolean; listable: boolean }

/**
 * Every built-in kind of the API groups `kubernetes-models` ships that Kubernetes 1.33 serves by
 * default: a model class (group, version, kind) whose guessed resource name the OpenAPI paths serve
 * in a GA version (betas are off by default since 1.24, or gone). A kind served in several versions
 * (autoscaling v1 and v2) is served in the highest only: the sandbox does not convert between
 * versions. Listable kinds (a `<Kind>List` model) take every verb, the review kinds `create` only.
 */
function findBuiltinFacts(): BuiltinFacts[] {
  const modelsDir = dirname(load.resolve('kubernetes-models/package.json'))
  const paths = openApiPaths()
  const byKind = new Map<string, BuiltinFacts>()
  for (const groupDir of readdirSync(modelsDir, { withFileTypes: true })) {
    if (!groupDir.isDirectory() || groupDir.name.startsWith('_')) continue
    const group = /^v\d+$/.test(groupDir.name) ? '' : groupDir.name
    const versions = group ? readdirSync(join(modelsDir, group)).filter((v) => /^v\d+$/.test(v)) : [groupDir.name]
    for (const version of versions) {
      const served = paths.get(joinApiVersion(group, version))
      if (!served) continue
      const files = new Set(readdirSync(join(modelsDir, group, version)).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)))
      for (const kind of files) {
        const plural = guessPlural(kind)
        const namespaced = served.collections.get(plural)
        if (namespaced === undefined || kind === 'index') continue
        const known = byKind.get(`${group}/${kind}`)
        if (known && Number(known.version.slice(1)) > Number(version.slice(1))) continue
        byKind.set(`${group}/${kind}`, { group, version, kind, plural, namespaced, status: served.subresources.has(`${plural}/status`), scale: served.subresources.has(`${plural}/scale`), listable: files.has(`${kind}List`) })
      }
    }
  }
  return [...byKind.values()]
}

/**
 * The facts, kept in the temp folder per version of both packages (and of the code that finds them):
 * reading 5 MB of generated client code costs 50-200 ms, which every process starting a sandbox
 * would pay again.
 */
function builtinFacts(): BuiltinFacts[] {
  const version = (pkg: string) => (load(`${pkg}/package.json`) as { version: string }).version
  // (the hash of the finder's own code: a change to how kinds are found is not read from an old cache)
  const finder = createHash('sha256').update(findBuiltinFacts.toString() + openApiPaths.toString() + guessPlural.toString()).digest('hex').slice(0, 8)
  const cache = join(tmpdir(), `sandbox-builtin-kinds-${version('kubernetes-models')}-${version('@kubernetes/client-node')}-${finder}.json`)
  try {
    return JSON.parse(readFileSync(cache, 'utf8'))
  } catch {
    const facts = findBuiltinFacts()
    const temp = `${cache}.${process.pid}`
    try {
      writeFileSync(temp, JSON.stringify(facts))
      renameSync(temp, cache)
    } catch {
      // a read-only temp folder: found again next time
    }
    return facts
  }
}

function toResourceType(f: BuiltinFacts): ResourceType {
  const extras = DISCOVERY_EXTRAS[`${f.group}/${f.kind}`] ?? {}
  return {
    group: f.group,
    version: f.version,
    kind: f.kind,
    plural: f.plural,
    singular: f.kind.toLowerCase(),
    shortNames: extras.shortNames ?? [],
    namespaced: f.namespaced,
    statusSubresource: f.status,
    verbs: extras.verbs ?? (f.listable ? ALL_VERBS : ['create']),
    categories: extras.categories ?? [],
    // built-in workloads keep replicas in spec.replicas and status.replicas, their selector in spec.selector
    ...(f.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } } : {}),
    custom: false,
  }
}

/**
 * The built-in kinds of a Kubernetes 1.33 API server, with the group, version, scope, short names,
 * verbs, categories and subresources `kubectl api-resources` shows on k3s v1.33 (from the model
 * packages and the OpenAPI paths, found the first time a type is looked up). Namespaces first: the
 * store finds the Namespace type there.
 */
export function builtinTypes(): readonly ResourceType[] {
  return (builtins ??= builtinFacts().map(toResourceType).sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace')))
}
let builtins: readonly ResourceType[] | undefined

export const CRD_API_VERSION = 'apiextensions.k8s.io/v1'

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) }
}

export function joinApiVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version
}

/** The resource types a CRD object serves (one per served version). */
export function typesOfCrd(crd: any): ResourceType[] {
  const spec = crd?.spec ?? {}
  const names = spec.names ?? {}
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : []
  return versions
    .filter((v) => v && v.served !== false && typeof v.name === 'string')
    .map((v) => ({
      group: String(spec.group ?? ''),
      version: v.name,
      kind: String(names.kind ?? ''),
      plural: String(names.plural ?? ''),
      singular: String(names.singular ?? String(names.kind ?? '').toLowerCase()),
      shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
      namespaced: spec.scope !== 'Cluster',
      statusSubresource: Boolean(v.subresources?.status),
      ...(typeof v.subresources?.scale?.specReplicasPath === 'string' && typeof v.subresources.scale.statusReplicasPath === 'string'
        ? {
            scale: {
              specReplicasPath: v.subresources.scale.specReplicasPath,
              statusReplicasPath: v.subresources.scale.statusReplicasPath,
              ...(typeof v.subresources.scale.labelSelectorPath === 'string' ? { labelSelectorPath: v.subresources.scale.labelSelectorPath } : {}),
            },
          }
        : {}),
      verbs: ALL_VERBS,
      categories: Array.isArray(names.categories) ? names.categories.map(String) : [],
      schema: v.schema?.openAPIV3Schema,
      ...(typeof crd?.metadata?.annotations?.[MODEL_ANNOTATION] === 'string' ? { modelPackage: crd.metadata.annotations[MODEL_ANNOTATION] } : {}),
      custom: true,
    }))
}

/** Problems that make a CRD unacceptable, as Status causes (empty when it is fine). */
export function crdProblems(crd: any): { field: string; message: string; reason: string }[] {
  const problems: { field: string; message: string; reason: string }[] = []
  const spec = crd?.spec
  const need = (ok: unknown, field: string) => {
    if (!ok) problems.push({ field, message: 'Required value', reason: 'FieldValueRequired' })
  }
  need(spec?.group, 'spec.group')
  need(spec?.names?.plural, 'spec.names.plural')
  need(spec?.names?.kind, 'spec.names.kind')
  need(spec?.scope, 'spec.scope')
  need(Array.isArray(spec?.versions) && spec.versions.length > 0, 'spec.versions')
  if (spec?.scope && spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    problems.push({ field: 'spec.scope', message: `Unsupported value: "${spec.scope}": supported values: "Cluster", "Namespaced"`, reason: 'FieldValueNotSupported' })
  if (spec?.group && spec?.names?.plural && crd.metadata?.name !== `${spec.names.plural}.${spec.group}`)
    problems.push({ field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group`, reason: 'FieldValueInvalid' })
  for (const [i, v] of (Array.isArray(spec?.versions) ? spec.versions : []).entries()) {
    if (!v?.schema?.openAPIV3Schema) problems.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required', reason: 'FieldValueRequired' })
  }
  return problems
}
