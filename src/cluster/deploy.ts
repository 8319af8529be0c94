// Task 7, cluster half: apply the AppProject and the Applications this setup creates or edits, then
// sync them in an order that loses nothing, waiting (by watch) until each is Synced and Healthy at
// the commit task 7 pushed.
//
// Order, and why:
//  1. AppProject first: every Application below needs the argo-helm repo in sourceRepos.
//  2. vault-eso: the ExternalSecrets exist before the controller first looks for its pull secret,
//     so its log never starts with `unauthorized`.
//  3. argocd-image-updater (chart, installs the ImageUpdater CRD) before the it-tools app, whose
//     kustomization holds the ImageUpdater resource.
//  4. it-tools adopts the Deployment and Service (same uid before and after) ...
//  5. ... and only then personal-services gets its new include list and auto-prune back.
//  6. Where the repo has no vault-eso, the owner's Application that syncs the folder holding the
//     ExternalSecrets and ImageUpdaters (a root over argocd/) comes last, once the chart serves the
//     CRD; when it is also the parent of our Applications it is paused and restored as one.
// The files are the repo's (deploySteps, from the repo facts), the plan's names only where they exist.
// personal-services may notice the pushed commit (which deletes it-tools.yaml) on its own at any
// moment, so its auto-prune is paused *before the push* (planPrePush) and restored in step 5.
// Under a parent with automated sync the pauses must also outlast what the parent started before
// them: the push waits until each has finished a reconcile that read its pause and has no sync
// under way, and every pause is checked again (holdPauses).
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import type { AppSpec } from '../apps.ts'
import { repoFacts, type RepoFacts } from '../repo-facts.ts'
import { moveKey, type SavedAppSnapshot } from '../state.ts'
import type { Change } from '../task.ts'
import { fromSaved, judgeApp, rememberSnapshot, resourceKey, savedSnapshot, snapshotOf, type AppSnapshot, type JudgeInput } from './app-snapshot.ts'
import { differences, operationUnderWay, REFRESH_ANNOTATION, sourcePaths, syncTrigger, trackedBy } from './argo.ts'
import { kube, type KObj, type KRef, type Kube } from './kube.ts'
import { appKube } from './app-cluster.ts'
import { containsCommit, lastChange, lastChanges, setupRevision } from './origin.ts'
import { prunePutBack } from './prune-pause.ts'
import { loadObject, withNamespace } from './repo-objects.ts'
import { describeAncestor, findAncestors, pauseHolds, pausePatch, restorePatch, strategyNote, type Ancestor } from './app-of-apps.ts'
import { IMAGE_UPDATER_API, knownOurs, ourExternalSecrets } from './our-resources.ts'
import { PROGRESS_EVERY_MS, waitForApp, WaitProgress } from './wait-app.ts'

interface Step {
  file: string
  kind: 'AppProject' | 'Application'
  /** the Application takes over these objects of the app (Namespace included): check their uids */
  adopts?: KRef[]
  /** the app whose Application this is */
  app?: AppSpec
  /** done also needs: the target Secrets of our ExternalSecrets ('secrets'), the ImageUpdater CRD served ('crd') */
  needs?: ('secrets' | 'crd')[]
  /**
   * the owner's Application that syncs the updater home (a root app-of-apps over argocd/, say): when
   * it is also the parent of our Applications it is paused and restored as one, and waited for there
   */
  home?: true
}

type StepFacts = Pick<RepoFacts, 'projectFile' | 'chartApplicationFile' | 'apps' | 'servicesFile' | 'secretsApplication'>

/**
 * The AppProject and the Applications task 7 deploys, in order, from the repo facts: the files the
 * repo has (the plan's, or those the repo model found), each once.
 */
