// Task 8's checks: each one passes or fails with the hint a user needs. Conditions that may still be
// converging are awaited by watch (up to SYNC_TIMEOUT_SECONDS); secret values are never printed.
import { parseYaml } from '../yaml-parse.ts'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { readRepoFile } from '../files.ts'
import { gitRun } from '../git.ts'
import { chartShape } from '../render/chart.ts'
import { PULL_SECRET_REGISTRY, repoFacts, secretFile } from '../repo-facts.ts'
import { getAt } from '../yaml-edit.ts'
import { judgeApp, resourceLabel, snapshotFor, type Verdict } from './app-snapshot.ts'
import { warningsWithCauses, withProgress } from './wait-app.ts'
import { sourcePaths, trackedBy } from './argo.ts'
import { CONTROLLER_DEPLOYMENT, IMAGE_UPDATER_API, knownOurs } from './our-resources.ts'
import { isPaused } from '../lifecycle/paused-mark.ts'
import { analyzeLog, describeCycle, type LogVerdict, type Problem } from './controller-log.ts'
import { kube, type KObj, type KRef, type Kube, type WaitCheck, type WaitState } from './kube.ts'
import { containsCommit, lastChange, setupRevision } from './origin.ts'
import { loadObject } from './repo-objects.ts'
import { deployedApplicationFiles } from './deploy.ts'
import { appKube } from './app-cluster.ts'
import { updatedApplication } from '../apps.ts'
import { moveKey } from '../state.ts'
import { dockerConfigProblems, gitCredsProblems } from './secret-checks.ts'

export interface CheckResult {
  name: string
  ok: boolean
  detail: string
  hint?: string
}

export const CONTROLLER_CONFIGMAP = 'argocd-image-updater-config'

const conditionTrue = (o: KObj | undefined, type: string) =>
  (o?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === type && c.status === 'True')
const lastCondition = (o: KObj | undefined) => {
  const c = (o?.status?.conditions ?? []).at(-1)
  return c ? `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}` : 'no conditions yet'
}

/** Waits by watch for `check`, or (waitMs 0, as in dry-run) looks once. Returns the object or the last state. */
async function awaitState(k: Kube, ref: KRef, check: WaitCheck, waitMs: number, what: string, say?: Pick<Ctx, 'log' | 'liveProgress'>): Promise<{ obj?: KObj; error?: string }> {
  if (waitMs <= 0) {
    const obj = await k.get(ref)
    const state = await check(obj)
    return 'ready' in state ? { obj } : { error: 'waiting' in state ? state.waiting : state.failed }
  }
  const said = say ? withProgress(say, what, waitMs, check) : { check, recheckMs: undefined }
  try {
    return { obj: await k.waitFor(ref, said.check, { timeoutMs: waitMs, what, recheckMs: said.recheckMs }) }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

/** The level the values file in the repo asks for (what the ConfigMap must carry). */
export async function intendedLogLevel(ctx: Ctx): Promise<string | undefined> {
  const { valuesFile } = await repoFacts(ctx)
  const text = await readRepoFile(ctx, valuesFile)
  if (text === null) return undefined
  const { value } = getAt(text, valuesFile, ['config', 'log.level'])
  return typeof value === 'string' ? value : undefined
}

interface EsSpec {
  name: string
  secretName: string
  docker: boolean
}

async function externalSecrets(ctx: Ctx): Promise<EsSpec[]> {
  const rel = await secretFile(ctx)
  const text = await readRepoFile(ctx, rel)
  if (text === null) throw new SetupError(`${rel} does not exist`, 'run task 2 first: npx tsx scripts/run.ts --only 2')
  return parseYaml(text)
    .map((d) => d.toJS() as KObj | null)
    .filter((o): o is KObj => o?.kind === 'ExternalSecret')
    .map((o) => ({
      name: o.metadata.name,
      secretName: o.spec?.target?.name ?? o.metadata.name,
      docker: o.spec?.target?.template?.type === 'kubernetes.io/dockerconfigjson',
    }))
}

const globMatch = (pattern: string, name: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name)

/**
 * The controller pod to read: the newest Ready one not being deleted. After a chart upgrade (or a
 * values change that rolls the pod) the pod seen at the start may be gone by the time its log is
 * read, so every read picks again.
 */
function newestPod(pods: KObj[]): KObj | undefined {
  const current = pods.filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))
  return current.find((p) => conditionTrue(p, 'Ready')) ?? current[0] ?? pods[0]
}

