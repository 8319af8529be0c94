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
// personal-services may notice the pushed commit (which deletes it-tools.yaml) on its own at any
// moment, so its auto-prune is paused *before the push* (planPrePush) and restored in step 5.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import type { AppSpec } from '../apps.ts'
import { repoFacts } from '../repo-facts.ts'
import { moveKey } from '../state.ts'
import type { Change } from '../task.ts'
import { judgeApp, rememberSnapshot, resourceKey, snapshotOf, type AppSnapshot, type JudgeInput } from './app-snapshot.ts'
import { differences, sourcePaths, syncTrigger, trackedBy } from './argo.ts'
import { kube, type KObj, type KRef, type Kube } from './kube.ts'
import { containsCommit, lastChange, lastChanges, setupRevision } from './origin.ts'
import { forgetRunReads } from '../run-reads.ts'
import { prunePutBack } from './prune-pause.ts'
import { loadObject, withNamespace } from './repo-objects.ts'
import { describeAncestor, findAncestors, pausePatch, restorePatch, strategyNote, type Ancestor } from './app-of-apps.ts'
import { knownOurs, ourExternalSecrets } from './our-resources.ts'
import { waitForApp } from './wait-app.ts'

interface Step {
  file: string
  kind: 'AppProject' | 'Application'
  /** the Application takes over these objects of the app (Namespace included): check their uids */
  adopts?: KRef[]
  /** the app whose Application this is */
  app?: string
  /** done also needs: the target Secrets of our ExternalSecrets ('secrets'), the ImageUpdater CRD served ('crd') */
  needs?: 'secrets' | 'crd'
}

const IMAGE_UPDATER_API = 'argocd-image-updater.argoproj.io/v1alpha1'

export function deploySteps(ctx: Ctx, facts: { chartApplicationFile: string; apps: AppSpec[] }): Step[] {
  const s = ctx.settings
  return [
    { file: s.projectFile, kind: 'AppProject' },
    { file: s.vaultEsoFile, kind: 'Application', needs: 'secrets' },
    { file: facts.chartApplicationFile, kind: 'Application', needs: 'crd' },
    ...facts.apps.map((app): Step => ({ file: app.applicationFile, kind: 'Application', adopts: app.objects, app: app.name })),
    { file: s.personalServicesFile, kind: 'Application' },
  ]
}

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
  for (const step of deploySteps(ctx, facts).filter((s) => s.kind === 'Application')) {
    const desired = withNamespace(await loadObject(ctx, step.file, step.kind), ctx.settings.argocdNamespace)
    const live = await k.get(refOf(desired))
    if (live) lives.push(live)
  }
  return lives
}

/**
 * The changes needed before the push (task 7): under an app-of-apps parent with automated sync,
 * pause it (see app-of-apps.ts); and pause personal-services' auto-prune while its live spec still
 * runs the app. planDeploy calls it too when deploying alone (then it is a no-op).
 */
export async function planPrePush(ctx: Ctx, opts: { pushPending?: boolean } = {}): Promise<Change[]> {
  const k = await kube(ctx)
  const pushPending = opts.pushPending ?? inferPushPending(ctx)
  const desired = withNamespace(await loadObject(ctx, ctx.settings.personalServicesFile, 'Application'), ctx.settings.argocdNamespace)
  const live = await k.get(refOf(desired))
  const stillRunsApp = live ? await runsApp(ctx, k, desired, live) : false
  // a converged rerun stops here: nothing to push, nothing to move
  if (!stillRunsApp && !pushPending) return []
  const ancestors = await findAncestors(k, await ourAppLives(ctx, k), ctx.settings.argocdNamespace, { deep: true })
  const prunePause = stillRunsApp ? await prunePauseChange(ctx, k, desired, ancestors.some((a) => a.automated)) : undefined
  const pauses: Change[] = ancestors
    .filter((a) => a.automated && !a.pausedBySetup)
    .map((a) => ({
      summary: `pause the automated sync of ${describeAncestor(a)} until the move is done: ${strategyNote(ancestors)}`,
      async apply() {
        await k.mergePatch(a.ref, pausePatch(a))
        ctx.log(`paused the automated sync of Application ${a.ref.namespace}/${a.ref.name}`)
      },
    }))
  return [...pauses, ...(prunePause ? [prunePause] : [])]
}

