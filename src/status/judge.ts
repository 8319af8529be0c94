// The verdict of `status`, from what was read (src/status/read.ts) and what the repo, the registry
// and GitHub said: one row per app (every Application an ImageUpdater selects, every ImageUpdater
// that selects none, every app the setup onboarded), each problem with its cause and its fix. Pure:
// the clock is an input, so tests can look at a sandbox "ten minutes later".
import { lineTime, parseCycle, PROBLEM_LINES } from '../cluster/controller-log.ts'
import type { KObj } from '../cluster/kube.ts'
import { readImageRef, sameImage } from '../render/image.ts'
import { CONTROLLER_LABEL, type ClusterView } from './read.ts'
import { imageUpdaterSchemaProblems } from './imageupdater-schema.ts'

export interface Finding {
  /** what the problem is about: an app, `controller`, `Secret argocd/git-creds`, `GitHub token` */
  subject: string
  problem: string
  fix: string
}

export interface ImageStatus {
  alias?: string
  /** the image as the ImageUpdater names it, without constraint */
  image: string
  strategy?: string
  allowTags?: string
  /** the tag (or digest) the Application's source in git sets, and the file that sets it */
  git?: string
  gitFile?: string
  /** the tag the Application runs (status.summary.images) */
  running?: string
  /** the newest tag the update policy allows, where the registry could be read; else why not */
  newest?: string
  newestNote?: string
}

export interface AppStatus {
  app: string
  /** `argocd/it-tools`: the Application, when there is one */
  application?: string
  cluster?: string
  sync?: string
  health?: string
  /** `argocd/it-tools`: the ImageUpdater that selects it */
  imageUpdater?: string
  matches: boolean
  images: ImageStatus[]
  lastCheck?: string
  lastUpdate?: string
  recentUpdates: string[]
  problems: Finding[]
  verdict: string
}

export interface ControllerStatus {
  deployment?: string
  version?: string
  replicas?: string
  interval: string
}

export interface StatusReport {
  context: string
  server: string
  controller: ControllerStatus
  apps: AppStatus[]
  /** problems not of one app: the controller, a Secret, the GitHub token */
  problems: Finding[]
  /** checks skipped, and why (--offline, an unreadable registry) */
  notes: string[]
  exitCode: 0 | 1
}

/** What was learnt outside the cluster, keyed by `app image` (see imageKey). */
export interface OutsideFacts {
  /** from the Application's source in the GitOps repo */
  git: Map<string, { tag?: string; file: string }>
  /** the ImageUpdaters as the GitOps repo holds them (`namespace/name`), with their file */
  gitImageUpdaters?: Map<string, { obj: KObj; file: string; paused?: boolean }>
  /** from the registry: the newest tag the policy allows, when it was pushed, or why unknown */
  registry: Map<string, { newest?: string; createdAt?: number; note?: string; refused?: string }>
  /** GitHub's answer about the write-back token; undefined: not asked */
  github?: { skipped?: string; status?: number; scopes?: string[]; expiresAt?: string; secret: string; privateRepo?: boolean; scopeProblem?: string }
  /** apps the setup onboarded (saved state) */
  onboarded: string[]
  /** what could not be read as wished, said under "not checked" */
  notes?: string[]
}

export const imageKey = (app: string, image: string) => `${app} ${image}`

const globMatch = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name)

/** Go durations (`2m`, `1m30s`, `1h`), in ms; undefined when it is none. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let rest = text.trim()
  if (rest === '0') return 0
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest)
    if (!m) return undefined
    total += Number(m[1]) * units[m[2]]
    rest = rest.slice(m[0].length)
  }
  return total
}

const DEFAULT_INTERVAL = '2m'

/** The check interval the controller runs with: `--interval` in its args, else IMAGE_UPDATER_INTERVAL, else 2m. */
export function controllerInterval(deployment: KObj | undefined, configMap: KObj | undefined): string {
  const c = deployment?.spec?.template?.spec?.containers?.[0]
  const args: string[] = [...(c?.command ?? []), ...(c?.args ?? [])].map(String)
  for (let i = 0; i < args.length; i++) {
    const m = /^--interval(?:=(.+))?$/.exec(args[i])
    if (m) return m[1] ?? args[i + 1] ?? DEFAULT_INTERVAL
  }
  const env = (c?.env ?? []).find((e: { name: string }) => e.name === 'IMAGE_UPDATER_INTERVAL')?.value
  return env ?? configMap?.data?.interval ?? DEFAULT_INTERVAL
}