export function deploySteps(facts: StepFacts): Step[] {
  const { file: secretsFile, withImageUpdaters } = facts.secretsApplication
  const chartHoldsSecrets = secretsFile === facts.chartApplicationFile
  const steps: Step[] = [
    { file: facts.projectFile, kind: 'AppProject' },
    // the plan's vault-eso Application holds only ExternalSecrets: first, so that the controller's
    // first look at its pull secret finds it
    ...(!withImageUpdaters ? [{ file: secretsFile, kind: 'Application', needs: ['secrets'] } satisfies Step] : []),
    { file: facts.chartApplicationFile, kind: 'Application', needs: chartHoldsSecrets ? ['crd', 'secrets'] : ['crd'] },
    // an app that stays in the Application that renders it has no Application of ours to deploy
    ...facts.apps.filter((app) => !app.inPlace).map((app): Step => ({ file: app.applicationFile, kind: 'Application', adopts: app.objects, app })),
    ...(facts.servicesFile ? [{ file: facts.servicesFile, kind: 'Application' } satisfies Step] : []),
    // a folder that holds the ImageUpdaters beside the ExternalSecrets (a root app-of-apps over
    // argocd/, say) syncs once the chart serves their CRD and the moves are done
    ...(withImageUpdaters && !chartHoldsSecrets ? [{ file: secretsFile, kind: 'Application', needs: ['secrets'], home: true } satisfies Step] : []),
  ]
  return steps.filter((step, i) => steps.findIndex((o) => o.file === step.file) === i)
}

/** The Application files task 7 deploys (task 8 checks each). */
export const deployedApplicationFiles = (facts: StepFacts): string[] => deploySteps(facts).filter((s) => s.kind === 'Application').map((s) => s.file)