async function controllerLog(k: Kube, ns: string): Promise<string> {
  const pod = newestPod(await k.list('v1', 'Pod', ns, 'app.kubernetes.io/name=argocd-image-updater'))
  if (!pod) return ''
  try {
    return await k.logs(ns, pod.metadata.name, pod.spec?.containers?.[0]?.name, 400)
  } catch {
    return '' // gone between the list and the read: the next read picks the pod that replaced it
  }
}

/** A Deployment still rolling out a new template (a chart upgrade): its old pod is on its way out. */
function rollingOut(d: KObj): { waiting: string } | undefined {
  const st = d.status ?? {}
  if (st.observedGeneration !== undefined && st.observedGeneration < (d.metadata.generation ?? 1)) return { waiting: 'the Deployment controller has not seen the new template yet' }
  const want = d.spec?.replicas ?? 1
  if (st.updatedReplicas !== undefined && st.updatedReplicas < want) return { waiting: `${st.updatedReplicas} of ${want} pods updated to the new template` }
  return undefined
}

export async function runVerify(ctx: Ctx, opts: { waitMs: number }): Promise<CheckResult[]> {
  const s = ctx.settings
  const k = await kube(ctx)
  // every wait of the checks says what it waits for, its elapsed time moving (every 2 s on a terminal)
  const wait = (ref: KRef, check: WaitCheck, waitMs: number, what: string) => awaitState(k, ref, check, waitMs, what, ctx)
  const facts = await repoFacts(ctx)
  const ns = s.argocdNamespace
  const results: CheckResult[] = []
  const record = (name: string, problems: string[], okDetail: string, hint: string) =>
    results.push(problems.length ? { name, ok: false, detail: problems.join('; '), hint } : { name, ok: true, detail: okDetail })
  const guard = async (name: string, hint: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
    } catch (err) {
      results.push({ name, ok: false, detail: err instanceof Error ? err.message.split('\n')[0] : String(err), hint })
    }
  }

  // 1. the controller
  const ctrlHint = `kubectl -n ${ns} describe deployment ${CONTROLLER_DEPLOYMENT}; check the argocd-image-updater Application`
  await guard('controller Deployment available', ctrlHint, async () => {
    const r = await wait(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: CONTROLLER_DEPLOYMENT },
      (d) => (!d ? { waiting: 'not found' } : rollingOut(d) ?? (conditionTrue(d, 'Available') || (d.status?.availableReplicas ?? 0) >= 1 ? { ready: true } : { waiting: lastCondition(d) })),
      opts.waitMs,
      `Deployment ${ns}/${CONTROLLER_DEPLOYMENT} available`,
    )
    record('controller Deployment available', r.error ? [r.error] : [], `${r.obj?.status?.availableReplicas ?? 1} available`, ctrlHint)
  })
  let controllerPod: KObj | undefined
  await guard('controller Pod ready', ctrlHint, async () => {
    const pods = await k.list('v1', 'Pod', ns, 'app.kubernetes.io/name=argocd-image-updater')
    controllerPod = newestPod(pods)
    record('controller Pod ready', controllerPod && conditionTrue(controllerPod, 'Ready') ? [] : [controllerPod ? `pod ${controllerPod.metadata.name} not Ready: ${lastCondition(controllerPod)}` : 'no pod labelled app.kubernetes.io/name=argocd-image-updater'], `pod ${controllerPod?.metadata.name}`, `kubectl -n ${ns} get pods -l app.kubernetes.io/name=argocd-image-updater; kubectl -n ${ns} logs deploy/${CONTROLLER_DEPLOYMENT}`)
  })
  const levelHint = `the chart reads config."log.level" from ${facts.valuesFile}; sync the argocd-image-updater Application`
  await guard('ConfigMap log level', levelHint, async () => {
    const want = await intendedLogLevel(ctx)
    const r = await wait(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: CONTROLLER_CONFIGMAP },
      (cm) => (!cm ? { waiting: 'not found' } : cm.data?.['log.level'] === want ? { ready: true } : { waiting: `log.level is ${cm.data?.['log.level'] ?? 'unset'}, want ${want}` }),
      opts.waitMs,
      `ConfigMap ${ns}/${CONTROLLER_CONFIGMAP} log.level=${want}`,
    )
    record('ConfigMap log level', r.error ? [r.error] : [], `log.level=${want}`, levelHint)
  })

  // 2. the ExternalSecrets and the Secrets they render
  const registry = PULL_SECRET_REGISTRY
  const pat = ctx.secrets.githubPat()
  for (const es of await externalSecrets(ctx)) {
    const esHint = `kubectl -n ${ns} describe externalsecret ${es.name}: check Vault holds ${s.vaultPath} (task 1) and the ClusterSecretStore ${facts.secretStore} is Ready`
    await guard(`ExternalSecret ${es.name} Ready`, esHint, async () => {
      const r = await wait(
        { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: ns, name: es.name },
        (o) => (!o ? { waiting: 'not found' } : conditionTrue(o, 'Ready') ? { ready: true } : { waiting: lastCondition(o) }),
        opts.waitMs,
        `ExternalSecret ${ns}/${es.name} Ready`,
      )
      record(`ExternalSecret ${es.name} Ready`, r.error ? [r.error] : [], 'Ready', esHint)
      const secretRef = { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: es.secretName }
      const check = (secret: KObj | undefined) => (!secret ? ['Secret not found'] : es.docker ? dockerConfigProblems(secret, registry, s.githubUsername, pat) : gitCredsProblems(secret, s.githubUsername, pat))
      let problems = check(await k.get(secretRef))
      // After a token rotation Vault is new but ESO refreshes only every refreshInterval (1h):
      // force the refresh and wait for it before comparing again.
      if (r.obj && problems.some((p) => p.includes('differs from GITHUB_PAT')) && !ctx.dryRun && opts.waitMs > 0) {
        const refreshed = await forceRefresh(k, { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', namespace: ns, name: es.name }, opts.waitMs)
        ctx.log(`ExternalSecret ${es.name}: the Secret held an older token; ${refreshed.error ?? 'forced a refresh (force-sync annotation) and ESO refreshed it'}`)
        problems = check(await k.get(secretRef))
      }
      record(
        `Secret ${es.secretName}`,
        problems,
        es.docker ? `dockerconfigjson with a ${registry} entry for ${s.githubUsername}` : `username and password for ${s.githubUsername}`,
        `check the template in ${await secretFile(ctx)} and the values in Vault (${s.vaultPath}: username, pat)`,
      )
    })
  }

  // 3. the Applications, at (or after) our revision
  const rev = await setupRevision(ctx)
  // the Applications task 7 deployed, and those the apps that stay where they are render through
  // (an app that stays in place is judged by its Application as the repo model read it: an
  // ApplicationSet's has no file of its own)
  const appFiles = [...new Set([...facts.apps.filter((a) => !a.inPlace).map((a) => a.applicationFile), ...deployedApplicationFiles(facts)])]
  const desiredApps: [string, KObj][] = []
  for (const file of appFiles) desiredApps.push([file, await loadObject(ctx, file, 'Application')])
  for (const a of facts.apps) if (a.inPlace && !desiredApps.some(([key]) => key === a.applicationFile)) desiredApps.push([a.applicationFile, a.inPlace.application.json as KObj])
  const apps: Record<string, KObj | undefined> = {}
  const ourKeys = await knownOurs(ctx)
  for (const [file, desired] of desiredApps) {
    const name = desired.metadata.name
    const floor = await lastChange(ctx.repoDir, rev, sourcePaths(desired))
    const ours = (r: string) => containsCommit(ctx.repoDir, s.branch, floor, r)
    const hint = `kubectl -n ${ns} describe application ${name}; then rerun task 7: npx tsx scripts/run.ts --from 7`
    await guard(`Application ${name} Synced and Healthy`, hint, async () => {
      const ref = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: ns, name }
      // judged against task 7's snapshot: a resource broken before the setup and untouched is a warning
      const judge = { before: await snapshotFor(ctx, name, () => k.get(ref)), knownOurs: ourKeys, containsOurs: ours, revision: rev }
      let verdict: Verdict | undefined
      const r = await wait(ref, async (a) => {
        verdict = await judgeApp(a, judge)
        return verdict.state
      }, opts.waitMs, `Application ${name} Synced and Healthy at ${rev.slice(0, 7)}`)
      // as task 7 words them (an ExternalSecret's with ESO's cause), so each is printed once
      for (const w of await warningsWithCauses(k, verdict)) ctx.warn?.(w)
      apps[file] = r.obj ?? (await k.get(ref))
      // the app's own health counts what was broken before the setup: say so instead of "Healthy"
      const health = apps[file]?.status?.health?.status
      const excused = verdict?.warned?.length && health !== 'Healthy' ? `; ${health ?? 'no health'} only for what was so before the setup and left alone by it: ${verdict.warned.map(resourceLabel).join(', ')}` : ''
      record(`Application ${name} Synced and Healthy`, r.error ? [r.error] : [], `at ${floor.slice(0, 7)} or later${excused}`, hint)
    })
  }

  // 4. each app's objects survived the move: judged by what task 7 saw (saved state) when there is
  // a record, so a later legitimate re-creation does not fail this check forever; without one (the
  // move was done by an older version), by creation times.
  const shape = chartShape(s.chartVersion)
  const imageUpdaters: { name: string; iu: KObj; app: KObj | undefined; selects: string }[] = []
  for (const spec of facts.apps) {
    const survived = `${spec.name} ${spec.workload.kind} survived the move`
    // an app that stays in the Application that renders it was not moved (and may run on another cluster)
    if (!spec.inPlace) await guard(survived, '', async () => {
      const app = apps[spec.applicationFile]
      const problems: string[] = []
      // asked only where no saved move record judges an object (it may start a `git log`)
      let existed: Promise<boolean> | undefined
      const existedBefore = () =>
        (existed ??= (async () => (await readRepoFile(ctx, `${s.manifestsDir}/${spec.name}.yaml`)) !== null || (await oldFileInHistory(ctx, spec.name)))())
      const notes: string[] = []
      // the objects are on the app's cluster (where its Application deploys), not always Argo CD's
      const ak = await appKube(ctx, spec)
      for (const ref of spec.objects) {
        const obj = await ak.get(ref)
        if (!obj) {
          problems.push(`${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} not found`)
          continue
        }
        const owner = trackedBy(obj)
        if (owner && app && owner !== app.metadata.name) problems.push(`${ref.kind} ${ref.name} is tracked by ${owner}, not ${app.metadata.name}`)
        const move = ctx.state.move(moveKey(ref))
        if (move?.pending) {
          // task 7 pushed the move and stopped before judging it: judged here against the uid saved before the push
          if (obj.metadata.uid !== move.before) problems.push(`${ref.kind} ${ref.name} was recreated during the move (uid ${move.before} before task 7's push at ${move.at}, ${obj.metadata.uid} now)`)
          else notes.push(`${ref.kind} ${ref.name} kept uid ${move.before}`)
          continue
        }
        if (move) {
          if (move.after !== move.before) problems.push(`${ref.kind} ${ref.name} was ${move.after ? 'recreated' : 'deleted'} during the move (task 7, ${move.at}: uid ${move.before} → ${move.after ?? 'none'})`)
          else if (obj.metadata.uid !== move.before) notes.push(`${ref.kind} ${ref.name} kept its uid during the move and was recreated since (not by the move)`)
          else notes.push(`${ref.kind} ${ref.name} kept uid ${move.before}`)
          continue
        }
        const created = new Date(String(obj.metadata.creationTimestamp)).getTime()
        const appCreated = app ? new Date(String(app.metadata.creationTimestamp)).getTime() : NaN
        if (created > appCreated && (await existedBefore())) problems.push(`${ref.kind} ${ref.name} was created after the ${spec.name} Application (recreated during the move)`)
      }
      record(survived, problems, notes.length ? notes.join('; ') : (await existedBefore()) ? `${spec.objects.length} object(s) predate the new Application` : `${spec.objects.length} object(s) present (new install)`, `a recreated object had downtime: check ${s.personalServicesFile} no longer lists ${spec.name} and prunes nothing of it`)
    })

    // 5. the ImageUpdater resource selects the app and manages its image (on 1.2: by its status)
    const iuHint = `kubectl -n ${ns} get imageupdater ${spec.name} -o yaml; kubectl -n ${ns} logs deploy/${CONTROLLER_DEPLOYMENT}`
    const manages = `ImageUpdater ${spec.name} manages the image`
    await guard(manages, iuHint, async () => {
      // paused with --pause (src/lifecycle/pause.ts): no ImageUpdater on purpose, nothing to judge
      if (isPaused(await readRepoFile(ctx, `${spec.appPath}/image-updater.yaml`))) return record(manages, [], `paused (--pause ${spec.name}); --resume ${spec.name} brings it back`, iuHint)
      const ref = { apiVersion: IMAGE_UPDATER_API, kind: 'ImageUpdater', namespace: ns, name: spec.name }
      const iu = await k.get(ref)
      if (!iu) return record(manages, [`ImageUpdater ${ns}/${spec.name} not found`], '', iuHint)
      // the Application Image Updater updates: the app's own, or the Kustomize one it stays in
      const selects = updatedApplication(spec)
      imageUpdaters.push({ name: spec.name, iu, app: apps[spec.applicationFile], selects })
      const refs: { namePattern?: string }[] = iu.spec?.applicationRefs ?? []
      if (!refs.some((r) => r.namePattern && globMatch(r.namePattern, selects))) return record(manages, [`no applicationRefs[].namePattern matches ${selects}`], '', iuHint)
      if (!shape.statusCounts) return record(manages, [], `applicationRefs select ${selects}`, iuHint)
      const appliedAt = appliedTime(iu)
      const images = managedImageCount(iu, apps[spec.applicationFile], selects)
      // the status waits out errors that may clear on the next cycle; a line in the controller's log
      // that waiting will not clear (the registry refused the credentials) ends the wait at once
      const logSays = async (): Promise<string | undefined> => {
        if (!controllerPod) return undefined
        const v = analyzeLog(await controllerLog(k, ns), { crName: spec.name, since: appliedAt, images })
        return v.terminal ? `the controller log says "${v.terminal.what}": ${v.terminal.fix}` : undefined
      }
      const r = await wait(
        ref,
        async (o) => {
          const state = imageUpdaterStatus(o, appliedAt, images)
          if ('ready' in state) return state
          const said = await logSays()
          return said ? { failed: said } : state
        },
        opts.waitMs,
        `ImageUpdater ${ns}/${spec.name} reconciled without errors`,
      )
      const st = r.obj?.status
      record(manages, r.error ? [r.error] : [], `Ready (ReconcileSucceeded), applicationsMatched=${st?.applicationsMatched} imagesManaged=${st?.imagesManaged}, checked ${st?.lastCheckedAt}`, `${iuHint}; the Error condition and the log name the cause`)
    })
  }

  // 6. the controller log: a healthy update cycle of each ImageUpdater after its last apply
  const iuHint = `kubectl -n ${ns} get imageupdater; kubectl -n ${ns} logs deploy/${CONTROLLER_DEPLOYMENT}`
  await guard('controller log shows it working', iuHint, async () => {
    if (!controllerPod) return record('controller log shows it working', ['no controller pod to read'], '', iuHint)
    const deadline = Date.now() + opts.waitMs
    const problems: Problem[] = []
    const seen: string[] = []
    for (const { name, iu, app, selects } of imageUpdaters) {
      const expect = { crName: name, since: appliedTime(iu), images: managedImageCount(iu, app, selects) }
      const read = async () => analyzeLog(await controllerLog(k, ns), expect)
      const verdict = await awaitHealthyCycle(read, Math.max(0, deadline - Date.now()), ctx.log, { pollMs: 500, sayEveryMs: ctx.liveProgress ? 2000 : 10_000 })
      const last = verdict.lastCycle
      const mine = [...verdict.idle, ...(verdict.healthy ? [] : last ? last.problems : [{ what: 'no update cycle since the ImageUpdater was created', fix: `the controller runs a cycle every interval (2m by default): look at ${iuHint}` }])]
      for (const p of mine) if (!problems.some((q) => q.what === p.what)) problems.push({ what: imageUpdaters.length > 1 ? `${name}: ${p.what}` : p.what, fix: p.fix })
      seen.push(last ? `${imageUpdaters.length > 1 ? `${name}: ` : ''}${describeCycle(last)}` : `${name}: no cycle yet`)
    }
    record(
      'controller log shows it working',
      problems.map((p) => p.what),
      seen.join('; ') || 'no ImageUpdater to look for',
      problems.length ? problems.map((p) => `${p.what}: ${p.fix}`).join('\n     hint: ') : iuHint,
    )
  })
  return results
}

