// Task 6: let the AppProject use the argo-helm chart repository (one added sourceRepos line).
import { SetupError } from '../src/errors.ts'
import { planFile, present } from '../src/files.ts'
import { knownFacts, readArgoFile, repoFacts, requireRepoFile } from '../src/repo-facts.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'
import { appendToSequence, getAt } from '../src/yaml-edit.ts'

export const HELM_REPO = 'https://argoproj.github.io/argo-helm'

/** The chart installs a CRD and ClusterRoles: the project must allow cluster-scoped kinds. */
export function verifyClusterResources(text: string, rel: string): void {
  const { value, line } = getAt(text, rel, ['spec', 'clusterResourceWhitelist'])
  const list = Array.isArray(value) ? (value as { group?: string; kind?: string }[]) : []
  const allows = (group: string, kind: string) => list.some((e) => (e?.group === '*' || e?.group === group) && (e?.kind === '*' || e?.kind === kind))
  const missing = [
    ['apiextensions.k8s.io', 'CustomResourceDefinition'],
    ['rbac.authorization.k8s.io', 'ClusterRole'],
    ['rbac.authorization.k8s.io', 'ClusterRoleBinding'],
  ].filter(([g, k]) => !allows(g, k))
  if (missing.length)
    throw new SetupError(
      `${rel}:${line}: the AppProject does not allow ${missing.map(([g, k]) => `${g}/${k}`).join(', ')}, which the Image Updater chart installs`,
      `add them to spec.clusterResourceWhitelist in ${rel} (for example group: '*', kind: '*'), then rerun`,
    )
}

export const task: Task = {
  id: 6,
  title: 'Allow the argo-helm repository in the AppProject',
  scope: 'repo',
  managedPaths: (ctx) => [...new Set([ctx.settings.projectFile, knownFacts(ctx)?.projectFile ?? ctx.settings.projectFile])],
  async plan(ctx) {
    // the AppProject the apps use: APPPROJECT_FILE, or the one found where its default names nothing
    const rel = (await repoFacts(ctx)).projectFile
    const text = await requireRepoFile(ctx, rel, 'APPPROJECT_FILE')
    readArgoFile(text, rel, 'AppProject')
    verifyClusterResources(text, rel)
    const { value } = getAt(text, rel, ['spec', 'sourceRepos'])
    if (Array.isArray(value) && value.includes('*')) return []
    return present([await planFile(ctx, rel, appendToSequence(text, rel, ['spec', 'sourceRepos'], HELM_REPO), text)])
  },
}
export default task
await runIfMain(import.meta, task)
