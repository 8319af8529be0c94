// Task 2: two ExternalSecrets turn the GitHub token in Vault into a ghcr.io pull secret and git
// write-back credentials in argocd; vault-eso's include list gains the new file.
import { planFile, present, readRepoFile } from '../src/files.ts'
import { OLD_PULL_SECRET, PULL_SECRET, migratePullSecretName } from '../src/pull-secret.ts'
import { editInclude } from '../src/include.ts'
import { isDefault, readArgoFile, repoFacts, requireRepoFile, secretFile, secretFileSeen, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'

export { SECRET_FILE } from '../src/repo-facts.ts'
import { SECRET_FILE } from '../src/repo-facts.ts'

export const task: Task = {
  id: 2,
  title: 'ExternalSecrets for the GitHub token (ghcr pull + git write-back)',
  scope: 'repo',
  managedPaths: (ctx) => [`${ctx.settings.manifestsDir}/${SECRET_FILE}`, ...secretFileSeen(ctx), ctx.settings.vaultEsoFile],
  async plan(ctx) {
    const s = ctx.settings
    const facts = await repoFacts(ctx)
    // no vault-eso Application where its default points: the file goes to the ImageUpdaters' home,
    // synced into argocd on Argo CD's cluster (src/updater-home.ts), and no include list is edited
    const esoApp = isDefault(s, 'vaultEsoFile') && facts.updaterHome ? await readRepoFile(ctx, s.vaultEsoFile) : await requireRepoFile(ctx, s.vaultEsoFile, 'VAULT_ESO_APP_FILE')
    if (esoApp !== null) readArgoFile(esoApp, s.vaultEsoFile, 'Application')
    const rel = await secretFile(ctx)
    const rendered = renderManifest(SECRET_FILE, templateVars(ctx, facts))
    const current = await readRepoFile(ctx, rel)
    // An earlier version named the pull secret argocd-image-updater-secret, the chart's own Secret.
    // The file as that version wrote it differs from today's only in those two names, so the edit
    // is exactly the rename (src/pull-secret.ts; docs/plans says what happens on the cluster).
    if (current !== null && migratePullSecretName(current, rel) !== current)
      ctx.log(`${rel}: pull secret ${OLD_PULL_SECRET} renamed to ${PULL_SECRET} (the old name is the chart's own Secret; vault-eso prunes the old ExternalSecret)`)
    return present([
      await planFile(ctx, rel, rendered, current),
      esoApp === null ? undefined : await planFile(ctx, s.vaultEsoFile, editInclude(esoApp, s.vaultEsoFile, { add: SECRET_FILE }), esoApp),
    ])
  },
}
export default task
await runIfMain(import.meta, task)
