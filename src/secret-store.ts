// The ClusterSecretStore the ExternalSecrets read Vault through. SECRET_STORE names it; left at its
// default, the repo tells: the one ClusterSecretStore for Vault the repo has, when none has the
// default's name (a homelab calls it `vault`, the plan `vault-backend`).
import type { Ctx } from './context.ts'
import { SETTING_SPECS } from './settings.ts'
import type { VaultStore } from './repo-model/types.ts'
import type { ModelCtx } from './repo-model/index.ts'

export interface SecretStoreChoice {
  name: string
  /** the store as the repo has it, when it does */
  store?: VaultStore
  why: string
}

const chosen = new WeakMap<Ctx['settings'], Promise<SecretStoreChoice>>()

export function secretStore(ctx: ModelCtx): Promise<SecretStoreChoice> {
  let c = chosen.get(ctx.settings)
  if (!c) {
    c = choose(ctx)
    chosen.set(ctx.settings, c)
    c.catch(() => chosen.delete(ctx.settings))
  }
  return c
}

async function choose(ctx: ModelCtx): Promise<SecretStoreChoice> {
  const name = ctx.settings.secretStore
  const { loadRepoModel } = await import('./repo-model/index.ts')
  const stores = (await loadRepoModel(ctx)).vaultStores.filter((v) => v.kind === 'ClusterSecretStore')
  const named = stores.find((v) => v.name === name)
  if (named || name !== SETTING_SPECS.secretStore.default) return { name, ...(named ? { store: named } : {}), why: `SECRET_STORE=${name}${name === SETTING_SPECS.secretStore.default ? ' (the default)' : ''}` }
  if (stores.length === 1) {
    const only = stores[0]!
    return { name: only.name, store: only, why: `the repo's one ClusterSecretStore for Vault, ${only.name} (${only.where.file}:${only.where.line}); SECRET_STORE is not set` }
  }
  return { name, why: `SECRET_STORE=${name} (the default; the repo has ${stores.length ? `several ClusterSecretStores for Vault: ${stores.map((v) => v.name).join(', ')}` : 'no ClusterSecretStore for Vault'})` }
}