/**
 * ESO's `force-sync` annotation with a new value makes it refresh now; done once its
 * status.refreshTime (whole seconds) is not older than the annotation.
 */
export async function forceRefresh(k: Kube, ref: KRef, waitMs: number): Promise<{ error?: string }> {
  const at = Math.floor(Date.now() / 1000)
  const patched = await k.mergePatch(ref, { metadata: { annotations: { 'force-sync': String(at) } } })
  // refreshTime has whole seconds: a sync earlier in the same second as the annotation looks new.
  // ESO's status.syncedResourceVersion (generation plus a hash of labels and annotations) changes
  // only once it has synced the annotated object, so both must say so.
  const syncedBefore = (patched as KObj | undefined)?.status?.syncedResourceVersion
  const refreshed = (o: KObj | undefined) =>
    !!o?.status?.refreshTime && Date.parse(o.status.refreshTime) >= at * 1000 && (syncedBefore === undefined || o.status.syncedResourceVersion !== syncedBefore)
  const r = await awaitState(k, ref, (o) => (refreshed(o) ? { ready: true } : { waiting: `status.refreshTime=${o?.status?.refreshTime ?? 'unset'}, not yet synced after the force-sync` }), waitMs, `ExternalSecret ${ref.namespace}/${ref.name} refreshed after force-sync`)
  return r.error ? { error: `the forced refresh did not finish: ${r.error}` } : {}
}

