// The Directory Application the run's apps move out of. The plan names it: PERSONAL_SERVICES_APP_FILE,
// with the apps' files in MANIFESTS_DIR. A homelab has its own (a `tools` app over k8s/tools/). Both
// settings left at their defaults and the default file absent, the repo tells: the Directory
// Application of this repo (in a file of its own, not an ApplicationSet's; not recursing) that
// renders `<app>.yaml` (before the move), or, with no include list, whose folder holds `<app>/` as
// this tool made it (after the move: a Directory app reads no subfolder), one for all the run's apps
// that have one. Several, or none: the settings stay as they are, and the app's refusal names them.
import type { Ctx } from './context.ts'
import { SETTING_SPECS, type Settings } from './settings.ts'
import { appNames } from './apps.ts'
import { gitRun } from './git.ts'

/** Whether a commit of this tool (its message says image-updater-setup) created files under `rel`. */
async function madeByUs(repoDir: string, rel: string): Promise<boolean> {
  try {
    return (await gitRun(repoDir, ['log', '-1', '--format=%H', '-i', '--grep=image-updater-setup', '--diff-filter=A', '--', rel])).stdout.trim() !== ''
  } catch {
    return false
  }
}

export interface DirectoryHint {
  settings: Settings
  /** one line: which Application, which folder, found from which apps */
  why: string
}

export async function directoryHint(ctx: Pick<Ctx, 'settings' | 'repoDir'>): Promise<DirectoryHint | undefined> {
  const s = ctx.settings
  if (s.personalServicesFile !== SETTING_SPECS.personalServicesFile.default || s.manifestsDir !== SETTING_SPECS.manifestsDir.default) return undefined
  const [{ listRepoFiles }, { loadRepoModel }] = await Promise.all([import('./repo-model/scan.ts'), import('./repo-model/index.ts')])
  const { files } = await listRepoFiles(ctx)
  if (files.includes(s.personalServicesFile)) return undefined
  const model = await loadRepoModel(ctx)
  const found = new Map<string, { file: string; dir: string; apps: string[] }>()
  for (const name of appNames(s)) {
    for (const app of model.applications) {
      if (app.origin.by === 'appset' || !app.where || app.leftOutBy) continue
      const source = app.sources.find((x) => x.thisRepo && x.type === 'Directory' && x.path !== undefined && !x.directory?.recurse)
      if (!source) continue
      const dir = source.path!.replace(/^\.?\/+|\/+$/g, '')
      if (!dir || dir === '.') continue
      // the file form: the app renders it (its include list selects it); the folder form: an app with
      // no include list (it rendered every file of its folder, the app's too), where this tool made
      // the folder (a folder of the owner's own is their app, in place)
      const rendersFile = app.render.objects.some((o) => o.file === `${dir}/${name}.yaml` || o.file === `${dir}/${name}.yml`)
      const has = rendersFile || (!source.directory?.include && files.some((f) => f.startsWith(`${dir}/${name}/`)) && (await madeByUs(ctx.repoDir, `${dir}/${name}`)))
      if (!has) continue
      const entry = found.get(app.name) ?? { file: app.where.file, dir, apps: [] }
      entry.apps.push(name)
      found.set(app.name, entry)
    }
  }
  if (found.size !== 1) return undefined
  const [[name, { file, dir, apps }]] = [...found]
  const settings = { ...s, personalServicesFile: file, manifestsDir: dir }
  // neither is read by the model: the run keeps the one read here
  ;(await import('./repo-model/index.ts')).keepModelsFor(s, settings)
  return {
    settings,
    why: `PERSONAL_SERVICES_APP_FILE and MANIFESTS_DIR are not set and ${s.personalServicesFile} does not exist: ${apps.join(', ')} ${apps.length > 1 ? 'are' : 'is'} in the folder ${dir}/ of the Directory Application ${name} (${file}), so the setup moves ${apps.length > 1 ? 'them' : 'it'} out of that one`,
  }
}
