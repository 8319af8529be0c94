// What of Image Updater the GitOps repo holds, found by what it is (kind, name, what it references),
// not by the file names the setup would have used: the ImageUpdaters and the Applications they
// select (with each app's Kustomize folder and the `.argocd-source-<app>.yaml` Image Updater wrote
// there), the chart's Application and its values files, the ExternalSecrets that make the Secrets
// the updater reads, and the Directory Applications that list those files. docs/ is left out (the
// saved plan stays as the record of what was done).
import { posix } from 'node:path'
import type { Ctx } from '../context.ts'
import { gitRun } from '../git.ts'
import { readRepoFile } from '../files.ts'
import { splitDocuments } from '../yaml-edit.ts'

export const CHART_NAME = 'argocd-image-updater'
export const ARGO_HELM = 'https://argoproj.github.io/argo-helm'
export const IU_KIND = 'ImageUpdater'

export interface FoundDoc {
  file: string
  /** its place among the file's documents (splitDocuments) */
  index: number
  /** documents in the file (a file of several keeps the others) */
  docsInFile: number
  kind: string
  name: string
  namespace?: string
  obj: any
}

export interface UpdatedApp {
  name: string
  application: FoundDoc
  /** the app's Kustomize folder (its Application's source path) */
  path?: string
  /** Image Updater's write-back file in that folder, when there is one */
  writeBackFile?: string
}

export interface Footprint {
  docs: FoundDoc[]
  imageUpdaters: FoundDoc[]
  apps: UpdatedApp[]
  chartApps: FoundDoc[]
  valuesFiles: string[]
  /** ExternalSecrets whose target is a Secret the updater reads (pull secret, git credentials) */
  externalSecrets: FoundDoc[]
  /** namespace/name of the Secrets the updater reads */
  secretsRead: Set<string>
}

export const globMatch = (pattern: string, name: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name)

/** The YAML files git tracks (and new ones not ignored), docs/ left out. */
async function yamlFiles(ctx: Ctx): Promise<string[]> {
  const out = (await gitRun(ctx.repoDir, ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.yaml', '*.yml'])).stdout
  const planTop = ctx.settings.planDir.split('/')[0]
  return [...new Set(out.split('\n').filter(Boolean))].filter((f) => !f.startsWith('docs/') && !f.startsWith(`${planTop}/`)).sort()
}

export async function readDocsOf(ctx: Ctx, file: string): Promise<FoundDoc[]> {
  const text = await readRepoFile(ctx, file)
  if (text === null) return []
  let docs
  try {
    docs = splitDocuments(text, file)
  } catch {
    return [] // a file that does not parse is not ours to judge here: the render gate says so
  }
  return docs.map((d, index) => ({ file, index, docsInFile: docs.length, kind: String(d.kind ?? ''), name: String(d.name ?? ''), obj: d.doc.toJS() as any }))
    .map((d) => ({ ...d, namespace: d.obj?.metadata?.namespace }))
    .filter((d) => d.kind)
}

const sourcesOf = (app: any): any[] => [app?.spec?.source, ...(app?.spec?.sources ?? [])].filter(Boolean)

/** Secrets an ImageUpdater or the chart values name: `pullsecret:ns/name`, `secret:ns/name#f`, `git:secret:ns/name`. */
export function secretRefs(text: string): string[] {
  return [...text.matchAll(/\b(?:pullsecret|secret|git:secret):([a-z0-9][a-z0-9.-]*)\/([a-z0-9][a-z0-9.-]*)/g)].map((m) => `${m[1]}/${m[2]}`)
}

export async function findFootprint(ctx: Ctx): Promise<Footprint> {
  const docs = (await Promise.all((await yamlFiles(ctx)).map((f) => readDocsOf(ctx, f)))).flat()
  const ns = ctx.settings.argocdNamespace
  const imageUpdaters = docs.filter((d) => d.kind === IU_KIND && String(d.obj.apiVersion ?? '').startsWith('argocd-image-updater.argoproj.io/'))
  const applications = docs.filter((d) => d.kind === 'Application' && String(d.obj.apiVersion ?? '').startsWith('argoproj.io/'))
  const chartApps = applications.filter((a) => sourcesOf(a.obj).some((s) => s.chart === CHART_NAME))
  const valuesFiles = [...new Set(chartApps.flatMap((a) => sourcesOf(a.obj).flatMap((s) => (s.helm?.valueFiles ?? []) as string[]).filter((f) => f.startsWith('$')).map((f) => f.replace(/^\$[^/]+\//, ''))))]
  const apps: UpdatedApp[] = []
  for (const iu of imageUpdaters) {
    for (const ref of iu.obj.spec?.applicationRefs ?? []) {
      for (const app of applications) {
        if (!ref.namePattern || !globMatch(String(ref.namePattern), app.name) || apps.some((a) => a.name === app.name) || chartApps.includes(app)) continue
        const path = sourcesOf(app.obj).find((s) => s.path && !s.chart)?.path?.replace(/^\.?\/+/, '').replace(/\/+$/, '')
        const writeBack = path ? posix.join(path, `.argocd-source-${app.name}.yaml`) : undefined
        apps.push({ name: app.name, application: app, path, writeBackFile: writeBack })
      }
    }
  }
  const refs = new Set<string>()
  for (const iu of imageUpdaters) for (const r of secretRefs(JSON.stringify(iu.obj))) refs.add(r)
  for (const f of valuesFiles) for (const r of secretRefs((await readRepoFile(ctx, f)) ?? '')) refs.add(r)
  const externalSecrets = docs.filter((d) => d.kind === 'ExternalSecret' && refs.has(`${d.namespace ?? ns}/${d.obj.spec?.target?.name ?? d.name}`))
  return { docs, imageUpdaters, apps, chartApps, valuesFiles, externalSecrets, secretsRead: refs }
}

/** Directory Applications whose source lists `file` in its include (so the include can drop it). */
export function includesOf(docs: FoundDoc[], file: string): FoundDoc[] {
  const dir = posix.dirname(file)
  const base = posix.basename(file)
  return docs.filter((d) => {
    if (d.kind !== 'Application') return false
    return sourcesOf(d.obj).some((s) => (s.path ?? '').replace(/^\.?\/+/, '').replace(/\/+$/, '') === dir && typeof s.directory?.include === 'string' && s.directory.include.includes(base))
  })
}
