// What `status` reads from the cluster, each object once and every independent read at the same
// time: the ImageUpdaters and Applications of every namespace, the controller (Deployment, Pods, its
// log, its ConfigMap), the Secrets the ImageUpdaters and registries.conf name with the
// ExternalSecrets that own them, and the Warning Events of the controller's namespace. Nothing here
// writes; Secret values are kept in memory for the checks that need them and never printed.
import { parse as parseYamlText } from 'yaml'
import { IMAGE_UPDATER_API } from '../cluster/our-resources.ts'
import { statusOf, type KObj, type Kube } from '../cluster/kube.ts'

/** The label the chart puts on the controller's Deployment and Pods. */
export const CONTROLLER_LABEL = 'app.kubernetes.io/name=argocd-image-updater'
export const CONTROLLER_CONFIGMAP = 'argocd-image-updater-config'
/** enough lines for several cycles of a few ImageUpdaters at debug level */
export const LOG_LINES = 1000

export interface SecretRef {
  namespace: string
  name: string
  /** what names it: `ImageUpdater argocd/it-tools pullSecret`, `registries.conf ghcr.io` */
  usedBy: string[]
  /** a write-back Secret (username/password for git) rather than registry credentials */
  gitCreds: boolean
}

export interface ClusterView {
  context: string
  server: string
  /** undefined: the ImageUpdater kind is not served (Image Updater 1.x not installed) */
  imageUpdaters?: KObj[]
  applications: KObj[]
  controller?: { deployment: KObj; pods: KObj[]; log?: string; logError?: string; configMap?: KObj }
  secrets: Map<string, { ref: SecretRef; secret?: KObj; externalSecret?: KObj }>
  events: KObj[]
}

const key = (ns: string, name: string) => `${ns}/${name}`

/** `pullsecret:ns/name`, `secret:ns/name#field`, `git:secret:ns/name` (or without ns: `defaultNs`). */
export function secretRefOf(spec: string | undefined, defaultNs: string): { namespace: string; name: string } | undefined {
  if (!spec) return undefined
  const m = /^(?:pullsecret|secret|git:secret):(?:([^/#]+)\/)?([^/#]+)(?:#.*)?$/.exec(spec.trim())
  return m ? { namespace: m[1] ?? defaultNs, name: m[2] } : undefined
}

/** The registries.conf entries of the controller's ConfigMap (prefix, api_url, credentials). */
export function registriesOf(cm: KObj | undefined): { name?: string; prefix?: string; api_url?: string; credentials?: string; default?: boolean }[] {
  const text = cm?.data?.['registries.conf']
  if (!text) return []
  try {
    const parsed = parseYamlText(String(text))
    return Array.isArray(parsed?.registries) ? parsed.registries : []
  } catch {
    return []
  }
}

/** Every Secret an ImageUpdater or the controller's registries.conf names, with who names it. */
export function secretsNamed(imageUpdaters: KObj[], configMap: KObj | undefined, controllerNs: string | undefined): Map<string, SecretRef> {
  const out = new Map<string, SecretRef>()
  const add = (ref: { namespace: string; name: string } | undefined, usedBy: string, gitCreds: boolean) => {
    if (!ref) return
    const entry = out.get(key(ref.namespace, ref.name)) ?? { ...ref, usedBy: [], gitCreds }
    if (!entry.usedBy.includes(usedBy)) entry.usedBy.push(usedBy)
    entry.gitCreds ||= gitCreds
    out.set(key(ref.namespace, ref.name), entry)
  }
  for (const iu of imageUpdaters) {
    const ns = iu.metadata.namespace ?? ''
    const label = `ImageUpdater ${ns}/${iu.metadata.name}`
    const settings = [iu.spec?.commonUpdateSettings]
    const wbs = [iu.spec?.writeBackConfig]
    for (const ref of iu.spec?.applicationRefs ?? []) {
      settings.push(ref.commonUpdateSettings)
      wbs.push(ref.writeBackConfig)
      for (const img of ref.images ?? []) settings.push(img.commonUpdateSettings)
    }
    for (const s of settings) add(secretRefOf(s?.pullSecret, ns), `${label} pullSecret`, false)
    for (const wb of wbs) if (/^git:secret:/.test(wb?.method ?? '')) add(secretRefOf(wb.method, ns), `${label} write-back`, true)
  }
  for (const r of registriesOf(configMap)) add(secretRefOf(r.credentials, controllerNs ?? ''), `registries.conf ${r.prefix ?? r.name ?? ''}`.trim(), false)
  return out
}

/** The ExternalSecret that makes a Secret: the one whose target (or own name) is the Secret's name. */
function externalSecretFor(externalSecrets: KObj[], ref: { namespace: string; name: string }): KObj | undefined {
  return externalSecrets.find((es) => es.metadata.namespace === ref.namespace && (es.spec?.target?.name ?? es.metadata.name) === ref.name)
}

export async function readCluster(k: Kube): Promise<ClusterView> {
  // the first two reads also tell whether the cluster answers at all: their errors end the status
  const [imageUpdaters, applications, deployments] = await Promise.all([
    k.list(IMAGE_UPDATER_API, 'ImageUpdater').catch((err) => {
      if (statusOf(err) === 404 || /not (?:found|served)|no matches for kind|could not find the requested resource/i.test(String((err as Error)?.message))) return undefined
      throw err
    }),
    k.list('argoproj.io/v1alpha1', 'Application'),
    k.list('apps/v1', 'Deployment', undefined, CONTROLLER_LABEL),
  ])
  // the controller: the chart's Deployment (its `-controller`, or the only one with the label)
  const deployment = deployments.find((d) => d.metadata.name.endsWith('-controller')) ?? deployments[0]
  const ns = deployment?.metadata.namespace
  const [pods, configMap, events] = await Promise.all([
    ns ? k.list('v1', 'Pod', ns, CONTROLLER_LABEL) : Promise.resolve([]),
    ns ? k.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: CONTROLLER_CONFIGMAP }) : Promise.resolve(undefined),
    ns ? k.list('v1', 'Event', ns).catch(() => [] as KObj[]) : Promise.resolve([] as KObj[]),
  ])
  const running = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)
  const named = secretsNamed(imageUpdaters ?? [], configMap, ns)
  const [log, secrets] = await Promise.all([
    running
      ? k.logs(ns!, running.metadata.name, running.spec?.containers?.[0]?.name, LOG_LINES).then(
          (text) => ({ text, error: undefined }),
          (err) => ({ text: undefined, error: (err as Error).message }),
        )
      : Promise.resolve({ text: undefined, error: undefined }),
    Promise.all([
      Promise.all([...named.values()].map(async (ref) => [ref, await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.name })] as const)),
      // ESO may not be installed: then no Secret has an ExternalSecret
      Promise.all([...new Set([...named.values()].map((r) => r.namespace))].map((n) => k.list('external-secrets.io/v1', 'ExternalSecret', n).catch(() => [] as KObj[]))).then((l) => l.flat()),
    ]).then(([read, externalSecrets]) => read.map(([ref, secret]) => [key(ref.namespace, ref.name), { ref, secret, externalSecret: externalSecretFor(externalSecrets, ref) }] as const)),
  ])
  return {
    context: k.contextName,
    server: k.server,
    imageUpdaters,
    applications,
    controller: deployment ? { deployment, pods, log: log.text, logError: log.error, configMap } : undefined,
    secrets: new Map(secrets),
    events: events.filter((e) => e.type === 'Warning'),
  }
}
