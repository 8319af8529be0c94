// Task 3: move the app out of the personal-services Directory app into its own Kustomize folder.
// The user's Deployment and Service are kept byte for byte (image tag, resources, labels, comments);
// the static templates in manifests/ are used only when there is no old file to split.
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { editInclude } from '../src/include.ts'
import { readArgoFile, repoFacts, requireRepoFile, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Ctx } from '../src/context.ts'
import type { Task } from '../src/task.ts'
import { sameImage } from '../src/render/image.ts'
import { splitDocuments } from '../src/yaml-edit.ts'

const PARTS = ['deployment.yaml', 'service.yaml', 'kustomization.yaml'] as const

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`
}

/** deployment.yaml and service.yaml from the old multi-document file, checked against the settings. */
export function splitAppFile(ctx: Ctx, text: string, rel: string): { deployment: string; service: string } {
  const s = ctx.settings
  const docs = splitDocuments(text, rel)
  const find = (kind: string) => {
    const found = docs.filter((d) => d.kind === kind && d.name === s.appName)
    if (found.length !== 1)
      throw new SetupError(
        `${rel}:1: expected exactly one ${kind} named ${s.appName}, found ${found.length}`,
        `${rel} should hold the ${s.appName} Deployment and Service (or set APP_NAME to the name they use)`,
      )
    return found[0]
  }
  const deployment = find('Deployment')
  const service = find('Service')
  const others = docs.filter((d) => d !== deployment && d !== service && d.kind)
  if (others.length)
    throw new SetupError(
      `${rel}:${others[0].line}: expected only the ${s.appName} Deployment and Service, found ${others.map((d) => `${d.kind} ${d.name ?? ''}`.trim()).join(', ')}`,
      `move the other resources to their own file first, so splitting ${rel} loses nothing`,
    )
  const containers = deployment.doc.getIn(['spec', 'template', 'spec', 'containers'])
  const images = (containers as { toJSON(): { image?: string }[] } | undefined)?.toJSON?.().map((c) => c.image ?? '') ?? []
  if (!images.some((i) => sameImage(i, s.image)))
    throw new SetupError(
      `${rel}:${deployment.line}: the ${s.appName} Deployment runs ${images.join(', ') || 'no image'}, not ${s.image}`,
      `set IMAGE to the image the Deployment runs (without the tag)`,
    )
  return { deployment: withNewline(deployment.source), service: withNewline(service.source) }
}

export const task: Task = {
  id: 3,
  title: 'Split the app into its own Kustomize folder',
  scope: 'repo',
  managedPaths: (ctx) => {
    const dir = `${ctx.settings.manifestsDir}/${ctx.settings.appName}`
    return [`${ctx.settings.manifestsDir}/${ctx.settings.appName}.yaml`, ...PARTS.map((p) => `${dir}/${p}`), ctx.settings.personalServicesFile]
  },
  async plan(ctx) {
    const s = ctx.settings
    const facts = await repoFacts(ctx)
    const oldRel = `${s.manifestsDir}/${s.appName}.yaml`
    const dir = facts.appPath
    const servicesApp = await requireRepoFile(ctx, s.personalServicesFile, 'PERSONAL_SERVICES_APP_FILE')
    readArgoFile(servicesApp, s.personalServicesFile, 'Application')
    const oldText = await readRepoFile(ctx, oldRel)
    const current = Object.fromEntries(await Promise.all(PARTS.map(async (p) => [p, await readRepoFile(ctx, `${dir}/${p}`)] as const)))
    const vars = templateVars(ctx, facts)

    let desired: Record<(typeof PARTS)[number], string | null>
    if (oldText !== null) {
      const split = splitAppFile(ctx, oldText, oldRel)
      desired = { 'deployment.yaml': split.deployment, 'service.yaml': split.service, 'kustomization.yaml': current['kustomization.yaml'] ?? renderManifest('it-tools/kustomization.yaml', vars) }
    } else {
      // Already split (or never had the file): keep what is there, fill in only what is missing.
      desired = {
        'deployment.yaml': current['deployment.yaml'] ?? renderManifest('it-tools/deployment.yaml', vars),
        'service.yaml': current['service.yaml'] ?? renderManifest('it-tools/service.yaml', vars),
        'kustomization.yaml': current['kustomization.yaml'] ?? renderManifest('it-tools/kustomization.yaml', vars),
      }
    }
    // Order matters for a crash: new files first, then the include edit, the old file last, so
    // every intermediate state still has the app's manifests somewhere.
    return present([
      ...(await Promise.all(PARTS.map((p) => planFile(ctx, `${dir}/${p}`, desired[p], current[p])))),
      await planFile(ctx, s.personalServicesFile, editInclude(servicesApp, s.personalServicesFile, { remove: `${s.appName}.yaml` }), servicesApp),
      oldText === null ? undefined : await planFile(ctx, oldRel, null, oldText),
    ])
  },
}
export default task

await runIfMain(import.meta, task)
