// Task 3: move each app out of the personal-services Directory app into its own Kustomize folder.
// A file holding just the app's Deployment and Service is split into deployment.yaml and
// service.yaml, byte for byte; any other file (a Namespace, RBAC, ConfigMaps, PVCs, comment-only
// documents ...) moves whole, as it is, so nothing is lost or reordered. Nothing is ever rendered
// from a template in place of the user's manifests: an app that is not there is refused (src/apps.ts).
import type { AppSpec } from '../src/apps.ts'
import { appNames, appPath } from '../src/apps.ts'
import type { Ctx } from '../src/context.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { editInclude, kustomizationsAbove, listingKustomizations } from '../src/include.ts'
import { readArgoFile, repoFacts, requireRepoFile, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Change, Task } from '../src/task.ts'
import { getAt, insertKey, removeFromSequence, setScalar, splitDocuments } from '../src/yaml-edit.ts'

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`
}

/**
 * The files of the app's folder made from its old file: deployment.yaml and service.yaml when the
 * file holds exactly the app's Deployment and Service and nothing else (no comment-only document,
 * no other object), else the file itself under its own name.
 */
export function folderFiles(app: Pick<AppSpec, 'name'>, text: string, rel: string): Record<string, string> {
  const docs = splitDocuments(text, rel)
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.name === app.name)
  const service = docs.find((d) => d.kind === 'Service' && d.name === app.name)
  if (docs.length === 2 && deployment && service) {
    // whatever the two documents do not cover must be separators only, or splitting would drop it
    const rest = text.replace(deployment.source, '').replace(service.source, '')
    if (rest.split(/\r?\n/).every((l) => /^(---|\.\.\.)?\s*$/.test(l))) return { 'deployment.yaml': withNewline(deployment.source), 'service.yaml': withNewline(service.source) }
  }
  return { [rel.slice(rel.lastIndexOf('/') + 1)]: keepVolumes(text, rel) }
}

const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options'

/**
 * The file with every PersistentVolumeClaim marked `Prune=false`, so no sync of any Application
 * ever deletes a volume (the one surgical edit a moved file gets; everything else stays as it is).
 */
export function keepVolumes(text: string, rel: string): string {
  let out = text
  for (const d of splitDocuments(text, rel)) {
    if (d.kind !== 'PersistentVolumeClaim') continue
    const path = ['metadata', 'annotations', SYNC_OPTIONS]
    const now = getAt(d.source, rel, path).value
    let edited = d.source
    if (typeof now === 'string' && now.trim()) {
      if (!now.split(',').map((o) => o.trim()).includes('Prune=false')) edited = setScalar(d.source, rel, path, `${now},Prune=false`)
    } else if (getAt(d.source, rel, ['metadata', 'annotations']).value === undefined) edited = insertKey(d.source, rel, ['metadata'], 'annotations', [`  ${SYNC_OPTIONS}: Prune=false`])
    else edited = insertKey(d.source, rel, ['metadata', 'annotations'], SYNC_OPTIONS, 'Prune=false')
    out = out.replace(d.source, edited)
  }
  return out
}

export const task: Task = {
  id: 3,
  title: 'Move each app into its own Kustomize folder',
  scope: 'repo',
  managedPaths: (ctx) => {
    const s = ctx.settings
    return [
      ...appNames(s).flatMap((name) => [
        `${s.manifestsDir}/${name}.yaml`,
        `${s.manifestsDir}/${name}.yml`,
        ...['deployment.yaml', 'service.yaml', 'kustomization.yaml', `${name}.yaml`, `${name}.yml`].map((p) => `${appPath(s, name)}/${p}`),
        // a kustomization above the old file that lists it loses that line in the same commit
        ...kustomizationsAbove(`${s.manifestsDir}/${name}.yaml`),
      ]),
      s.personalServicesFile,
    ]
  },
  async plan(ctx) {
    const s = ctx.settings
    const facts = await repoFacts(ctx)
    // nothing to move: every app already renders through a Kustomize or Helm Application
    if (facts.apps.every((a) => a.inPlace)) return []
    const servicesApp = await requireRepoFile(ctx, s.personalServicesFile, 'PERSONAL_SERVICES_APP_FILE')
    readArgoFile(servicesApp, s.personalServicesFile, 'Application')
    const writes: (Change | undefined)[] = []
    const deletes: (Change | undefined)[] = []
    const moved: string[] = []
    // kustomizations that list a moved file, with the entries to drop (edited once each, below)
    const unlist = new Map<string, string[]>()
    for (const app of facts.apps) {
      // already rendered through a Kustomize or Helm Application: it stays where it is
      if (app.inPlace) continue
      const { files, old } = await planFolder(ctx, app)
      if (old) {
        moved.push(old.rel.slice(old.rel.lastIndexOf('/') + 1))
        deletes.push(await planFile(ctx, old.rel, null, old.text))
        for (const l of await listingKustomizations((rel) => readRepoFile(ctx, rel), old.rel)) unlist.set(l.file, [...(unlist.get(l.file) ?? []), l.entry])
      }
      const kustomizationRel = `${app.appPath}/kustomization.yaml`
      const kustomization = await readRepoFile(ctx, kustomizationRel)
      for (const [name, content] of Object.entries(files)) {
        const change = await planFile(ctx, `${app.appPath}/${name}`, content)
        // a moved file differs from the old one only where its volumes were protected
        const pvcs = old && content !== old.text ? app.objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.name) : []
        writes.push(change && pvcs.length ? { ...change, summary: `${change.summary} (PersistentVolumeClaim ${pvcs.join(', ')}: Prune=false, so no sync ever deletes the volume)` } : change)
      }
      if (kustomization === null) {
        const resources = Object.keys(files).map((f) => `  - ${f}`).join('\n')
        writes.push(await planFile(ctx, kustomizationRel, renderManifest('app-kustomization.yaml', { ...templateVars(ctx, facts, app), resources }), null))
      }
    }
    // Order matters for a crash: new files first, then the include edit, the old files last, so
    // every intermediate state still has each app's manifests somewhere.
    const parents: (Change | undefined)[] = []
    for (const [rel, entries] of unlist) {
      const text = (await readRepoFile(ctx, rel))!
      const change = await planFile(ctx, rel, entries.reduce((t, e) => removeFromSequence(t, rel, ['resources'], e), text), text)
      parents.push(change && { ...change, summary: `${change.summary} (resources: ${entries.join(', ')} removed: the file moves to its app's folder, and a listed file that is gone stops the whole tree from rendering)` })
    }
    return present([...writes, await planFile(ctx, s.personalServicesFile, editInclude(servicesApp, s.personalServicesFile, { remove: moved }), servicesApp), ...parents, ...deletes])
  },
}

/** The app's folder files and the old file they come from (none once moved). */
async function planFolder(ctx: Ctx, app: AppSpec): Promise<{ files: Record<string, string>; old?: { rel: string; text: string } }> {
  const rel = app.sourceFile
  const text = rel === undefined ? null : await readRepoFile(ctx, rel)
  if (rel === undefined || text === null) return { files: {} }
  return { files: folderFiles(app, text, rel), old: { rel, text } }
}

export default task

await runIfMain(import.meta, task)