const refOf = (o: KObj): KRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })
const label = (o: KObj) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`

/** The commit every Application must reach (see setupRevision). */
function targetRevision(ctx: Ctx): Promise<string> {
  return setupRevision(ctx)
}

/** Whether task 7 is about to push, when the caller does not say (inferred from the run). */
const inferPushPending = (ctx: Ctx) => ctx.pushedRevision === undefined && ctx.touchedPaths.size > 0

/** The live Applications of ours that exist now (the parents are found from them). */
async function ourAppLives(ctx: Ctx, k: Kube): Promise<KObj[]> {
  const facts = await repoFacts(ctx)
  const lives: KObj[] = []
  // the home's Application is left out: it may be their parent (then it is paused like one)
  for (const step of deploySteps(facts).filter((s) => s.kind === 'Application' && !s.home)) {
    const desired = withNamespace(await loadObject(ctx, step.file, step.kind), ctx.settings.argocdNamespace)
    const live = await k.get(refOf(desired))
    if (live) lives.push(live)
  }
  return lives
}

/**
 * The changes needed before the push (task 7): under an app-of-apps parent with automated sync,
 * pause it (see app-of-apps.ts); pause personal-services' auto-prune while its live spec still
 * runs the app; then, under such a parent, hold the pauses until nothing the parent started before
 * them is left (holdPauses). planDeploy calls it too when deploying alone (then it is a no-op).
 */
export async function planPrePush(ctx: Ctx, opts: { pushPending?: boolean } = {}): Promise<Change[]> {
  const k = await kube(ctx)
  const pushPending = opts.pushPending ?? inferPushPending(ctx)
  // the Directory Application the apps move out of (none when every app stays where it is)
  const { servicesFile } = await repoFacts(ctx)
  const desired = servicesFile ? withNamespace(await loadObject(ctx, servicesFile, 'Application'), ctx.settings.argocdNamespace) : undefined
  const live = desired ? await k.get(refOf(desired)) : undefined
  const stillRunsApp = desired && live ? await runsApp(ctx, k, desired, live) : false
  // a converged rerun stops here: nothing to push, nothing to move
  if (!stillRunsApp && !pushPending) return []
  const ancestors = await findAncestors(k, await ourAppLives(ctx, k), ctx.settings.argocdNamespace, { deep: true })
  const automated = ancestors.filter((a) => a.automated)
  const prunePause = stillRunsApp && desired ? await prunePauseChange(ctx, k, desired) : undefined
  const pauses: Change[] = automated
    .filter((a) => !pauseHolds(a.live))
    .map((a) => ({
      summary: `pause the automated sync of ${describeAncestor(a)} until the move is done: ${strategyNote(ancestors)}`,
      async apply() {
        await k.mergePatch(a.ref, pausePatch(a))
        ctx.log(`paused the automated sync of Application ${a.ref.namespace}/${a.ref.name}`)
      },
    }))
  // the prune pause is held too when this run paused it, or when an earlier run did (prune false now)
  const holdPrune = stillRunsApp || live?.spec?.syncPolicy?.automated?.prune === false
  const hold: Change[] = automated.length ? [holdPausesChange(ctx, k, automated, holdPrune && desired ? refOf(desired) : undefined)] : []
  return [...pauses, ...(prunePause ? [prunePause] : []), ...hold]
}

/** personal-services prunes and its live spec still runs the app: the move is ahead. */
async function runsApp(ctx: Ctx, k: Kube, desired: KObj, live: KObj): Promise<boolean> {
  if (live.spec?.syncPolicy?.automated?.prune !== true) return false
  const include = String(live.spec?.source?.directory?.include ?? '')
  const { apps } = await repoFacts(ctx)
  // an app that stays in place is no app of personal-services
  for (const app of apps.filter((a) => !a.inPlace)) {
    const tracked = trackedBy(await (await appKube(ctx, app)).get(app.workload))
    // a pattern include (`*.yaml`) cannot be read here; the workload's tracking label says who runs it
    if (tracked === desired.metadata.name || include.includes(`${app.name}.yaml`)) return true
  }
  return false
}

const PRUNE_PAUSE = { spec: { syncPolicy: { automated: { prune: false } } } }

async function prunePauseChange(ctx: Ctx, k: Kube, desired: KObj): Promise<Change> {
  const ref = refOf(desired)
  const { apps } = await repoFacts(ctx)
  const names = apps.map((a) => a.name).join(', ')
  return {
    summary: `pause auto-prune of ${label(desired)} until ${names} ${apps.length > 1 ? 'have' : 'has'} adopted ${apps.length > 1 ? 'their' : 'its'} objects`,
    async apply() {
      // remembered first: a stop from here on puts prune back where safe, or says how (src/stop.ts)
      ctx.stop?.remember(`prune:${desired.metadata.name}`, prunePutBack(ctx, k, ref))
      await k.mergePatch(ref, PRUNE_PAUSE)
      ctx.log(`paused auto-prune of ${label(desired)}`)
    },
  }
}

const appLabel = (r: KRef) => `Application ${r.namespace}/${r.name}`

/**
 * Holds the pauses against what the paused parents started before them. Argo CD acts on the
 * Application as a reconcile read it when it started, and a sync under way completes with the
 * policy it started with: a parent that manages itself re-applies its own manifest (automated sync
 * back on) and its children's (personal-services' auto-prune back on). So, before the push: ask
 * each paused parent (and personal-services) for a refresh, wait until Argo CD has handled it (it
 * removes a refresh request only in a reconcile that read it, so every reconcile that started
 * before the pause is over) and no sync operation is under way, then check every pause; one that
 * was undone is put back and the round starts again. All within SYNC_TIMEOUT_SECONDS.
 */
function holdPausesChange(ctx: Ctx, k: Kube, parents: Ancestor[], pruneRef: KRef | undefined): Change {
  const names = parents.map((a) => a.ref.name).join(', ')
  return {
    summary: `wait until ${names}${pruneRef ? ` and ${pruneRef.name}` : ''} ha${parents.length > 1 || pruneRef ? 've' : 's'} no reconcile or sync left from before the pause${pruneRef || parents.length > 1 ? 's' : ''}, and check that every pause still holds before the push`,
    async apply() {
      const timeoutMs = Number(ctx.settings.syncTimeoutSeconds) * 1000
      const deadline = Date.now() + timeoutMs
      const refs = [...parents.map((a) => a.ref), ...(pruneRef ? [pruneRef] : [])]
      const undone: string[] = []
      for (;;) {
        for (const r of refs) await k.mergePatch(r, { metadata: { annotations: { [REFRESH_ANNOTATION]: 'normal' } } })
        for (const r of refs) await waitSettled(ctx, k, r, deadline, timeoutMs, undone)
        const again: string[] = []
        for (const a of parents) {
          const live = await k.get(a.ref)
          if (!live) throw new SetupError(`the parent Application ${a.ref.namespace}/${a.ref.name} disappeared during the move`, `re-create it from your GitOps repo (kubectl apply -f <its file>), then rerun: npx tsx scripts/run.ts --from 7`)
          if (pauseHolds(live)) continue
          await k.mergePatch(a.ref, pausePatch(a))
          again.push(`the automated sync of ${appLabel(a.ref)}`)
          ctx.log(`paused the automated sync of ${appLabel(a.ref)} again (a reconcile or sync of it that started before the pause put it back)`)
        }
        if (pruneRef && (await k.get(pruneRef))?.spec?.syncPolicy?.automated?.prune !== false) {
          await k.mergePatch(pruneRef, PRUNE_PAUSE)
          again.push(`auto-prune of ${appLabel(pruneRef)}`)
          ctx.log(`paused auto-prune of ${appLabel(pruneRef)} again (a sync of its parent that started before the pause put it back)`)
        }
        if (!again.length) break
        undone.push(...again)
      }
      const who = refs.map((r) => r.name).join(', ')
      ctx.log(`${who}: no reconcile or sync left from before the pause${refs.length > 1 ? 's' : ''}${undone.length ? ` (${undone.length} undone pause${undone.length > 1 ? 's' : ''} put back)` : ''}; every pause holds`)
    },
  }
}

/**
 * Waits until Argo CD has handled the refresh request on `ref` and has no sync operation under way
 * on it. A timeout names what is still there and how to clear it.
 */
async function waitSettled(ctx: Ctx, k: Kube, ref: KRef, deadline: number, timeoutMs: number, undone: string[]): Promise<void> {
  const seconds = Math.round(timeoutMs / 1000)
  const rerun = 'npx tsx scripts/run.ts --from 7'
  let last: { refresh: true } | { operation: string } | undefined
  const remaining = deadline - Date.now()
  const what = `${appLabel(ref)} with no reconcile or sync left from before the pause`
  const progress = new WaitProgress(ctx.log, what, Math.max(remaining, 0))
  const startedAt = Date.now()
  if (remaining <= 0)
    throw new SetupError(
      `the pauses kept being undone for ${seconds}s (${undone.join('; ')}): something other than a sync that started before the pause re-applies the parents' automated sync policies, so the setup stops before its push`,
      `find what writes spec.syncPolicy of ${appLabel(ref)}: kubectl -n ${ref.namespace} get application ${ref.name} -o yaml --show-managed-fields (the manager of spec.syncPolicy.automated); stop it, then rerun: ${rerun}`,
    )
  try {
    await k.waitFor(
      ref,
      (app) => {
        if (!app) return { failed: 'it was deleted' }
        const op = operationUnderWay(app)
        last = app.metadata.annotations?.[REFRESH_ANNOTATION] !== undefined ? { refresh: true } : op ? { operation: op } : undefined
        if (!last) return { ready: true }
        const reason = 'refresh' in last ? 'Argo CD has not reconciled it since the pause (the refresh request is still there)' : `a sync operation is under way (${last.operation})`
        // quiet while Argo CD answers at once, as it usually does
        if (Date.now() - startedAt >= PROGRESS_EVERY_MS) progress.update(reason)
        return { waiting: reason }
      },
      {
        timeoutMs: remaining,
        what,
        recheckMs: 1000,
        fix: `re-create it from your GitOps repo (kubectl apply -f <its file>), then rerun: ${rerun}`,
      },
    )
  } catch (err) {
    if (!(err instanceof SetupError) || !/^timed out/.test(err.message)) throw err
    if (last && 'operation' in last)
      throw new SetupError(
        `${appLabel(ref)} still has a sync operation under way after ${seconds}s (${last.operation}): one that started before the pause completes with the sync policy it started with and can undo the pause, so the setup stops before its push`,
        `wait until it is done (kubectl -n ${ref.namespace} get application ${ref.name} -o jsonpath='{.status.operationState.phase}' no longer says Running), or stop it (argocd app terminate-op ${ref.name}); then rerun: ${rerun}`,
      )
    throw new SetupError(
      `Argo CD did not reconcile ${appLabel(ref)} within ${seconds}s of the pause (its refresh request is still there): a reconcile that started before the pause may still undo it, so the setup stops before its push`,
      `check that the Argo CD application controller runs: kubectl -n ${ref.namespace} get pods -l app.kubernetes.io/name=argocd-application-controller (then its log); once it does, rerun: ${rerun}`,
    )
  }
}

