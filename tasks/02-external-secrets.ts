// Task 2: two ExternalSecrets turn the GitHub token in Vault into a ghcr.io pull secret and git
// write-back credentials in argocd; vault-eso's include list gains the new file.
import { planFile, present } from '../src/files.ts'
import { editInclude } from '../src/include.ts'
import { readArgoFile, repoFacts, requireRepoFile, templateVars } from '../src/repo-facts.ts'
import { renderManifest } from '../src/render/template.ts'
import { runIfMain } from '../src/run-alone.ts'
import type { Task } from '../src/task.ts'

export const SECRET_FILE = 'github-external-secret.yaml'

export const task: Task = {
  id: 2,
  title: 'ExternalSecrets for the GitHub token (ghcr pull + git write-back)',
  scope: 'repo',
  managedPaths: (ctx) => [`${ctx.settings.manifestsDir}/${SECRET_FILE}`, ctx.settings.vaultEsoFile],
  async plan(ctx) {
    const s = ctx.settings
    const facts = await repoFacts(ctx)
    const esoApp = await requireRepoFile(ctx, s.vaultEsoFile, 'VAULT_ESO_APP_FILE')
    readArgoFile(esoApp, s.vaultEsoFile, 'Application')
    return present([
      await planFile(ctx, `${s.manifestsDir}/${SECRET_FILE}`, renderManifest(SECRET_FILE, templateVars(ctx, facts))),
      await planFile(ctx, s.vaultEsoFile, editInclude(esoApp, s.vaultEsoFile, { add: SECRET_FILE }), esoApp),
    ])
  },
}
export default task
await runIfMain(import.meta, task)
