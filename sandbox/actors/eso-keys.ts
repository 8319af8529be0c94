// How ESO's Vault provider turns a `remoteRef.key` into a Vault API path (KV v2): a leading
// `<store path>/` is cut, then (v2) a leading `data/` right after it, and `<path>/data/` is put back
// in front. So with `path: secret` the keys `homelab/github`, `secret/homelab/github` and
// `secret/data/homelab/github` all read `secret/data/homelab/github`, while `data/homelab/github`
// reads `secret/data/data/homelab/github` (nothing there); `path: secret/data` doubles the `/data`.

export function vaultApiPath(key: string, store: { path?: string; version?: string }): string {
  const version = store.version ?? 'v2'
  const mount = store.path?.replace(/\/+$/, '')
  let out = key.replace(/^\/+/, '')
  if (mount) {
    if (out.startsWith(`${mount}/`)) {
      out = out.slice(mount.length + 1)
      if (version === 'v2' && out.startsWith('data/')) out = out.slice('data/'.length)
    }
    return version === 'v2' ? `${mount}/data/${out}` : `${mount}/${out}`
  }
  if (version !== 'v2') return out
  // No store path: the first segment is the mount.
  const slash = out.indexOf('/')
  if (slash < 0) return out
  const first = out.slice(0, slash)
  const restOf = out.slice(slash + 1)
  return restOf.startsWith('data/') ? out : `${first}/data/${restOf}`
}