/**
 * Asks Argo CD to sync or refresh the Application at `ref` (syncTrigger says which) unless it
 * already is what `judge` waits for, and says which it asked. The wait follows.
 */
async function nudgeUnlessDone(ctx: Ctx, k: Kube, ref: KRef, judge: JudgeInput, what: string): Promise<void> {
  const now = await k.get(ref)
  if (!now || 'ready' in (await judgeApp(now, judge)).state) return
  const trigger = syncTrigger(now)
  if (!trigger) return
  await k.mergePatch(ref, trigger)
  ctx.log(`asked Argo CD to ${'operation' in trigger ? 'sync' : 'refresh'} ${what}`)
}

/** After the move: restore (or, manual, sync) the parent and wait for it at the pushed commit. */
async function settleParent(ctx: Ctx, k: Kube, a: Ancestor, rev: string, ours: Set<string>, extra?: () => Promise<string | undefined>): Promise<void> {
  const since = new Date()
  const live = await k.get(a.ref)
  if (!live) throw new SetupError(`the parent Application ${a.ref.namespace}/${a.ref.name} disappeared during the move`, `re-create it from your GitOps repo (kubectl apply -f <its file>), then rerun: npx tsx scripts/run.ts --from 7`)
  const restore = restorePatch(live)
  if (restore) {
    await k.mergePatch(a.ref, restore)
    ctx.log(`restored the automated sync of Application ${a.ref.namespace}/${a.ref.name}`)
  }
  const floor = await lastChange(ctx.repoDir, rev, sourcePaths(live))
  const judge: JudgeInput = { before: a.before ?? snapshotOf(a.live), knownOurs: ours, containsOurs: (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r), revision: rev, since }
  await nudgeUnlessDone(ctx, k, a.ref, judge, `parent Application ${a.ref.namespace}/${a.ref.name}`)
  const { warnings } = await waitForApp(ctx, k, {
    ref: a.ref,
    what: `parent Application ${a.ref.namespace}/${a.ref.name} synced at ${rev.slice(0, 7)}`,
    judge,
    extra,
    fix: `kubectl -n ${a.ref.namespace} describe application ${a.ref.name}; fix the cause named above, then rerun: npx tsx scripts/run.ts --from 7`,
  })
  await ctx.state.forgetMoveSnapshot(a.ref.name)
  for (const w of warnings) ctx.warn?.(w)
}

