// Task 5: install Argo CD Image Updater from the argo-helm chart, with values from this repo.
// The values file is created once and then belongs to the user (task 9 only lowers the log level);
// the checks below make sure it still carries what the setup needs.
import { SetupError } from '../src/errors.ts'
import { planFile, present, readRepoFile } from '../src/files.ts'
import { PULL_SECRET_REGISTRY, pullSecretRef, repoFacts, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { getAt, singleDocument } from '../src/yaml-edit.ts'

/** What an existing values file must hold for Image Updater to pull from the registry. */
export function verifyValues(text: string, rel: string, pullSecret: string): void {
  singleDocument(text, rel)
  const logLevel = getAt(text, rel, ['config', 'log.level'])
  if (logLevel.value === undefined) {
    const top = getAt(text, rel, ['logLevel'])
    throw new SetupError(
      `${rel}:${top.value === undefined ? logLevel.line : top.line}: expected config."log.level"${top.value === undefined ? '' : ' (a top-level logLevel is not read by the chart)'}`,
      `put the log level under config as  log.level: debug  in ${rel}`,
    )
  }
  const registries = getAt(text, rel, ['config', 'registries'])
  const list = Array.isArray(registries.value) ? (registries.value as Record<string, unknown>[]) : []
  const registry = PULL_SECRET_REGISTRY
  if (!list.some((r) => r?.prefix === registry && r?.credentials === pullSecret))
    throw new SetupError(
      `${rel}:${registries.line}: expected config.registries to have an entry with prefix ${registry} and credentials ${pullSecret}`,
      `add that registry entry to ${rel} (or delete the file and rerun task 5 to recreate it)`,
    )
}

export const task: Task = {
  id: 5,
  title: 'Install Argo CD Image Updater (Helm chart Application and values)',
  scope: 'repo',
  managedPaths: (ctx) => [`${ctx.settings.valuesDir}/argocd-image-updater.yaml`, `${ctx.settings.applicationsDir}/argocd-image-updater.yaml`],
  async plan(ctx) {
    const facts = await repoFacts(ctx)
    const vars = templateVars(ctx, facts)
    const values = await readRepoFile(ctx, facts.valuesFile)
    if (values !== null) verifyValues(values, facts.valuesFile, pullSecretRef(ctx))
    return present([
      values === null ? await planFile(ctx, facts.valuesFile, renderManifest('image-updater-values.yaml', vars), null) : undefined,
      await planFile(ctx, facts.chartApplicationFile, renderManifest('image-updater-application.yaml', vars)),
    ])
  },
}
export default task
await runIfMain(import.meta, task)