/** The app version the controller runs (`1.2.2`), from its image tag, else the chart's label. */
export function controllerVersion(view: ClusterView): string | undefined {
  const d = view.controller?.deployment
  const image = String(d?.spec?.template?.spec?.containers?.[0]?.image ?? '')
  const tag = /:v?(\d+\.\d+\.\d+)(?:@|$)/.exec(image)?.[1]
  if (tag) return tag
  const label = d?.metadata.labels?.['app.kubernetes.io/version']
  if (label) return label.replace(/^v/, '')
  // else the chart the Application installs: chart 1.x.y = app 1.x
  const chart = view.applications.flatMap((a) => [a.spec?.source, ...(a.spec?.sources ?? [])]).find((s) => s?.chart === 'argocd-image-updater')
  const m = /^(\d+)\.(\d+)\./.exec(String(chart?.targetRevision ?? ''))
  return m ? `${m[1]}.${m[2]}.0` : undefined
}

const minorOf = (version: string | undefined) => {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '')
  return m ? Number(m[1]) * 100 + Number(m[2]) : undefined
}

interface ManagedImage {
  alias?: string
  image: string
  strategy?: string
  allowTags?: string
  constraint?: string
  pullSecret?: string
}

const ANN = 'argocd-image-updater.argoproj.io/'

/** The images an ImageUpdater's ref manages for an app (its images[], or the app's annotations with useAnnotations). */
export function managedImages(iu: KObj, ref: any, app: KObj | undefined): ManagedImage[] {
  if (ref.useAnnotations) {
    const ann = app?.metadata.annotations ?? {}
    return String(ann[`${ANN}image-list`] ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)
      .map((entry) => {
        const [alias, ref] = entry.includes('=') ? entry.split('=', 2) : [undefined, entry]
        const parsed = splitConstraint(ref)
        const a = alias ?? ''
        return { alias, ...parsed, strategy: ann[`${ANN}${a}.update-strategy`], allowTags: ann[`${ANN}${a}.allow-tags`], pullSecret: ann[`${ANN}${a}.pull-secret`] }
      })
  }
  const common = { ...(iu.spec?.commonUpdateSettings ?? {}), ...(ref.commonUpdateSettings ?? {}) }
  return (ref.images ?? []).map((img: any) => {
    const s = { ...common, ...(img.commonUpdateSettings ?? {}) }
    return { alias: img.alias, ...splitConstraint(String(img.imageName ?? '')), strategy: s.updateStrategy, allowTags: s.allowTags, pullSecret: s.pullSecret }
  })
}

/** `ghcr.io/o/n:1.x` → image and constraint (the part after the last colon past the last slash). */
export function splitConstraint(text: string): { image: string; constraint?: string } {
  const at = text.lastIndexOf(':')
  return at > text.lastIndexOf('/') ? { image: text.slice(0, at), constraint: text.slice(at + 1) } : { image: text }
}

