// An app the plan's layout does not hold (no file in the Directory Application the settings name,
// no folder the setup made), found the way Argo CD renders it: the workload of that name (or running
// APP_<NAME>_IMAGE) in whatever Application renders it, from the repo model (src/repo-model/).
// What it finds decides the least invasive way Image Updater can manage the image:
// - rendered by a Kustomize or Helm Application (its own or a big tree): no move; the ImageUpdater
//   selects that Application and Image Updater writes back where it writes for it;
// - rendered by a Directory Application: the app has to move out (Image Updater skips Directory
//   apps), which the setup does for the Directory Application the settings name: the fix says which;
// - nowhere, or in several Applications: refused with every candidate, its Application and file.
import type { Ctx } from './context.ts'
import { SetupError } from './errors.ts'
import { parseImage, readImageRef, sameImage, type ImageRef } from './render/image.ts'
import type { KustomizeImage, ModelApp, ModelSource, RenderedObject, RepoModel } from './repo-model/index.ts'

export const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const

export interface Candidate {
  app: ModelApp
  object: RenderedObject
}

/** How an app of the run renders when the setup leaves it where it is. */
export interface InPlace {
  /** the Application that renders the workload (Image Updater updates it) */
  application: ModelApp
  /** where that Application's YAML is (a file of its own, a parent's source, an ApplicationSet) */
  applicationFile?: string
  source: ModelSource
  /** the workloads of that Application running the image (the one named first) */
  workloads: RenderedObject[]
  /** the kustomize `images:` entry that sets the image today (a pin the owner wrote), if any */
  kustomizeImage?: KustomizeImage
  /** the kustomization Image Updater writes back to: the app's own (`kustomization`) or a nested one */
  writeBackTarget?: string
  /** one line each: why no move, and what else the setup noticed */
  why: string[]
}

const imagesOf = (o: RenderedObject): string[] => {
  const spec = o.json.spec?.template?.spec ?? {}
  return [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])].map((c: { image?: unknown }) => String(c?.image ?? '')).filter(Boolean)
}

/** Workloads the live Applications render (those left out of every sync, like archived ones, aside). */
function workloads(model: RepoModel): Candidate[] {
  const out: Candidate[] = []
  for (const app of model.applications) {
    if (app.leftOutBy) continue
    for (const object of app.render.objects) if ((WORKLOADS as readonly string[]).includes(object.kind)) out.push({ app, object })
  }
  return out
}

const describe = (c: Candidate) =>
  `${c.object.kind} ${c.object.namespace ? `${c.object.namespace}/` : ''}${c.object.name} in Application ${c.app.name} (${c.object.file}:${c.object.line}, ${c.app.sources[c.object.source]?.type ?? '?'}, cluster ${c.app.destination.cluster?.name ?? c.app.destination.server ?? c.app.destination.name ?? '?'})`

/**
 * The workloads the app name (or its image setting) stands for, all in one Application (none: an
 * empty list, the caller says what it found instead). Several Applications are refused with each one.
 */
export function findCandidates(model: RepoModel, name: string, o: { image?: string; imageSetting: string }): Candidate[] {
  const all = workloads(model)
  const wanted = o.image === undefined ? undefined : parseImage(o.image, o.imageSetting)
  const runs = (c: Candidate) => wanted === undefined || imagesOf(c.object).some((i) => sameImage(i, wanted))
  let found = all.filter((c) => c.object.name === name && runs(c))
  // APP_<NAME>_IMAGE alone: the workloads running that image, whatever their name
  if (found.length === 0 && wanted !== undefined) found = all.filter(runs)
  const apps = [...new Set(found.map((c) => c.app))]
  if (apps.length > 1) {
    const images = [...new Set(found.flatMap((c) => imagesOf(c.object).map((i) => readImageRef(i)?.name ?? i)))]
    throw new SetupError(
      `${name} is rendered by ${apps.length} Applications: ${found.map(describe).join('; ')}`,
      images.length > 1 && wanted === undefined
        ? `say which one by its image: set ${o.imageSetting} to one of ${images.join(', ')} (e.g. ${o.imageSetting}=${images[0]})`
        : `the same image runs in each: leave ${name} to one Application (remove it from the others' sources), then rerun`,
    )
  }
  return found
}