/**
 * When this ImageUpdater's spec was last written (its creation, or a later write other than status),
 * to the second: status times and log lines are whole seconds, so older ones are history.
 */
export function appliedTime(iu: KObj): number {
  const times = [iu.metadata.creationTimestamp, ...((iu.metadata.managedFields ?? []) as { time?: string; subresource?: string }[]).filter((f) => !f.subresource).map((f) => f.time)]
  const newest = Math.max(...times.map((t) => (t ? Date.parse(String(t)) : NaN)).filter((t) => !Number.isNaN(t)), 0)
  return Math.floor(newest / 1000) * 1000
}

/** Images the ImageUpdater manages for the app: its images[] entries, or the app's image-list with useAnnotations. */
export function managedImageCount(iu: KObj, app: KObj | undefined, appName: string): number {
  const refs: { namePattern?: string; useAnnotations?: boolean; images?: unknown[] }[] = iu.spec?.applicationRefs ?? []
  const ref = refs.find((r) => r.namePattern && globMatch(r.namePattern, appName))
  if (!ref) return 1
  if (ref.useAnnotations) {
    const list = String(app?.metadata?.annotations?.['argocd-image-updater.argoproj.io/image-list'] ?? '')
    return Math.max(1, list.split(',').filter((e) => e.trim()).length)
  }
  return Math.max(1, ref.images?.length ?? 0)
}

