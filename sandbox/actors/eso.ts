// The External Secrets Operator the sandbox plays: ExternalSecrets that point at a
// ClusterSecretStore with a Vault KV v2 provider read Vault the way ESO does (key → API path),
// render `target.template` with Go templates, own the target Secret, and report `Ready`. As upstream's
// controller (pkg/controllers/externalsecret, markAsFailed), a failure sets Ready=False with reason
// SecretSyncedError and only ESO's generic message ("could not get secret data from provider"); the
// provider's own error goes into a Warning Event (reason UpdateFailed) on the ExternalSecret, which
// `kubectl describe externalsecret` lists. A Secret written is a Normal Created/Updated Event.
import { createHash } from 'node:crypto'
import type { KObject, Store } from '../store.ts'
import { vaultApiPath } from './eso-keys.ts'
import { renderGoTemplate } from './go-template.ts'
import type { VaultState } from './vault.ts'

const ES = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret' }
const CSS = { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore' }
const MANAGER = 'external-secrets'
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

class EsoError extends Error {}

/** Upstream's condition messages (externalsecret_controller.go): the cause itself is in the Event. */
const ERR_GET_SECRET_DATA = 'could not get secret data from provider'
const ERR_UPDATE_SECRET = 'could not update Secret'
const SECRET_SYNCED = 'Secret was synced'

/**
 * An Event about an ExternalSecret, as client-go's recorder writes it: a repeat of the same type,
 * reason and message on the same object raises the count and lastTimestamp of the one Event.
 */
export function recordEsEvent(store: Store, es: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
  const ns = es.metadata.namespace!
  const t = now()
  const same = store.list('v1', 'Event', ns).find((e) => e.involvedObject?.uid === es.metadata.uid && e.reason === reason && e.message === message && e.type === type)
  if (same) {
    store.upsert({ ...same, metadata: { ...same.metadata, resourceVersion: undefined }, count: (same.count ?? 1) + 1, lastTimestamp: t } as KObject, MANAGER)
    return
  }
  store.create({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${es.metadata.name}.${createHash('sha256').update(`${es.metadata.uid}${reason}${message}${Date.now()}${Math.random()}`).digest('hex').slice(0, 16)}`, namespace: ns },
    involvedObject: { apiVersion: ES.apiVersion, kind: ES.kind, namespace: ns, name: es.metadata.name, uid: es.metadata.uid, resourceVersion: es.metadata.resourceVersion },
    reason,
    message,
    type,
    source: { component: 'external-secrets' },
    reportingComponent: 'external-secrets',
    firstTimestamp: t,
    lastTimestamp: t,
    count: 1,
  } as KObject, MANAGER)
}

/**
 * markAsFailed: a Warning Event with the cause, and Ready=False with the generic message. The real
 * controller records the Event on every retry (its backoff keeps them apart); here a failing
 * ExternalSecret is looked at on every cycle, so the Event is recorded when the state turns to
 * failed or the cause changes.
 */
function markAsFailed(store: Store, es: KObject, msg: string, cause: string): boolean {
  const prev = (es.status?.conditions ?? []).find((c: any) => c.type === 'Ready')
  const last = store
    .list('v1', 'Event', es.metadata.namespace)
    .filter((e) => e.involvedObject?.uid === es.metadata.uid && e.type === 'Warning' && e.reason === 'UpdateFailed')
    .sort((x, y) => String(x.lastTimestamp).localeCompare(String(y.lastTimestamp)) || Number(x.metadata.resourceVersion) - Number(y.metadata.resourceVersion))
    .at(-1)
  let wrote = false
  if (prev?.status !== 'False' || last?.message !== cause) {
    recordEsEvent(store, es, 'Warning', 'UpdateFailed', cause)
    wrote = true
  }
  return setCondition(store, es, false, 'SecretSyncedError', msg, false) || wrote
}

/** The provider client for a store: checks the token Secret and the token itself, like ESO's vault client. */
function vaultClient(store: Store, vault: VaultState, css: KObject): { path?: string; version?: string } {
  const provider = css.spec?.provider?.vault
  if (!provider) throw new EsoError(`could not get provider client: the sandbox only plays the vault provider`)
  const ref = provider.auth?.tokenSecretRef
  if (ref) {
    const secret = store.get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.name })
    if (!secret) throw new EsoError(`could not get provider client: cannot get Kubernetes secret "${ref.name}" from namespace "${ref.namespace}": secrets "${ref.name}" not found`)
    const token = Buffer.from(secret.data?.[ref.key ?? 'token'] ?? '', 'base64').toString('utf8').trim()
    if (vault.sealed) throw new EsoError('could not get provider client: cannot read secret data from Vault: Error making API request. Code: 503. Errors: * Vault is sealed')
    if (!vault.validTokens.has(token)) throw new EsoError('could not get provider client: cannot initialize Vault client: Error making API request. Code: 403. Errors: * permission denied')
  }
  return { path: provider.path, version: provider.version ?? 'v2' }
}

function readKey(vault: VaultState, client: { path?: string; version?: string }, key: string, property?: string): string | Record<string, string> {
  if (vault.sealed) throw new EsoError('cannot read secret data from Vault: Error making API request. Code: 503. Errors: * Vault is sealed')
  const latest = vault.readLatest(vaultApiPath(key, client))
  if (!latest) throw new EsoError('Secret does not exist')
  if (property === undefined || property === '') return latest.data
  if (!(property in latest.data)) throw new EsoError(`key ${property} does not exist in secret ${key}`)
  return latest.data[property]
}

/** The Secret data (plain strings) an ExternalSecret yields. */
export function resolveExternalSecret(store: Store, vault: VaultState, es: KObject): { type: string; data: Record<string, string>; labels?: Record<string, string>; annotations?: Record<string, string> } {
  const ref = es.spec?.secretStoreRef ?? {}
  if (ref.kind !== 'ClusterSecretStore') throw new EsoError(`could not get SecretStore "${ref.name}": the sandbox plays ClusterSecretStores only`)
  const css = store.get({ ...CSS, name: ref.name })
  if (!css) throw new EsoError(`could not get ClusterSecretStore "${ref.name}", ClusterSecretStore.external-secrets.io "${ref.name}" not found`)
  const client = vaultClient(store, vault, css)
  const values: Record<string, string> = {}
  for (const [i, d] of (es.spec?.data ?? []).entries()) {
    try {
      const v = readKey(vault, client, String(d.remoteRef?.key ?? ''), d.remoteRef?.property)
      values[d.secretKey] = typeof v === 'string' ? v : JSON.stringify(v)
    } catch (e) {
      throw new EsoError(`error processing spec.data[${i}] (key: ${d.remoteRef?.key}), err: ${(e as Error).message}`)
    }
  }
  for (const [i, d] of (es.spec?.dataFrom ?? []).entries()) {
    if (!d.extract) continue
    try {
      const v = readKey(vault, client, String(d.extract.key ?? ''), d.extract.property)
      if (typeof v === 'string') throw new EsoError('extract needs a map')
      Object.assign(values, v)
    } catch (e) {
      throw new EsoError(`error processing spec.dataFrom[${i}].extract, err: ${(e as Error).message}`)
    }
  }
  const template = es.spec?.target?.template
  if (!template) return { type: 'Opaque', data: values }
  const data: Record<string, string> = template.mergePolicy === 'Merge' ? { ...values } : {}
  for (const [k, t] of Object.entries<string>(template.data ?? {})) {
    try {
      data[k] = renderGoTemplate(String(t), values)
    } catch (e) {
      throw new EsoError(`could not apply template: could not execute template: ${(e as Error).message}`)
    }
  }
  return { type: template.type ?? 'Opaque', data, labels: template.metadata?.labels, annotations: template.metadata?.annotations }
}

/** Go durations as in refreshInterval (`1h`, `15m`, `1h30m`, `0`), in ms. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let ms = 0
  for (const [, n, u] of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * units[u]
  return ms
}

/** What ESO records as synced: the generation and the metadata, so a new force-sync annotation is a change. */
const syncedVersion = (es: KObject) => `${es.metadata.generation ?? 1}-${createHash('sha256').update(JSON.stringify([es.metadata.labels ?? {}, es.metadata.annotations ?? {}])).digest('hex').slice(0, 12)}`

/**
 * Like ESO: a synced ExternalSecret is read again only when its spec or metadata changed (the
 * `force-sync` annotation), its Secret is gone, or refreshInterval (default 1h; 0 = never) passed.
 * So a token rotated in Vault reaches the Secret an hour later unless the refresh is forced.
 */
function dueForRefresh(es: KObject, target: KObject | undefined): boolean {
  const ready = (es.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True'
  if (!ready || !target || es.status?.syncedResourceVersion !== syncedVersion(es)) return true
  const interval = parseDuration(es.spec?.refreshInterval ?? '1h')
  return interval > 0 && Date.now() - Date.parse(es.status?.refreshTime ?? '') >= interval
}

function setCondition(store: Store, es: KObject, ready: boolean, reason: string, message: string, changed: boolean): boolean {
  const prev = (es.status?.conditions ?? []).find((c: any) => c.type === 'Ready')
  // a refresh (the only way here when Ready) always records its time, as ESO does
  if (!changed && !ready && prev && prev.status === (ready ? 'True' : 'False') && prev.reason === reason && prev.message === message) return false
  const t = now()
  const status = {
    ...(es.status ?? {}),
    ...(ready ? { refreshTime: t, syncedResourceVersion: syncedVersion(es), binding: { name: es.spec?.target?.name ?? es.metadata.name } } : {}),
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason, message, lastTransitionTime: prev?.status === (ready ? 'True' : 'False') ? prev.lastTransitionTime : t }],
  }
  store.updateStatus({ ...ES, namespace: es.metadata.namespace, name: es.metadata.name }, status)
  return true
}

/** One pass over all ExternalSecrets (and the stores' Ready condition). Returns whether anything was written. */
export function reconcileExternalSecrets(store: Store, vault: VaultState): boolean {
  let wrote = false
  for (const css of store.list(CSS.apiVersion, CSS.kind)) {
    let ready = true
    let message = 'store validated'
    try { vaultClient(store, vault, css) } catch (e) { ready = false; message = (e as Error).message }
    const prev = (css.status?.conditions ?? [])[0]
    if (prev?.status !== (ready ? 'True' : 'False') || prev?.message !== message) {
      store.updateStatus({ ...CSS, name: css.metadata.name }, { capabilities: 'ReadWrite', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Valid' : 'InvalidProviderConfig', message, lastTransitionTime: now() }] })
      wrote = true
    }
  }
  for (const es of store.list(ES.apiVersion, ES.kind)) {
    const ns = es.metadata.namespace!
    const targetName = es.spec?.target?.name ?? es.metadata.name
    if (!dueForRefresh(es, store.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: targetName }))) continue
    let resolved
    try {
      resolved = resolveExternalSecret(store, vault, es)
    } catch (e) {
      wrote = markAsFailed(store, es, ERR_GET_SECRET_DATA, (e as Error).message) || wrote
      continue
    }
    const data = Object.fromEntries(Object.entries(resolved.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
    const live = store.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: targetName })
    const ownedByOther = live && !((live.metadata as any).ownerReferences ?? []).some((r: any) => r.uid === es.metadata.uid)
    if (ownedByOther && (es.spec?.target?.creationPolicy ?? 'Owner') === 'Owner' && ((live!.metadata as any).ownerReferences ?? []).length) {
      wrote = markAsFailed(store, es, ERR_UPDATE_SECRET, `target is owned by another ExternalSecret`) || wrote
      continue
    }
    const desired: KObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: targetName,
        namespace: ns,
        labels: { ...(resolved.labels ?? {}), 'reconcile.external-secrets.io/managed': 'true' },
        annotations: { ...(resolved.annotations ?? {}) },
        ownerReferences: [{ apiVersion: ES.apiVersion, kind: ES.kind, name: es.metadata.name, uid: es.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      type: resolved.type,
      data,
    }
    const same = live && live.type === desired.type && JSON.stringify(live.data ?? {}) === JSON.stringify(data) && JSON.stringify((live.metadata as any).ownerReferences) === JSON.stringify(desired.metadata.ownerReferences)
    let changed = false
    if (!same) {
      try {
        if (live && live.type !== desired.type) store.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: targetName })
        const created = !live || live.type !== desired.type
        store.upsert(desired, MANAGER)
        recordEsEvent(store, es, 'Normal', created ? 'Created' : 'Updated', created ? 'Created Secret' : 'Updated Secret')
        changed = true
        wrote = true
      } catch (e) {
        wrote = markAsFailed(store, es, ERR_UPDATE_SECRET, (e as Error).message) || wrote
        continue
      }
    }
    wrote = setCondition(store, es, true, 'SecretSynced', SECRET_SYNCED, changed) || wrote
  }
  // Owned Secrets go with their ExternalSecret.
  const esUids = new Set(store.list(ES.apiVersion, ES.kind).map((e) => e.metadata.uid))
  for (const s of store.list('v1', 'Secret')) {
    const refs: any[] = (s.metadata as any).ownerReferences ?? []
    if (refs.some((r) => r.kind === 'ExternalSecret') && !refs.some((r) => esUids.has(r.uid))) {
      store.delete({ apiVersion: 'v1', kind: 'Secret', namespace: s.metadata.namespace, name: s.metadata.name })
      wrote = true
    }
  }
  return wrote
}