/** Edit distance (insertions, deletions, substitutions): a typo is one or two. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}

/** Workloads of the repo whose name is close to `name` (one contains the other, or a typo away), for "did you mean". */
export function closeWorkloads(model: RepoModel, name: string): string[] {
  return workloads(model)
    .filter((c) => c.object.name !== name && (c.object.name.includes(name) || name.includes(c.object.name) || distance(c.object.name, name) <= 2))
    .map(describe)
}

/** The source of the app that renders the object. */
export function sourceOf(c: Candidate): ModelSource {
  return c.app.sources[c.object.source]!
}

/** The kustomize `images:` entry (in any kustomization the app goes through) that names the image. */
export function kustomizeImageFor(app: ModelApp, image: ImageRef): KustomizeImage | undefined {
  for (const k of app.render.kustomizations) for (const i of k.images) if (sameImage(i.newName ?? i.name, image) || sameImage(i.name, image)) return i
  return undefined
}

/** The in-place plan for a Kustomize or Helm Application: what Image Updater updates and where it writes back. */
export function inPlace(found: Candidate[], image: ImageRef, name: string): InPlace {
  const first = found.find((c) => c.object.name === name) ?? found[0]!
  const app = first.app
  const source = sourceOf(first)
  const why = [`no move: ${name} already renders through the ${source.type} Application ${app.name} (${source.typeWhy}); Image Updater updates that Application`]
  const sharing = app.render.objects.filter((o) => (WORKLOADS as readonly string[]).includes(o.kind) && imagesOf(o).some((i) => sameImage(i, image)))
  if (sharing.length > 1) why.push(`${sharing.length} workloads of ${app.name} run ${image.name} (${sharing.map((o) => `${o.kind} ${o.name} in ${o.file}`).join(', ')}): one update changes them all`)
  const pin = source.type === 'Kustomize' ? kustomizeImageFor(app, image) : undefined
  let writeBackTarget: string | undefined
  if (pin) {
    const dir = pin.file.slice(0, pin.file.lastIndexOf('/'))
    const rel = source.path && dir.startsWith(source.path) ? dir.slice(source.path.length).replace(/^\//, '') : dir
    writeBackTarget = rel ? `kustomization:${rel}` : 'kustomization'
    why.push(`${pin.file}:${pin.line} sets the image (${pin.name}${pin.newTag ? `:${pin.newTag}` : ''}${pin.digest ? `@${pin.digest.slice(0, 19)}...` : ''}): Image Updater writes new versions into that images: entry, starting from it`)
  } else if (source.type === 'Kustomize') why.push(`Image Updater writes new versions to ${source.path ? `${source.path}/` : ''}.argocd-source-${app.name}.yaml (its kustomize images override)`)
  else why.push(`Image Updater writes new versions to ${source.path ? `${source.path}/` : ''}.argocd-source-${app.name}.yaml (its Helm parameter override)`)
  return { application: app, ...(app.where ? { applicationFile: app.where.file } : {}), source, workloads: sharing.length ? sharing : [first.object], ...(pin ? { kustomizeImage: pin } : {}), ...(writeBackTarget ? { writeBackTarget } : {}), why }
}

/** The refusal for an app only a Directory Application renders, other than the one the settings name: the settings that move it. */
export function directoryRefusal(c: Candidate, name: string, ctx: Pick<Ctx, 'settings'>): SetupError {
  const source = sourceOf(c)
  const file = c.app.where?.file
  const inFolder = source.path !== undefined && c.object.file === `${source.path ? `${source.path}/` : ''}${c.object.file.slice(c.object.file.lastIndexOf('/') + 1)}`
  const base = c.object.file.slice(c.object.file.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '')
  const settings = [`PERSONAL_SERVICES_APP_FILE=${file}`, `MANIFESTS_DIR=${source.path}`, ...(base !== name ? [] : [])]
  return new SetupError(
    `${name} renders through the Directory Application ${c.app.name} (${c.object.file}:${c.object.line}), which Image Updater skips; the setup moves an app out of the Directory Application PERSONAL_SERVICES_APP_FILE names (now ${ctx.settings.personalServicesFile})`,
    file && inFolder && base === name
      ? `set ${settings.join(' and ')} in .env, then rerun: ${name} then moves into its own Kustomize Application`
      : `move ${c.object.file} into a Kustomize folder of its own with an Application (or name the file ${name}.yaml directly in ${source.path}/ and set PERSONAL_SERVICES_APP_FILE=${file ?? '<its Application file>'} and MANIFESTS_DIR=${source.path}), then rerun`,
  )
}
