// The corpus: GitOps repos of shapes real homelabs have, beside the sample repo (sandbox/sample-repo.ts).
import { appOfApps } from './app-of-apps.ts'
import { appsetGit } from './appset-git.ts'
import type { CorpusShape } from './build.ts'
import type { Sandbox } from '../index.ts'
import type { KObject } from '../store.ts'
import { flatWildcard } from './flat-wildcard.ts'
import { handFollowed } from './hand-followed.ts'
import { homelabToday } from './homelab-today.ts'
import { recursiveRoot } from './recursive-root.ts'

export { buildCorpusRepo, type CorpusNeed, type CorpusRepo, type CorpusShape } from './build.ts'

export const CORPUS: readonly CorpusShape[] = [appOfApps, flatWildcard, recursiveRoot, homelabToday, appsetGit, handFollowed]

/** What a run against a corpus repo's sandbox needs that the repo alone does not give. */
export interface CorpusRunPrep {
  /** each onboarded app's running Deployment, on whichever cluster its Application deploys it */
  workloads: Record<string, KObject | undefined>
  /** settings beyond the repo's: the sandbox's (VAULT_KUBE_CONTEXT) and APPS */
  env: Record<string, string>
}

/** The running Deployment of each app, on whichever cluster of the sandbox it runs. */
export function corpusWorkloads(sb: Pick<Sandbox, 'store' | 'clusters'>, apps: string[]): Record<string, KObject | undefined> {
  const stores = [sb.store, ...sb.clusters.map((c) => c.store)]
  const workload = (name: string) => stores.map((st) => st.list('apps/v1', 'Deployment').find((d) => d.metadata.name === name)).find(Boolean)
  return Object.fromEntries(apps.map((name) => [name, workload(name)]))
}

/**
 * Readies a started sandbox for a run on `shape`: the registry holds it-tools' tag (built an hour
 * ago) and the tag each other onboarded app runs, as a homelab's registries do.
 */
export function prepareCorpusRun(sb: Pick<Sandbox, 'store' | 'clusters' | 'actors' | 'settings'>, shape: CorpusShape, user: string, token: string): CorpusRunPrep {
  const workloads = corpusWorkloads(sb, shape.onboard ?? ['it-tools'])
  const hourAgo = new Date(Date.now() - 3_600_000)
  sb.actors.registry.setAuth(user, token)
  sb.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', shape.imageTag, hourAgo)
  for (const d of Object.values(workloads)) {
    const image = String(d?.spec?.template?.spec?.containers?.[0]?.image ?? '')
    if (image && !image.startsWith('ghcr.io/meirongdev/it-tools')) sb.actors.registry.pushTag(image, image.slice(image.lastIndexOf(':') + 1), hourAgo)
  }
  return { workloads, env: { ...sb.settings, ...(shape.onboard ? { APPS: shape.onboard.join(',') } : {}) } }
}