/** personal-services prunes and its live spec still runs the app: the move is ahead. */
async function runsApp(ctx: Ctx, k: Kube, desired: KObj, live: KObj): Promise<boolean> {
  if (live.spec?.syncPolicy?.automated?.prune !== true) return false
  const include = String(live.spec?.source?.directory?.include ?? '')
  const { apps } = await repoFacts(ctx)
  for (const app of apps) {
    const tracked = trackedBy(await k.get(app.workload))
    // a pattern include (`*.yaml`) cannot be read here; the workload's tracking label says who runs it
    if (tracked === desired.metadata.name || include.includes(`${app.name}.yaml`)) return true
  }
  return false
}

/** How long the pause is watched under a parent whose reconcile may still be under way. */
const PAUSE_GUARD_MS = 2000

async function prunePauseChange(ctx: Ctx, k: Kube, desired: KObj, underAutomatedParent: boolean): Promise<Change> {
  const ref = refOf(desired)
  const pause = () => k.mergePatch(ref, { spec: { syncPolicy: { automated: { prune: false } } } })
  const { apps } = await repoFacts(ctx)
  const names = apps.map((a) => a.name).join(', ')
  return {
    summary: `pause auto-prune of ${label(desired)} until ${names} ${apps.length > 1 ? 'have' : 'has'} adopted ${apps.length > 1 ? 'their' : 'its'} objects`,
    async apply() {
      // remembered first: a stop from here on puts prune back where safe, or says how (src/stop.ts)
      ctx.stop?.remember(`prune:${desired.metadata.name}`, prunePutBack(ctx, k, ref))
      await pause()
      // A parent's reconcile that started before its own pause can still self-heal this patch away:
      // watch it a moment and pause again, so the push never meets a pruning personal-services.
      if (underAutomatedParent) {
        const until = Date.now() + PAUSE_GUARD_MS
        while (Date.now() < until) {
          await new Promise((r) => setTimeout(r, 200))
          // a poll wants what the cluster has now, not the read kept for the run (src/run-reads.ts)
          forgetRunReads(ctx)
          if ((await k.get(ref))?.spec?.syncPolicy?.automated?.prune !== false) {
            await pause()
            ctx.log(`paused auto-prune of ${label(desired)} again (its parent reverted it before its own pause took effect)`)
          }
        }
      }
      ctx.log(`paused auto-prune of ${label(desired)}`)
    },
  }
}

/** After the move: restore (or, manual, sync) the parent and wait for it at the pushed commit. */
async function settleParent(ctx: Ctx, k: Kube, a: Ancestor, rev: string, ours: Set<string>): Promise<void> {
  const since = new Date()
  const live = await k.get(a.ref)
  if (!live) throw new SetupError(`the parent Application ${a.ref.namespace}/${a.ref.name} disappeared during the move`, `re-create it from your GitOps repo (kubectl apply -f <its file>), then rerun: npx tsx scripts/run.ts --from 7`)
  const restore = restorePatch(live)
  if (restore) {
    await k.mergePatch(a.ref, restore)
    ctx.log(`restored the automated sync of Application ${a.ref.namespace}/${a.ref.name}`)
  }
  const floor = await lastChange(ctx.repoDir, rev, sourcePaths(live))
  const judge: JudgeInput = { before: snapshotOf(a.live), knownOurs: ours, containsOurs: (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r), revision: rev, since }
  const now = (await k.get(a.ref)) ?? live
  if (!('ready' in (await judgeApp(now, judge)).state)) {
    const trigger = syncTrigger(now)
    if (trigger) await k.mergePatch(a.ref, trigger)
  }
  const { warnings } = await waitForApp(ctx, k, {
    ref: a.ref,
    what: `parent Application ${a.ref.namespace}/${a.ref.name} synced at ${rev.slice(0, 7)}`,
    judge,
    fix: `kubectl -n ${a.ref.namespace} describe application ${a.ref.name}; fix the cause named above, then rerun: npx tsx scripts/run.ts --from 7`,
  })
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
  if (step.needs === 'secrets')
    return async () => {
      for (const es of await ourExternalSecrets(ctx)) {
        const secret = await k.get({ apiVersion: 'v1', kind: 'Secret', namespace: es.namespace, name: es.secretName })
        if (!secret) return `Secret ${es.namespace}/${es.secretName} (target of ExternalSecret ${es.name}) not created yet`
      }
      return undefined
    }
  if (step.needs === 'crd')
    return async () => {
      try {
        await k.list(IMAGE_UPDATER_API, 'ImageUpdater', ctx.settings.argocdNamespace)
        return undefined
      } catch (err) {
        return `the ImageUpdater CRD is not served yet (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`
      }
    }
  return undefined
}

/** What of the file must be on the live object: labels, annotations and spec (status is Argo CD's). */
function drift(live: KObj | undefined, desired: KObj): string[] {
  if (!live) return ['(absent)']
  return differences(live, { metadata: { labels: desired.metadata.labels, annotations: desired.metadata.annotations }, spec: desired.spec })
}

