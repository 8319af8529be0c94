// Never push a repo that does not render. Before the setup commit (and in --dry-run, and in the
// runner's preflight before anything is written) every Application whose source the change touches
// is rendered as Argo CD would render it, through the run's overlay: a Kustomize folder that fails to
// build, two objects with one identity in one app, or an ImageUpdater the chosen chart's CRD refuses
// stops the run with the file, the cause and a fix.
import { SetupError } from '../errors.ts'
import { chartShape } from '../render/chart.ts'
import { imageUpdaterSchema, schemaProblems } from './crd-schema.ts'
import { loadRepoModel, type ModelCtx } from './index.ts'
import type { ModelApp, ModelImageUpdater, RepoModel } from './types.ts'

/** The app reads the path: an input of its render, a file in a folder it reads, or its own Application file. */
export function touches(app: ModelApp, path: string): boolean {
  if (app.render.inputs.includes(path) || app.where?.file === path) return true
  return app.render.folders.some((d) => d === '' || path.startsWith(`${d}/`))
}

interface Problem {
  cause: string
  fix: string
}

function buildProblem(app: ModelApp): Problem {
  const err = app.render.error!
  const dir = err.file.includes('/') ? err.file.slice(0, err.file.lastIndexOf('/')) : '.'
  const kustomize = /kustomization|Kustomization$/.test(err.file)
  const missing = /no such file|does not exist|not found|missing/i.test(err.message)
  const twice = /already registered id|conflict/i.test(err.message)
  return {
    cause: `${err.file}: the Application ${app.name} would not render after this change${kustomize ? ` (kubectl kustomize ${dir})` : ''}: ${err.message.split('\n').slice(0, 3).join(' ')}`,
    fix: kustomize
      ? twice
        ? `the tree under ${dir} defines one object twice (two documents with one kind, namespace and name): keep one, deleting the other document or dropping its file from resources:`
        : missing
        ? `make every resources: entry of ${err.file} (and of the kustomizations it includes) name a file or folder that exists, so that kubectl kustomize ${dir} builds`
        : `fix ${err.file} so that kubectl kustomize ${dir} builds`
      : `fix the YAML of ${err.file}`,
  }
}

function duplicateProblems(app: ModelApp): Problem[] {
  return app.render.duplicates.map((d) => {
    const [a, b] = d.objects
    const what = `${a!.kind} ${a!.namespace ? `${a!.namespace}/` : ''}${a!.name}`
    return {
      cause: `${a!.file}:${a!.line} and ${b!.file}:${b!.line}: two objects ${what} in the Application ${app.name}; Argo CD cannot sync an app that holds one object twice`,
      fix: `keep one ${what} (delete the other document or drop its file from what ${app.name} syncs)`,
    }
  })
}

function imageUpdaterProblem(u: ModelImageUpdater, chartVersion: string): Problem | undefined {
  const shape = chartShape(chartVersion)
  const { schema, file } = imageUpdaterSchema(shape.appMinor)
  const problems = schemaProblems(u.json, schema)
  if (problems.length === 0) return undefined
  const fixes = problems.map((p) =>
    /^spec\.namespace: unknown field/.test(p)
      ? `delete spec.namespace (chart ${chartVersion} removed it; the controller uses the ImageUpdater's own namespace)`
      : /useAnnotations: unknown field/.test(p)
        ? `replace useAnnotations with images: entries (chart ${chartVersion} has no useAnnotations)`
        : /^spec\.namespace: required/.test(p)
          ? `add spec.namespace: ${u.namespace ?? 'argocd'} (chart ${chartVersion} requires it)`
          : undefined,
  )
  const known = [...new Set(fixes.filter((f): f is string => f !== undefined))]
  return {
    cause: `${u.where.file}:${u.where.line}: the ImageUpdater ${u.namespace ? `${u.namespace}/` : ''}${u.name} is invalid for chart ${chartVersion} (app ${shape.appMinor}): ${problems.join('; ')}`,
    fix: `${known.length ? `${known.join('; ')}; ` : ''}make it match the CRD of app ${shape.appMinor} (manifests/crds/${file} of this project)`,
  }
}

/** The apps the change touches and what stops the push. */
export function renderProblems(model: RepoModel, touched: string[], chartVersion: string): { apps: ModelApp[]; problems: Problem[] } {
  const apps = model.applications.filter((a) => a.render.status !== 'elsewhere' && touched.some((p) => touches(a, p)))
  const problems: Problem[] = []
  for (const app of apps) {
    if (app.render.status === 'failed' && app.render.error) problems.push(buildProblem(app))
    problems.push(...duplicateProblems(app))
  }
  const names = new Set(apps.map((a) => a.name))
  for (const u of model.imageUpdaters) {
    if (!touched.includes(u.where.file) && !(u.renderedBy && names.has(u.renderedBy))) continue
    const p = imageUpdaterProblem(u, chartVersion)
    if (p) problems.push(p)
  }
  return { apps, problems }
}

/**
 * Renders every Application the touched paths feed, as the repo would be (through the overlay).
 * Throws SetupError naming each problem; returns a line saying what was checked.
 */
export async function renderGate(ctx: ModelCtx, touchedPaths: Iterable<string>, opts: { when: string } = { when: 'nothing was committed' }): Promise<string> {
  const touched = [...new Set(touchedPaths)].sort()
  if (touched.length === 0) return 'render check: nothing touched'
  const model = await loadRepoModel(ctx)
  const { apps, problems } = renderProblems(model, touched, ctx.settings.chartVersion)
  if (problems.length === 1) throw new SetupError(`render check: ${problems[0]!.cause}`, `${problems[0]!.fix}, then rerun (${opts.when})`)
  if (problems.length > 1)
    throw new SetupError(
      `render check: ${problems.length} problems would be pushed:\n${problems.map((p) => `  - ${p.cause}\n    fix: ${p.fix}`).join('\n')}`,
      `fix each item above, then rerun (${opts.when})`,
    )
  const rendered = apps.filter((a) => a.render.status === 'rendered')
  const opaque = apps.filter((a) => a.render.status === 'opaque')
  return `render check: ${rendered.length} Application(s) the change touches render${rendered.length ? ` (${rendered.map((a) => `${a.name}: ${a.render.objects.length} objects`).join(', ')})` : ''}${opaque.length ? `; not rendered here: ${opaque.map((a) => `${a.name} (${a.render.notes[0] ?? 'opaque'})`).join(', ')}` : ''}`
}
