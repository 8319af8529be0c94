// Where the ImageUpdater of an app that stays where it is goes. Image Updater runs where Argo CD
// runs and reads ImageUpdaters in Argo CD's namespace only, so the file must be synced by an
// Application whose destination is Argo CD's cluster and namespace, whatever cluster the app runs on
// (an ImageUpdater in the app's own Kustomize tree would land on the app's cluster, in the app's
// namespace, and select nothing). In order:
// 1. a folder an in-cluster Application already syncs into that namespace (a root app-of-apps over
//    argocd/, say): the file goes there, in a subfolder when the app recurses;
// 2. else a folder of their own, synced by Image Updater's own chart Application (a third source,
//    task 5), which already targets that cluster and namespace.
import type { Ctx } from './context.ts'
import { readSelection, selects } from './include.ts'
import { readRepoFile } from './files.ts'
import type { ModelApp, RepoModel } from './repo-model/index.ts'

export interface UpdaterHome {
  /** the folder (repo-relative) */
  dir: string
  /** the start of each file's name: '' in a folder of ImageUpdaters only, `image-updater-` among other files */
  prefix: string
  /** the Application that syncs it, and how */
  syncedBy: string
  /** that Application's file (absent when it is the chart Application, whose file task 5 writes) */
  syncedByFile?: string
  /** true: the chart Application syncs the folder (task 5 gives it the source) */
  viaChart: boolean
  why: string
}

/** The file of an app's ImageUpdater in the home. */
export function updaterFile(home: UpdaterHome, app: string): string {
  return `${home.dir === '.' ? '' : `${home.dir}/`}${home.prefix}${app}.yaml`
}

/** A folder Image Updater's ImageUpdaters can live in, synced into Argo CD's namespace on its cluster. */
export async function updaterHome(ctx: Pick<Ctx, 'settings' | 'repoDir' | 'overlay'>, model: RepoModel, chartApplication: string): Promise<UpdaterHome> {
  const ns = ctx.settings.argocdNamespace
  // an ApplicationSet's app is left out: task 7 applies and waits for the home's Application from its file
  const candidates = model.applications.filter((a) => a.name !== chartApplication && !a.leftOutBy && a.origin.by !== 'appset' && a.destination.cluster?.inCluster && a.destination.namespace === ns)
  for (const app of candidates) {
    const home = await directoryHome(ctx, app)
    if (home) return home
  }
  const dir = `${ctx.settings.valuesDir.replace(/\/?[^/]+$/, '') || '.'}/image-updaters`.replace(/^\.\//, '')
  return {
    dir,
    prefix: '',
    syncedBy: chartApplication,
    viaChart: true,
    why: `no Application of Argo CD's cluster syncs a folder into ${ns}: ${dir}/ is a folder of their own, synced by the ${chartApplication} Application (which runs Image Updater there)`,
  }
}

/** The app's Directory source as a home: a new file in it that its include/exclude/recurse selects. */
async function directoryHome(ctx: Pick<Ctx, 'repoDir' | 'overlay'>, app: ModelApp): Promise<UpdaterHome | undefined> {
  const source = app.sources.find((s) => s.thisRepo && s.type === 'Directory' && s.path !== undefined)
  if (!source || !app.where) return undefined
  const sel = { include: source.directory?.include, exclude: source.directory?.exclude, recurse: source.directory?.recurse ?? false, line: 0 }
  const sub = sel.recurse ? 'image-updaters/probe.yaml' : 'image-updater-probe.yaml'
  // only where a new file is selected as it is (an include list would need editing: the next candidate)
  if (!selects(sel, sub)) return undefined
  // an Application read from a file: its include as written must be the one the model read
  const text = await readRepoFile(ctx, app.where.file)
  if (text !== null && app.origin.by === 'file') {
    try {
      readSelection(text, app.where.file)
    } catch {
      return undefined
    }
  }
  const base = source.path ? `${source.path}/` : ''
  const dir = sel.recurse ? `${base}image-updaters` : source.path || '.'
  return {
    dir,
    prefix: sel.recurse ? '' : 'image-updater-',
    syncedBy: app.name,
    syncedByFile: app.where.file,
    viaChart: false,
    why: `the ImageUpdater goes to ${dir}/, which the ${app.name} Application (${app.where.file}) already syncs into ${app.destination.namespace} on Argo CD's cluster`,
  }
}