function matchesLabels(app: KObj, selectors: any): boolean {
  if (!selectors) return true
  const labels = app.metadata.labels ?? {}
  for (const [k, v] of Object.entries<string>(selectors.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of selectors.matchExpressions ?? []) {
    const has = e.key in labels
    const inValues = (e.values ?? []).includes(labels[e.key])
    if ((e.operator === 'In' && !inValues) || (e.operator === 'NotIn' && inValues) || (e.operator === 'Exists' && !has) || (e.operator === 'DoesNotExist' && has)) return false
  }
  return true
}

/** The Application's destination as Argo CD names it: its cluster name, `in-cluster` for the local API. */
export function clusterName(app: KObj): string | undefined {
  const d = app.spec?.destination ?? {}
  return d.name ?? (d.server === 'https://kubernetes.default.svc' ? 'in-cluster' : d.server)
}

/** The running tag (or digest) of `image` in the Application's status.summary.images. */
export function runningTag(app: KObj | undefined, image: string): string | undefined {
  const hit = ((app?.status?.summary?.images ?? []) as string[]).find((i) => sameImage(i, image))
  if (!hit) return undefined
  const ref = readImageRef(hit)
  return ref?.tag ?? ref?.digest ?? 'latest'
}

/** The lines of the last finished update cycle of one ImageUpdater (controller-log.ts's reading). */
export function lastCycleLines(text: string, crName: string): { lines: string[]; at?: number } | undefined {
  const lines = text.split('\n').filter((l) => {
    const cr = /\bimageUpdater_name=("?)([^"\s]+)\1/.exec(l)?.[2]
    return !cr || cr === crName
  })
  let segment: string[] = []
  let sawStart = false
  let last: { lines: string[]; at?: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (/Starting image update cycle/.test(l)) sawStart = true
    const result = parseCycle(l, i)
    if (!result) {
      segment.push(l)
      continue
    }
    if (sawStart) last = { lines: [...segment, l], at: result.at }
    segment = []
    sawStart = false
  }
  return last
}

const REGISTRY_PATTERNS = ['unauthorized', 'Could not get tags from registry', 'could not get tags', 'Could not fetch credentials', 'Could not set registry endpoint credentials']
const WRITE_BACK_PATTERNS = ['Could not update application spec', 'could not get creds for repo', 'Could not create write-back config']

/** Log problems of a cycle, each named by what it means, with the line that says it (trimmed). */
export function cycleProblems(lines: string[]): { kind: 'registry' | 'write-back' | 'other'; pattern: string; line: string; fix: string }[] {
  const out: { kind: 'registry' | 'write-back' | 'other'; pattern: string; line: string; fix: string }[] = []
  for (const l of lines) {
    const rule = PROBLEM_LINES.find((r) => l.toLowerCase().includes(r.pattern.toLowerCase()))
    if (!rule) continue
    const kind = REGISTRY_PATTERNS.some((p) => rule.pattern === p) ? 'registry' : WRITE_BACK_PATTERNS.some((p) => rule.pattern === p) ? 'write-back' : 'other'
    if (out.some((o) => o.kind === kind && (kind !== 'other' || o.pattern === rule.pattern))) continue
    const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1] ?? l
    out.push({ kind, pattern: rule.pattern, line: msg.length > 200 ? `${msg.slice(0, 200)}…` : msg, fix: rule.fix })
  }
  return out
}

const iso = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'))

const condition = (o: KObj | undefined, type: string) => (o?.status?.conditions ?? []).find((c: { type: string }) => c.type === type) as { status?: string; reason?: string; message?: string; lastTransitionTime?: string } | undefined

/** Image Updater's Events on an object (Warning ones), newest last. */
function warningsOn(view: ClusterView, kind: string, namespace: string | undefined, name: string): KObj[] {
  return view.events.filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === name && (!namespace || e.involvedObject?.namespace === namespace))
}

