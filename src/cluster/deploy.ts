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
import { appConverged, differences, sourcePaths, syncTrigger, trackedBy } from './argo.ts'
import { kube, type KObj, type KRef, type Kube } from './kube.ts'
import { containsCommit, lastChange, setupRevision } from './origin.ts'
import { loadObject, withNamespace } from './repo-objects.ts'

interface Step {
  file: string
  kind: 'AppProject' | 'Application'
  /** the Application takes over these objects of the app (Namespace included): check their uids */
  adopts?: KRef[]
  /** the app whose Application this is */
  app?: string
}

export function deploySteps(ctx: Ctx, facts: { chartApplicationFile: string; apps: AppSpec[] }): Step[] {
  const s = ctx.settings
  return [
    { file: s.projectFile, kind: 'AppProject' },
    { file: s.vaultEsoFile, kind: 'Application' },
    { file: facts.chartApplicationFile, kind: 'Application' },
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


/**
 * The pause of personal-services' auto-prune, needed while its live spec still runs the app and
 * prune is on. Call it before the push (task 7); planDeploy calls it too (then it is a no-op).
 */
export async function planPrePush(ctx: Ctx): Promise<Change[]> {
  const k = await kube(ctx)
  const desired = withNamespace(await loadObject(ctx, ctx.settings.personalServicesFile, 'Application'), ctx.settings.argocdNamespace)
  const live = await k.get(refOf(desired))
  if (!live || live.spec?.syncPolicy?.automated?.prune !== true) return []
  const include = String(live.spec?.source?.directory?.include ?? '')
  const { apps } = await repoFacts(ctx)
  let stillRunsApp = false
  for (const app of apps) {
    const tracked = trackedBy(await k.get(app.workload))
    // a pattern include (`*.yaml`) cannot be read here; the workload's tracking label says who runs it
    if (tracked === desired.metadata.name || include.includes(`${app.name}.yaml`)) stillRunsApp = true
  }
  if (!stillRunsApp) return []
  const names = apps.map((a) => a.name).join(', ')
  return [
    {
      summary: `pause auto-prune of ${label(desired)} until ${names} ${apps.length > 1 ? 'have' : 'has'} adopted ${apps.length > 1 ? 'their' : 'its'} objects`,
      async apply() {
        await k.mergePatch(refOf(desired), { spec: { syncPolicy: { automated: { prune: false } } } })
        ctx.log(`paused auto-prune of ${label(desired)}`)
      },
    },
  ]
}

interface Planned {
  step: Step
  desired: KObj
  /** fields where the live object differs from the file (empty: nothing to apply) */
  drift: string[]
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
    out.push({ step, desired, drift: drift(live, desired) })
  }
  return out
}

/** Applies (when it differs), triggers a sync when needed and waits until converged at `rev`. */
async function converge(ctx: Ctx, k: Kube, p: Planned, rev: string): Promise<void> {
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
  const ours = (r: string) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r)
  const now = await k.get(ref)
  const state = await appConverged(now, ours)
  if (!('ready' in state) && now) {
    const trigger = syncTrigger(now)
    if (trigger) {
      await k.mergePatch(ref, trigger)
      ctx.log(`asked Argo CD to ${'operation' in trigger ? 'sync' : 'refresh'} ${label(p.desired)}`)
    }
  }
  ctx.log(`waiting for ${label(p.desired)} to be Synced and Healthy at ${rev.slice(0, 7)}`)
  await k.waitFor(ref, (app) => appConverged(app, ours, since), {
    timeoutMs: Number(ctx.settings.syncTimeoutSeconds) * 1000,
    what: `${label(p.desired)} Synced and Healthy at ${rev.slice(0, 7)}`,
    fix: `look at the app in the Argo CD UI (or kubectl -n ${ref.namespace} describe application ${ref.name}), fix the cause, then rerun: npx tsx scripts/run.ts --from 7`,
  })
  ctx.log(`${label(p.desired)} is Synced and Healthy`)
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
  const pushPending = opts.pushPending ?? (ctx.pushedRevision === undefined && ctx.touchedPaths.size > 0)
  // task 7 plans the pause itself, ahead of its commit and push; callers that deploy alone get it here
  const changes: Change[] = opts.withPrePush === false ? [] : [...(await planPrePush(ctx))]
  for (const p of planned) {
    let pending = p.drift.length > 0 || pushPending
    let why = p.drift.length ? `apply (server-side; differs at ${p.drift.slice(0, 3).join(', ')})` : ''
    if (!pending && p.step.kind === 'Application') {
      const floor = await lastChange(ctx.repoDir, head, sourcePaths(p.desired))
      const state = await appConverged(await k.get(refOf(p.desired)), (r) => containsCommit(ctx.repoDir, ctx.settings.branch, floor, r))
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
        await converge(ctx, k, p, await targetRevision(ctx))
      },
    })
  }
  return changes
}