const condition = (o: KObj | undefined, type: string) => (o?.status?.conditions ?? []).find((c: { type: string }) => c.type === type) as { status?: string; reason?: string; message?: string } | undefined

/**
 * App v1.2 status: the controller has seen this generation, its last cycle (after our apply) ended
 * `Ready=True` with reason `ReconcileSucceeded` and `Error=False`. `imagesManaged` alone is not
 * enough: it is counted before tags are fetched. Errors may clear on the next cycle (a Secret ESO
 * has not written yet), so they are waited on, and reported when the time is up.
 */
export function imageUpdaterStatus(o: KObj | undefined, appliedAt: number, images: number): WaitState {
  if (!o) return { waiting: 'not found' }
  const st = o.status ?? {}
  if (st.observedGeneration !== o.metadata.generation) return { waiting: `status.observedGeneration=${st.observedGeneration ?? 'unset'}, generation=${o.metadata.generation}: the controller has not seen this spec yet` }
  const checked = st.lastCheckedAt ? Date.parse(st.lastCheckedAt) : NaN
  if (!(checked >= appliedAt)) return { waiting: `status.lastCheckedAt=${st.lastCheckedAt ?? 'unset'} is older than the ImageUpdater's last apply` }
  const error = condition(o, 'Error')
  if (error?.status !== 'False') return { waiting: `condition Error=${error?.status ?? 'unset'}${error?.reason ? ` (${error.reason})` : ''}${error?.message ? `: ${error.message}` : ''}` }
  const ready = condition(o, 'Ready')
  if (ready?.status !== 'True' || ready.reason !== 'ReconcileSucceeded')
    return { waiting: `condition Ready=${ready?.status ?? 'unset'}${ready?.reason ? ` (${ready.reason})` : ''}, want True (ReconcileSucceeded)` }
  if ((st.applicationsMatched ?? 0) < 1) return { waiting: `applicationsMatched=${st.applicationsMatched ?? 'unset'}` }
  if ((st.imagesManaged ?? 0) < images) return { waiting: `imagesManaged=${st.imagesManaged ?? 'unset'}, want ${images}` }
  return { ready: true }
}