async function readDesired(ctx: Ctx, k: Kube): Promise<Planned[]> {
  const facts = await repoFacts(ctx)
  const out: Planned[] = []
  for (const step of deploySteps(ctx, facts)) {
    const desired = withNamespace(await loadObject(ctx, step.file, step.kind), ctx.settings.argocdNamespace)
    const live = await k.get(refOf(desired))
    const before = snapshotOf(live)
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
  const before = p.step.adopts ? await Promise.all(p.step.adopts.map((r) => k.get(r))) : []
  const live = await k.get(ref)
  if (drift(live, p.desired).length) {
    await k.apply(p.desired, { force: true })
    ctx.log(`applied ${label(p.desired)} (server-side)`)
  }
  if (p.step.kind !== 'Application') return
  const floor = await lastChange(ctx.repoDir, rev, sourcePaths(p.desired))
  const judge: JudgeInput = { before: p.before, knownOurs: ours, containsOurs: (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r), revision: rev, since }
  const now = await k.get(ref)
  if (!('ready' in (await judgeApp(now, judge)).state) && now) {
    const trigger = syncTrigger(now)
    if (trigger) {
      await k.mergePatch(ref, trigger)
      ctx.log(`asked Argo CD to ${'operation' in trigger ? 'sync' : 'refresh'} ${label(p.desired)}`)
    }
  }
  const { warnings } = await waitForApp(ctx, k, {
    ref,
    what: `${label(p.desired)} synced and healthy at ${rev.slice(0, 7)}`,
    judge,
    extra: extraCheck(ctx, k, p.step),
    fix: `look at the app in the Argo CD UI (or kubectl -n ${ref.namespace} describe application ${ref.name}), fix the cause named above, then rerun: npx tsx scripts/run.ts --from 7`,
  })
  for (const w of warnings) {
    ctx.log(`warning: ${w}`)
    ctx.warn?.(w)
  }
  ctx.log(`${label(p.desired)} is synced and healthy at ${rev.slice(0, 7)}${warnings.length ? ` (${warnings.length} resource(s) broken before the setup, left alone)` : ''}`)
  if (p.step.adopts) await checkAdoption(ctx, k, p.step.adopts, p.step.app ?? '', before)
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
  const planned = await readDesired(ctx, k)
  const head = await targetRevision(ctx)
  // every Application's floor from one git log (lastChange below then answers from memory)
  await lastChanges(ctx.repoDir, head, planned.filter((p) => p.step.kind === 'Application').map((p) => sourcePaths(p.desired)))
  const pushPending = opts.pushPending ?? inferPushPending(ctx)
  // task 7 plans the pause itself, ahead of its commit and push; callers that deploy alone get it here
  const changes: Change[] = opts.withPrePush === false ? [] : [...(await planPrePush(ctx, { pushPending }))]
  const ours = await knownOurs(ctx)
  for (const p of planned) {
    let pending = p.drift.length > 0 || pushPending
    let why = p.drift.length ? `apply (server-side; differs at ${p.drift.slice(0, 3).join(', ')})` : ''
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
    changes.push({
      summary: `${why || 'sync'} ${label(p.desired)}${waitNote}`,
      async apply() {
        await converge(ctx, k, p, await targetRevision(ctx), ours)
      },
    })
  }
  // app-of-apps: the parents of our Applications (tracking label or annotation; a list only when
  // something is ahead), restored or synced once the children are done, the closest one first
  const childChanges = changes.length > 0
  const lives = planned.filter((p) => p.step.kind === 'Application' && p.live).map((p) => p.live!)
  const ancestors = await findAncestors(k, lives, ctx.settings.argocdNamespace, { deep: childChanges })
  // for a parent, our Applications are resources of ours whatever its snapshot says
  const oursAndChildren = new Set([...ours, ...planned.filter((p) => p.step.kind === 'Application').map((p) => resourceKey({ group: 'argoproj.io', kind: 'Application', namespace: p.desired.metadata.namespace, name: p.desired.metadata.name }))])
  for (const a of [...ancestors].reverse()) {
    const restore = a.pausedBySetup || (a.automated && pushPending)
    if (!restore && (a.automated || !childChanges)) continue
    changes.push({
      summary: restore
        ? `restore the automated sync of ${describeAncestor(a)} and wait until it is synced at the pushed commit`
        : `sync ${describeAncestor(a)} once the children are done: ${strategyNote(ancestors)}`,
      async apply() {
        await settleParent(ctx, k, a, await targetRevision(ctx), oursAndChildren)
      },
    })
  }
  return changes
}