interface Planned {
  step: Step
  desired: KObj
  /** fields where the live object differs from the file (empty: nothing to apply) */
  drift: string[]
  /** the live object as it was before the setup changed anything (what "already broken" means) */
  before: AppSnapshot
  /** the live object read at plan time */
  live: KObj | undefined
}

/** What Argo CD's resource health does not cover: the Secrets ESO renders, the CRD being served. */
function extraCheck(ctx: Ctx, k: Kube, step: Step): (() => Promise<string | undefined>) | undefined {
  const checks = (step.needs ?? []).map((need) => needCheck(ctx, k, need))
  if (!checks.length) return undefined
  return async () => {
    for (const check of checks) {
      const waiting = await check()
      if (waiting) return waiting
    }
    return undefined
  }
}

function needCheck(ctx: Ctx, k: Kube, need: 'secrets' | 'crd'): () => Promise<string | undefined> {
  if (need === 'secrets') {
    // read and parsed once per wait, not on every evaluation
    const ours = ourExternalSecrets(ctx)
    ours.catch(() => {}) // a failed read surfaces where it is awaited, not as an unhandled rejection
    return async () => {
      for (const es of await ours) {
        const secret = await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: es.namespace, name: es.secretName })
        if (!secret) return `Secret ${es.namespace}/${es.secretName} (target of ExternalSecret ${es.name}) not created yet`
      }
      return undefined
    }
  }
  return async () => {
    try {
      await k.list(IMAGE_UPDATER_API, 'ImageUpdater', ctx.settings.argocdNamespace)
      return undefined
    } catch (err) {
      return `the ImageUpdater CRD is not served yet (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`
    }
  }
}