/**
 * Logs cannot be watched: reads the log again at a steady pace until the last cycle is healthy, two
 * cycles in a row failed (a transient error, such as a Secret ESO writes a moment later, gets one
 * more cycle), or the time is up. Says what it waits for about every 10 s (the progress line).
 */
export async function awaitHealthyCycle(read: () => Promise<LogVerdict>, waitMs: number, progress: (line: string) => void, pace = { pollMs: 500, sayEveryMs: 10_000 }): Promise<LogVerdict> {
  const deadline = Date.now() + waitMs
  let said = Date.now()
  for (;;) {
    const v = await read()
    if (v.healthy) return v
    // the registry refused the credentials: no later cycle will do better
    if (v.terminal) return v
    const f = v.failedCycles
    // two cycles failed, the last one included (a transient error gets one more cycle)
    if (f.length >= 2 && f.at(-1) === v.lastCycle) return v
    if (Date.now() >= deadline) return v
    if (Date.now() - said >= pace.sayEveryMs) {
      said = Date.now()
      const why = v.lastCycle ? v.lastCycle.problems.map((p) => p.what).join('; ') : v.idle.length ? v.idle[0].what : 'no update cycle yet'
      progress(`waiting for a healthy Image Updater cycle (${Math.ceil((deadline - Date.now()) / 1000)}s left): ${why}`)
    }
    await new Promise((r) => setTimeout(r, Math.min(pace.pollMs, Math.max(0, deadline - Date.now()))))
  }
}

async function oldFileInHistory(ctx: Ctx, app: string): Promise<boolean> {
  const rel = `${ctx.settings.manifestsDir}/${app}.yaml`
  try {
    return (await gitRun(ctx.repoDir, ['log', '-1', '--format=%H', '--', rel])).stdout.trim().length > 0
  } catch {
    return false
  }
}

/** One line per check for the task output. */
export function formatResult(r: CheckResult): string {
  return r.ok ? `PASS ${r.name}: ${r.detail}` : `FAIL ${r.name}: ${r.detail}${r.hint ? `\n     hint: ${r.hint}` : ''}`
}

/** A check a dry run shows before the changes it waits for are made: no FAIL, no fix to follow. */
export function formatNotYet(r: CheckResult): string {
  return r.ok ? formatResult(r) : `not yet ${r.name}: ${r.detail}`
}