export function judge(view: ClusterView, facts: OutsideFacts, opts: { now: number; offline?: boolean }): StatusReport {
  const problems: Finding[] = []
  const notes: string[] = [...(facts.notes ?? [])]
  const d = view.controller?.deployment
  const version = controllerVersion(view)
  const minor = minorOf(version)
  const intervalText = controllerInterval(d, view.controller?.configMap)
  const intervalMs = parseDuration(intervalText) ?? 120_000
  const ctrlName = d ? `${d.metadata.namespace}/${d.metadata.name}` : undefined
  const ready = Number(d?.status?.readyReplicas ?? 0)
  const wanted = d?.spec?.replicas === undefined ? 1 : Number(d.spec.replicas)
  const controller: ControllerStatus = { deployment: ctrlName, version, replicas: d ? `${ready}/${wanted} ready` : undefined, interval: intervalText }

  // the controller: installed, not scaled to 0, a ready pod
  let controllerWorks = true
  if (!d) {
    controllerWorks = false
    if ((view.imageUpdaters?.length ?? 0) > 0 || facts.onboarded.length)
      problems.push({ subject: 'controller', problem: `no Image Updater controller in the cluster (no Deployment labelled ${CONTROLLER_LABEL}): nothing checks for new images`, fix: 'install it: npx tsx scripts/run.ts (task 5 adds the argocd-image-updater Application; task 7 deploys it)' })
  } else if (wanted === 0) {
    controllerWorks = false
    problems.push({ subject: 'controller', problem: `the Image Updater controller ${ctrlName} is scaled to 0: nothing checks for new images`, fix: `kubectl -n ${d.metadata.namespace} scale deployment ${d.metadata.name} --replicas=1 (if the chart's replicaCount is 0 in the values file, set it to 1 there: Argo CD puts back what git says)` })
  } else if (ready < 1) {
    controllerWorks = false
    const pod = view.controller!.pods[0]
    const waiting = pod?.status?.containerStatuses?.find((c: any) => c.state?.waiting)?.state?.waiting
    const why = pod ? `pod ${pod.metadata.name} is ${waiting?.reason ?? pod.status?.phase ?? 'not ready'}${waiting?.message ? `: ${waiting.message}` : ''}` : 'no pod'
    problems.push({ subject: 'controller', problem: `the Image Updater controller ${ctrlName} is not ready (${ready}/${wanted}; ${why}): nothing checks for new images`, fix: `kubectl -n ${d.metadata.namespace} describe deployment ${d.metadata.name}; kubectl -n ${d.metadata.namespace} logs deploy/${d.metadata.name}` })
  }
  if (view.controller?.logError) notes.push(`controller log not read: ${view.controller.logError}`)
  if (view.imageUpdaters === undefined && facts.onboarded.length)
    problems.push({ subject: 'ImageUpdater', problem: 'the cluster does not serve the ImageUpdater kind (its CRD is missing): Image Updater 1.x is not installed', fix: 'install the argocd-image-updater chart 1.x: npx tsx scripts/run.ts' })

  // Secrets the ImageUpdaters and registries.conf read: present, made by ESO, Ready, refreshed
  for (const { ref, secret, externalSecret: es } of view.secrets.values()) {
    const what = `${ref.gitCreds ? 'write-back' : 'pull'} Secret ${ref.namespace}/${ref.name}`
    const subject = `Secret ${ref.namespace}/${ref.name}`
    const esName = es ? `ExternalSecret ${ref.namespace}/${es.metadata.name}` : undefined
    const describe = es ? `kubectl -n ${ref.namespace} describe externalsecret ${es.metadata.name}` : `kubectl -n ${ref.namespace} get externalsecrets`
    if (!secret) {
      problems.push({ subject, problem: `the ${what} is missing (named by ${ref.usedBy.join(', ')})${es ? `; ${esName} has not made it` : ''}`, fix: `${describe}; the setup's ExternalSecrets make it from Vault (rerun: npx tsx scripts/run.ts --from 1)` })
      continue
    }
    if (!es) continue
    const readyCond = condition(es, 'Ready')
    if (readyCond?.status !== 'True') {
      problems.push({ subject, problem: `${esName} is not Ready (${readyCond?.reason ?? 'no condition'}${readyCond?.message ? `: ${readyCond.message}` : ''}): the ${what} is not refreshed from Vault`, fix: `${describe} (its Events name the cause); check that Vault holds username and pat at the path it reads` })
      continue
    }
    const every = parseDuration(es.spec?.refreshInterval ?? '1h') ?? 3_600_000
    const refreshed = Date.parse(es.status?.refreshTime ?? '')
    // ESO refreshes every refreshInterval; two missed in a row is not a slow controller
    if (every > 0 && !Number.isNaN(refreshed) && opts.now - refreshed > 2 * every + 60_000)
      problems.push({ subject, problem: `${esName} last refreshed the ${what} at ${iso(refreshed)}, more than twice its refreshInterval (${es.spec?.refreshInterval ?? '1h'}) ago: ESO is not refreshing it`, fix: `check that External Secrets Operator runs (kubectl -n external-secrets get pods) and ${describe}` })
  }

  // the GitHub token the write-back uses (from the cluster's git-creds Secret; never printed)
  const gh = facts.github
  if (gh?.skipped) notes.push(`GitHub token (${gh.secret}): ${gh.skipped}`)
  else if (gh) {
    if (gh.status === 401) problems.push({ subject: 'GitHub token', problem: `GitHub refuses the token in ${gh.secret} (401 Bad credentials): it expired or was revoked, so write-back and ghcr.io pulls fail`, fix: 'create a classic token with read:packages and repo and store it: npx tsx scripts/run.ts --from 1' })
    else if (gh.expiresAt) {
      const left = Date.parse(gh.expiresAt) - opts.now
      const days = Math.floor(left / 86_400_000)
      if (left < 14 * 86_400_000)
        problems.push({ subject: 'GitHub token', problem: left <= 0 ? `the token in ${gh.secret} expired at ${gh.expiresAt}` : `the token in ${gh.secret} expires at ${gh.expiresAt} (in ${days} day${days === 1 ? '' : 's'}): then write-back and ghcr.io pulls stop`, fix: 'create a new classic token with read:packages and repo (https://github.com/settings/tokens) and store it: npx tsx scripts/run.ts --from 1' })
      else notes.push(`GitHub token (${gh.secret}): expires ${gh.expiresAt}`)
    }
    if (gh.scopeProblem) problems.push({ subject: 'GitHub token', problem: `the token in ${gh.secret}: ${gh.scopeProblem}`, fix: 'edit the token at https://github.com/settings/tokens to add the missing scopes, or store a new one: npx tsx scripts/run.ts --from 1' })
  }

  // one row per Application each ImageUpdater selects; one for an ImageUpdater that selects none
  const rows: AppStatus[] = []
  const logText = view.controller?.log
  for (const iu of view.imageUpdaters ?? []) {
    const ns = iu.metadata.namespace ?? ''
    const iuName = `${ns}/${iu.metadata.name}`
    const iuProblems: Finding[] = []
    // as it runs, and as git holds it: the API server drops a field its CRD does not know on the next
    // sync (a typo such as allowTag: then no filter at all), and refuses one that misses a required field
    const inGit = facts.gitImageUpdaters?.get(iuName)
    for (const [what, obj] of [[`ImageUpdater ${iuName}`, iu], [`ImageUpdater ${iuName} in git (${inGit?.file})`, inGit?.obj]] as const) {
      const schema = obj ? imageUpdaterSchemaProblems(obj, version) : []
      if (schema.length)
        iuProblems.push({ subject: `ImageUpdater ${iuName}`, problem: `${what} is not valid for Image Updater ${version}, the release that runs (its CRD): ${schema.join('; ')}`, fix: `fix the ImageUpdater${inGit ? ` in ${inGit.file}` : ''} for ${version} (npx tsx scripts/run.ts --only 4 repairs the setup's own), or install the chart it was written for (CHART_VERSION)` })
    }
    // since 1.2 the controller watches only its own namespace
    if (d && minor !== undefined && minor >= 102 && d.metadata.namespace !== ns && !/\*|,/.test(String(view.controller?.configMap?.data?.['watch.namespaces'] ?? '')))
      iuProblems.push({ subject: `ImageUpdater ${iuName}`, problem: `ImageUpdater ${iuName} is in namespace ${ns}, but the controller (${ctrlName}) watches only its own namespace`, fix: `move the ImageUpdater to ${d.metadata.namespace}, beside the Applications it selects` })
    const refs: any[] = iu.spec?.applicationRefs ?? []
    const selected: { app: KObj; ref: any }[] = []
    for (const ref of refs)
      for (const app of view.applications)
        if (app.metadata.namespace === ns && globMatch(String(ref.namePattern ?? ''), app.metadata.name) && matchesLabels(app, ref.labelSelectors) && !selected.some((s) => s.app === app)) selected.push({ app, ref })

    // last check, last update, recent updates: the status on 1.2+, the log's cycles before
    const cycle = logText ? lastCycleLines(logText, iu.metadata.name) : undefined
    const fromStatus = minor === undefined || minor >= 102
    const lastCheck = fromStatus && iu.status?.lastCheckedAt ? Date.parse(iu.status.lastCheckedAt) : cycle?.at
    const logProblems = cycle ? cycleProblems(cycle.lines) : []
    const errorCond = condition(iu, 'Error')

    if (!selected.length) {
      const patterns = refs.map((r) => r.namePattern).filter(Boolean)
      const appName = patterns.length === 1 && !/[*?]/.test(patterns[0]) ? patterns[0] : iu.metadata.name
      const elsewhere = view.applications.filter((a) => patterns.some((p: string) => globMatch(p, a.metadata.name)))
      rows.push({
        app: appName,
        imageUpdater: iuName,
        matches: false,
        images: refs.flatMap((r) => managedImages(iu, r, undefined)).map((m) => ({ alias: m.alias, image: m.image, strategy: m.strategy, allowTags: m.allowTags })),
        lastCheck: iso(lastCheck),
        lastUpdate: iu.status?.lastUpdatedAt,
        recentUpdates: [],
        problems: [
          ...iuProblems,
          {
            subject: appName,
            problem: `ImageUpdater ${iuName} matches no Application (namePattern ${patterns.join(', ') || 'none'} in namespace ${ns}${elsewhere.length ? `; ${elsewhere.map((a) => `${a.metadata.namespace}/${a.metadata.name}`).join(', ')} match the name in another namespace` : ''}): nothing is updated for ${appName}`,
            fix: `if ${appName} moved (another cluster, another Application name), point applicationRefs[].namePattern at its Application in ${ns}; if it is gone, delete the ImageUpdater (kubectl -n ${ns} delete imageupdater ${iu.metadata.name}, and its file in the GitOps repo)`,
          },
        ],
        verdict: '',
      })
      continue
    }

    for (const { app, ref } of selected) {
      const name = app.metadata.name
      const rowProblems: Finding[] = iuProblems.map((p) => ({ ...p, subject: name }))
      const sourceType = app.status?.sourceType
      if (sourceType && !['Kustomize', 'Helm', 'Plugin'].includes(sourceType))
        rowProblems.push({ subject: name, problem: `Application ${name} is a ${sourceType} app: Image Updater only updates Kustomize, Helm and Plugin apps`, fix: `make it a Kustomize app (npx tsx scripts/run.ts --app ${name} does that for apps of the Directory Application)` })
      const images: ImageStatus[] = managedImages(iu, ref, app).map((m) => {
        const g = facts.git.get(imageKey(name, m.image))
        const r = facts.registry.get(imageKey(name, m.image))
        return { alias: m.alias, image: m.image, strategy: m.strategy, allowTags: m.allowTags, git: g?.tag, gitFile: g?.file, running: runningTag(app, m.image), newest: r?.newest, newestNote: r?.note ?? r?.refused }
      })
      for (const img of images) {
        if (!img.running) rowProblems.push({ subject: name, problem: `${img.image} is not among the images Application ${name} runs (${(app.status?.summary?.images ?? []).join(', ') || 'none'}): Image Updater skips it`, fix: 'imageName must name the image the workload runs, written as the workload writes it' })
        const r = facts.registry.get(imageKey(name, img.image))
        if (r?.refused && !logProblems.some((p) => p.kind === 'registry'))
          rowProblems.push({ subject: name, problem: `the registry refused the credentials of the pull secret for ${img.image}: ${r.refused}`, fix: 'the token needs read:packages (classic PAT) and the pull secret must hold it: store a working token in Vault (npx tsx scripts/run.ts --from 1)' })
        // a newer allowed tag that has waited more than a few intervals: the controller should have taken it
        if (controllerWorks && r?.newest && img.running && r.newest !== img.running && r.createdAt !== undefined && opts.now - r.createdAt > 3 * intervalMs)
          rowProblems.push({ subject: name, problem: `${img.image}:${r.newest} (pushed ${iso(r.createdAt)}) is allowed and newer than the running ${img.running}, and has not been deployed for more than 3 intervals (${intervalText})`, fix: `kubectl -n ${ns} logs deploy/${d?.metadata.name ?? 'argocd-image-updater-controller'} | grep ${name} names why; check the ImageUpdater's allowTags and updateStrategy` })
      }
      for (const p of logProblems) {
        const what = p.kind === 'registry' ? `the registry refused the credentials (controller log: ${p.line})` : p.kind === 'write-back' ? `write-back to git fails (controller log: ${p.line})` : `the controller's last cycle for ImageUpdater ${iuName} logged "${p.line}"`
        rowProblems.push({ subject: name, problem: what, fix: p.fix })
      }
      if (!logProblems.length && errorCond?.status === 'True')
        rowProblems.push({ subject: name, problem: `ImageUpdater ${iuName} reports Error=True (${errorCond.reason ?? ''}: ${errorCond.message ?? ''})`, fix: `kubectl -n ${d?.metadata.namespace ?? ns} logs deploy/${d?.metadata.name ?? 'argocd-image-updater-controller'} | grep ${iu.metadata.name} names the error` })
      for (const e of [...warningsOn(view, 'Application', ns, name), ...warningsOn(view, 'ImageUpdater', ns, iu.metadata.name)].slice(-3))
        if (/write|commit|push|git/i.test(`${e.reason} ${e.message}`) && !logProblems.some((p) => p.kind === 'write-back'))
          rowProblems.push({ subject: name, problem: `write-back fails (Event ${e.reason}: ${e.message})`, fix: 'check the write-back Secret and that the token may push to the branch (npx tsx scripts/run.ts --from 1)' })
      // checked recently: no check for more than twice the interval is a controller that stopped
      if (controllerWorks) {
        if (lastCheck === undefined || Number.isNaN(lastCheck))
          rowProblems.push({ subject: name, problem: `ImageUpdater ${iuName} has never been checked by the controller`, fix: `kubectl -n ${d!.metadata.namespace} logs deploy/${d!.metadata.name} names why (the controller watches ${minor !== undefined && minor >= 102 ? 'its own namespace only' : 'the namespaces it is given'})` })
        else if (opts.now - lastCheck > 2 * intervalMs)
          rowProblems.push({ subject: name, problem: `no check since ${iso(lastCheck)}, more than twice the interval (${intervalText}) ago`, fix: `kubectl -n ${d!.metadata.namespace} logs deploy/${d!.metadata.name} --tail=50; restart it if it hangs: kubectl -n ${d!.metadata.namespace} rollout restart deployment ${d!.metadata.name}` })
      }
      const imgNames = images.map((i) => i.image)
      const recent = fromStatus
        ? ((iu.status?.recentUpdates ?? []) as { image?: string; newVersion?: string; updatedAt?: string; message?: string }[]).filter((u) => !u.image || imgNames.some((n) => sameImage(n, u.image!))).map((u) => `${u.updatedAt ?? ''} ${u.image ?? ''}:${u.newVersion ?? ''}`.trim())
        : logUpdates(logText ?? '', name)
      const lastUpdate = fromStatus ? iu.status?.lastUpdatedAt : recent[0]?.split(' ')[0]
      rows.push({
        app: name,
        application: `${ns}/${name}`,
        cluster: clusterName(app),
        sync: app.status?.sync?.status,
        health: app.status?.health?.status,
        imageUpdater: iuName,
        matches: true,
        images,
        lastCheck: iso(lastCheck),
        lastUpdate,
        recentUpdates: recent.slice(0, 5),
        problems: rowProblems,
        verdict: '',
      })
    }
  }

  // the apps the setup onboarded: each must be selected by an ImageUpdater, unless `--pause` took it out
  const paused = [...(facts.gitImageUpdaters?.values() ?? [])].filter((g) => g.paused)
  for (const name of facts.onboarded) {
    if (rows.some((r) => r.app === name)) continue
    const app = view.applications.find((a) => a.metadata.name === name)
    const pausedBy = app && paused.find((g) => (g.obj.spec?.applicationRefs ?? []).some((r: { namePattern?: string }) => r.namePattern && globMatch(String(r.namePattern), name)))
    if (app && pausedBy) {
      notes.push(`${name}: paused (${pausedBy.file} is marked paused and out of what Argo CD syncs); npx tsx scripts/run.ts --resume ${name} brings it back`)
      rows.push({ app: name, application: `${app.metadata.namespace}/${name}`, cluster: clusterName(app), sync: app.status?.sync?.status, health: app.status?.health?.status, matches: false, images: [], recentUpdates: [], problems: [], verdict: 'paused' })
      continue
    }
    rows.push({
      app: name,
      application: app ? `${app.metadata.namespace}/${name}` : undefined,
      cluster: app ? clusterName(app) : undefined,
      sync: app?.status?.sync?.status,
      health: app?.status?.health?.status,
      matches: false,
      images: [],
      recentUpdates: [],
      problems: [
        app
          ? { subject: name, problem: `Application ${app.metadata.namespace}/${name} was onboarded by the setup, but no ImageUpdater selects it: its image is not updated`, fix: `put its ImageUpdater back (npx tsx scripts/run.ts --app ${name} writes it), or, if it is no longer wanted, forget it with npx tsx scripts/run.ts --fresh` }
          : { subject: name, problem: `${name} was onboarded by the setup, but its Application is gone and no ImageUpdater selects it any more: Image Updater matches no Application for ${name}, nothing updates it`, fix: `if ${name} moved (another cluster, another Argo CD), onboard it where it runs now (npx tsx scripts/run.ts --app ${name} with that repo and cluster); if it is retired, nothing is left to update` },
      ],
      verdict: '',
    })
  }
  if (!rows.length && !problems.length)
    problems.push({ subject: 'ImageUpdater', problem: 'no ImageUpdater in the cluster and no app onboarded by the setup: nothing is kept up to date', fix: 'run the setup: npx tsx scripts/run.ts' })

  for (const r of rows) if (r.verdict !== 'paused') r.verdict = r.problems.length ? `${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}` : controllerWorks ? 'kept up to date' : 'not checked (controller)'
  const any = problems.length > 0 || rows.some((r) => r.problems.length > 0)
  return { context: view.context, server: view.server, controller, apps: rows, problems, notes, exitCode: any ? 1 : 0 }
}

/** Updates the 1.0/1.1 controller logged for an app: `<time> <image>:<tag>`, newest first. */
function logUpdates(text: string, app: string): string[] {
  const out: string[] = []
  for (const l of text.split('\n')) {
    if (!/Successfully updated image/.test(l) || !new RegExp(`\\bapplication=("?)${app.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1\\b`).test(l)) continue
    const to = /to '([^']+)'/.exec(l)?.[1]
    const at = iso(lineTime(l))
    if (to) out.push(`${at ?? ''} ${to}`.trim())
  }
  return out.reverse()
}