/** What of the file must be on the live object: labels, annotations and spec (status is Argo CD's). */
function drift(live: KObj | undefined, desired: KObj): string[] {
  if (!live) return ['(absent)']
  return differences(live, { metadata: { labels: desired.metadata.labels, annotations: desired.metadata.annotations }, spec: desired.spec })
}

/**
 * The "before" of an Application: on a resumed move (pushed by an earlier run that stopped before
 * the app's wait was over) the snapshot that run saved before its push, else the app as it is now.
 */
function beforeOf(ctx: Ctx, name: string, live: KObj | undefined, pushPending: boolean): AppSnapshot {
  const saved = pushPending ? undefined : ctx.state.moveSnapshot(name)
  if (!saved) return snapshotOf(live)
  ctx.log(`Application ${name}: judged against the snapshot saved before the push (${saved.at}), not against what an earlier run left`)
  return fromSaved(saved)
}

/** What a push that starts a move saves first (see saveMoveStart), per run. */
const moveStarts = new WeakMap<Ctx, { uids: Record<string, string>; snapshots: Record<string, SavedAppSnapshot> }>()

/**
 * Right before the push that starts the move (task 7): the uids of the objects the apps' Applications
 * will adopt and the snapshots of every Application judged, in the saved progress, so a resumed run
 * judges against them. A move pushed earlier and not judged yet keeps what its own push saved.
 * Returns the undo for a push that failed (a push killed half-way keeps them: it may have landed).
 */
export async function saveMoveStart(ctx: Ctx): Promise<() => Promise<void>> {
  const start = moveStarts.get(ctx)
  if (!start || ctx.dryRun) return async () => {}
  const uids: Record<string, string> = {}
  for (const [key, uid] of Object.entries(start.uids)) if (!ctx.state.move(key)?.pending) uids[key] = uid
  const snapshots: Record<string, SavedAppSnapshot> = {}
  for (const [name, snap] of Object.entries(start.snapshots)) snapshots[name] = ctx.state.moveSnapshot(name) ?? snap
  return ctx.state.recordMoveStart(uids, snapshots)
}

async function readDesired(ctx: Ctx, k: Kube, pushPending: boolean): Promise<Planned[]> {
  const facts = await repoFacts(ctx)
  const out: Planned[] = []
  for (const step of deploySteps(facts)) {
    const desired = withNamespace(await loadObject(ctx, step.file, step.kind), ctx.settings.argocdNamespace)
    const live = await k.get(refOf(desired))
    const before = step.kind === 'Application' ? beforeOf(ctx, desired.metadata.name, live, pushPending) : snapshotOf(live)
    // tasks 8 and 9 of this run judge the app against the same "before"
    if (step.kind === 'Application') rememberSnapshot(ctx, desired.metadata.name, before)
    out.push({ step, desired, drift: drift(live, desired), before, live })
  }
  return out
}

