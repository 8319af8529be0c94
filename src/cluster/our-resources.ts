// The resources this setup adds or changes on the cluster, by Argo CD resource key: our
// ExternalSecrets (from the file task 2 writes), every object of each app the setup moves, the Image
// Updater controller. A snapshot never excuses these, even on a rerun that finds them already live.
import { parseYaml } from '../yaml-parse.ts'
import type { Ctx } from '../context.ts'
import { readRepoFile } from '../files.ts'
import { resourceKey } from './app-snapshot.ts'
import { repoFacts, secretFile } from '../repo-facts.ts'
import type { KObj } from './kube.ts'

export const CONTROLLER_DEPLOYMENT = 'argocd-image-updater-controller'
export const IMAGE_UPDATER_API = 'argocd-image-updater.argoproj.io/v1alpha1'

/** Our ExternalSecrets (from the file task 2 writes) as Argo CD resource keys. */
export async function ourExternalSecrets(ctx: Ctx): Promise<{ key: string; namespace: string; name: string; secretName: string }[]> {
  const text = await readRepoFile(ctx, await secretFile(ctx))
  if (text === null) return []
  return parseYaml(text)
    .map((d) => d.toJS() as KObj | null)
    .filter((o): o is KObj => o?.kind === 'ExternalSecret' && Boolean(o.metadata?.name))
    .map((o) => {
      const namespace = o.metadata.namespace ?? ctx.settings.argocdNamespace
      return { key: resourceKey({ group: 'external-secrets.io', kind: 'ExternalSecret', namespace, name: o.metadata.name }), namespace, name: o.metadata.name, secretName: o.spec?.target?.name ?? o.metadata.name }
    })
}

/** Resources the setup adds or changes, whatever a snapshot says (a rerun after a failure sees them live). */
export async function knownOurs(ctx: Ctx): Promise<Set<string>> {
  const keys = (await ourExternalSecrets(ctx)).map((e) => e.key)
  const { apps } = await repoFacts(ctx)
  for (const r of apps.flatMap((app) => app.objects)) keys.push(resourceKey({ group: r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '', kind: r.kind, namespace: r.namespace, name: r.name }))
  keys.push(resourceKey({ group: 'apps', kind: 'Deployment', namespace: ctx.settings.argocdNamespace, name: CONTROLLER_DEPLOYMENT }))
  return new Set(keys)
}