/** Applies (when it differs), triggers a sync when needed and waits until done at `rev`. */
async function converge(ctx: Ctx, k: Kube, p: Planned, rev: string, ours: Set<string>): Promise<void> {
  const ref = refOf(p.desired)
  const since = new Date()
  // a move an earlier run pushed and did not judge: the uids it saved before its push are "before"
  // the adopted objects are on the app's cluster (not always Argo CD's)
  const ak = p.step.app ? await appKube(ctx, p.step.app) : k
  const before = p.step.adopts ? await Promise.all(p.step.adopts.map((r) => adoptedBefore(ctx, ak, r))) : []
  const live = await k.get(ref)
  if (drift(live, p.desired).length) {
    await k.apply(p.desired, { force: true })
    ctx.log(`applied ${label(p.desired)} (server-side)`)
  }
  if (p.step.kind !== 'Application') return
  const floor = await lastChange(ctx.repoDir, rev, sourcePaths(p.desired))
  const judge: JudgeInput = { before: p.before, knownOurs: ours, containsOurs: (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r), revision: rev, since }
  await nudgeUnlessDone(ctx, k, ref, judge, label(p.desired))
  const { warnings } = await waitForApp(ctx, k, {
    ref,
    what: `${label(p.desired)} synced and healthy at ${rev.slice(0, 7)}`,
    judge,
    extra: extraCheck(ctx, k, p.step),
    fix:
      p.step.needs?.includes('crd')
        ? // the chart app: the usual cause is a chart version argo-helm does not have, a setting that
          // tasks 5 and 6 render from, so the rerun must start before task 7
          `look at the app in the Argo CD UI (or kubectl -n ${ref.namespace} describe application ${ref.name}); for a chart version argo-helm does not have, set CHART_VERSION in .env (1.2.4 is the one this setup was checked against); then rerun: npx tsx scripts/run.ts`
        : `look at the app in the Argo CD UI (or kubectl -n ${ref.namespace} describe application ${ref.name}), fix the cause named above, then rerun: npx tsx scripts/run.ts --from 7`,
  })
  for (const w of warnings) {
    ctx.log(`warning: ${w}`)
    ctx.warn?.(w)
  }
  await ctx.state.forgetMoveSnapshot(p.desired.metadata.name)
  ctx.log(`${label(p.desired)} is synced and healthy at ${rev.slice(0, 7)}${warnings.length ? ` (${warnings.length} resource(s) broken before the setup, left alone)` : ''}`)
  if (p.step.adopts) await checkAdoption(ctx, ak, p.step.adopts, p.step.app?.name ?? '', before)
  if (p.step.app) await ctx.state.recordOnboarded(p.desired.metadata.name)
}

/** An object to be adopted as it was before the move: the uid saved before the push when the move is pending, else as it is now. */
async function adoptedBefore(ctx: Ctx, k: Kube, ref: KRef): Promise<KObj | undefined> {
  const saved = ctx.state.move(moveKey(ref))
  const live = await k.get(ref)
  if (!saved?.pending) return live
  return { ...(live ?? { apiVersion: ref.apiVersion, kind: ref.kind }), metadata: { ...(live?.metadata ?? { name: ref.name, namespace: ref.namespace }), uid: saved.before } } as KObj
}

async function checkAdoption(ctx: Ctx, k: Kube, refs: KRef[], app: string, before: (KObj | undefined)[]): Promise<void> {
  for (let i = 0; i < refs.length; i++) {
    const was = before[i]
    if (!was) continue
    const now = await k.get(refs[i])
    // task 8 judges the move by this record (a later re-creation is not the move's doing)
    await ctx.state.recordMove(moveKey(refs[i]), String(was.metadata.uid), now?.metadata.uid)
    if (!now || now.metadata.uid !== was.metadata.uid)
      throw new SetupError(
        `${refs[i].kind} ${refs[i].namespace ?? ''}/${refs[i].name} was ${now ? 'recreated (new uid)' : 'deleted'} while ${app} took it over`,
        'check that personal-services no longer lists the app and that its auto-prune was paused before the push; the app is running again now',
      )
    ctx.log(`${refs[i].kind} ${refs[i].namespace}/${refs[i].name} kept its uid ${was.metadata.uid}`)
  }
}

/**
 * The cluster changes task 7 still needs, in order. `pushPending`: task 7 is about to push, so every
 * Application must reach the new commit (default: inferred from the run and from origin).
 */
export async function planDeploy(ctx: Ctx, opts: { pushPending?: boolean; withPrePush?: boolean } = {}): Promise<Change[]> {
  const k = await kube(ctx)
  const pushPending = opts.pushPending ?? inferPushPending(ctx)
  const planned = await readDesired(ctx, k, pushPending)
  const head = await targetRevision(ctx)
  // every Application's floor from one git log (lastChange below then answers from memory)
  await lastChanges(ctx.repoDir, head, planned.filter((p) => p.step.kind === 'Application').map((p) => sourcePaths(p.desired)))
  // task 7 plans the pause itself, ahead of its commit and push; callers that deploy alone get it here
  const changes: Change[] = opts.withPrePush === false ? [] : [...(await planPrePush(ctx, { pushPending }))]
  const ours = await knownOurs(ctx)
  // the home's change is held until the parents are known (see Step.home)
  let homeChange: { p: Planned; change: Change } | undefined
  for (const p of planned) {
    let pending = p.drift.length > 0 || pushPending
    let why = !p.live ? 'create (server-side apply; not in the cluster yet)' : p.drift.length ? `apply (server-side; differs at ${p.drift.slice(0, 3).join(', ')})` : ''
    if (!pending && p.step.kind === 'Application') {
      const floor = await lastChange(ctx.repoDir, head, sourcePaths(p.desired))
      // judged against itself: only what is ours (or regressing) can make it pending
      const { state } = await judgeApp(p.live, { before: p.before, knownOurs: ours, containsOurs: (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r), revision: head })
      if (!('ready' in state)) {
        pending = true
        why = `sync (now: ${'waiting' in state ? state.waiting : state.failed})`
      }
    }
    if (!pending) continue
    const waitNote = p.step.kind === 'Application' ? ' and wait until Synced and Healthy at the pushed commit' : ''
    const change: Change = {
      summary: `${why || 'sync'} ${label(p.desired)}${waitNote}`,
      async apply() {
        await converge(ctx, k, p, await targetRevision(ctx), ours)
      },
    }
    if (p.step.home) homeChange = { p, change }
    else changes.push(change)
  }
  // app-of-apps: the parents of our Applications (tracking label or annotation; a list only when
  // something is ahead), restored or synced once the children are done, the closest one first
  const childChanges = changes.length > 0 || homeChange !== undefined
  const lives = planned.filter((p) => p.step.kind === 'Application' && p.live && !p.step.home).map((p) => p.live!)
  const ancestors = await findAncestors(k, lives, ctx.settings.argocdNamespace, { deep: childChanges })
  const home = planned.find((p) => p.step.home)
  const homeParent = home && ancestors.find((a) => a.ref.name === home.desired.metadata.name)
  if (homeChange && !homeParent) changes.push(homeChange.change)
  // for a parent, our Applications are resources of ours whatever its snapshot says
  const oursAndChildren = new Set([...ours, ...planned.filter((p) => p.step.kind === 'Application').map((p) => resourceKey({ group: 'argoproj.io', kind: 'Application', namespace: p.desired.metadata.namespace, name: p.desired.metadata.name }))])
  if (pushPending) {
    const uids: Record<string, string> = {}
    for (const p of planned) for (const r of p.step.adopts ?? []) {
      const uid = (await (p.step.app ? await appKube(ctx, p.step.app) : k).get(r))?.metadata.uid
      if (uid) uids[moveKey(r)] = String(uid)
    }
    const snapshots: Record<string, SavedAppSnapshot> = {}
    for (const p of planned) if (p.step.kind === 'Application') snapshots[p.desired.metadata.name] = savedSnapshot(p.before)
    for (const a of ancestors) snapshots[a.ref.name] = savedSnapshot(snapshotOf(a.live))
    moveStarts.set(ctx, { uids, snapshots })
  }
  for (const a of ancestors) a.before = beforeOf(ctx, a.ref.name, a.live, pushPending)
  for (const a of [...ancestors].reverse()) {
    const restore = a.pausedBySetup || (a.automated && pushPending)
    if (!restore && (a.automated || !childChanges)) continue
    changes.push({
      summary: restore
        ? `restore the automated sync of ${describeAncestor(a)} and wait until it is synced at the pushed commit`
        : `sync ${describeAncestor(a)} once the children are done: ${strategyNote(ancestors)}`,
      async apply() {
        await settleParent(ctx, k, a, await targetRevision(ctx), oursAndChildren, a === homeParent ? extraCheck(ctx, k, home!.step) : undefined)
      },
    })
  }
  return changes
}

