// The Vault the sandbox plays: one KV v2 engine mounted at `secret/`, a root token, seal state, and
// the `vault` CLI as it runs inside the `vault-0` pod (the token helper file of that pod decides
// whether it is logged in). Output and exit codes follow the real CLI: 0 ok, 1 local/usage error,
// 2 error from the server (sealed, permission denied, no value found).
import { randomBytes, randomUUID } from 'node:crypto'

export interface KvVersion { data: Record<string, string>; created_time: string; deletion_time: string; destroyed: boolean }
export interface KvEntry { versions: KvVersion[]; created_time: string; updated_time: string }
export interface CliResult { stdout: string; stderr: string; exitCode: number }

export const KV_MOUNT = 'secret'

export class VaultState {
  sealed = false
  readonly rootToken = `hvs.${randomBytes(18).toString('base64url')}`
  /** tokens the server accepts */
  readonly validTokens = new Set<string>([this.rootToken])
  /** the token in the pod's ~/.vault-token (undefined = logged out) */
  podToken: string | undefined = this.rootToken
  readonly kv = new Map<string, KvEntry>()

  /** `secret/homelab/x` or `secret/data/homelab/x` → the API path `secret/data/homelab/x` */
  static apiPath(path: string): string {
    const clean = path.replace(/^\/+/, '')
    if (clean.startsWith(`${KV_MOUNT}/data/`)) return clean
    if (clean.startsWith(`${KV_MOUNT}/`)) return `${KV_MOUNT}/data/${clean.slice(KV_MOUNT.length + 1)}`
    return `${KV_MOUNT}/data/${clean}`
  }

  /** latest live version of an API path (`secret/data/...`) */
  readLatest(apiPath: string): { data: Record<string, string>; version: number; created_time: string } | undefined {
    const entry = this.kv.get(apiPath)
    const v = entry?.versions.at(-1)
    if (!entry || !v || v.destroyed || v.deletion_time) return undefined
    return { data: { ...v.data }, version: entry.versions.length, created_time: v.created_time }
  }

  /** `vault kv delete`: the latest version (or the given ones) marked deleted; undefined when there is no such key. */
  softDelete(apiPath: string, versions?: number[], now = new Date()): void {
    const entry = this.kv.get(apiPath)
    if (!entry) return
    const which = versions ?? [entry.versions.length]
    for (const n of which) {
      const v = entry.versions[n - 1]
      if (v && !v.deletion_time && !v.destroyed) v.deletion_time = now.toISOString()
    }
    entry.updated_time = now.toISOString()
  }

  /** `vault kv metadata delete`: the key with all its versions gone. */
  destroyAll(apiPath: string): void {
    this.kv.delete(apiPath)
  }

  /** `vault kv list`: the keys right under an API folder (`secret/data/homelab`), folders with a trailing `/`. */
  list(apiFolder: string): string[] {
    const prefix = `${apiFolder.replace(/\/+$/, '')}/`
    const out = new Set<string>()
    for (const key of this.kv.keys()) {
      if (!key.startsWith(prefix)) continue
      const rest = key.slice(prefix.length)
      const slash = rest.indexOf('/')
      out.add(slash < 0 ? rest : rest.slice(0, slash + 1))
    }
    return [...out].sort()
  }

  write(apiPath: string, data: Record<string, string>, now = new Date()): number {
    const ts = now.toISOString()
    const entry = this.kv.get(apiPath) ?? { versions: [], created_time: ts, updated_time: ts }
    entry.versions.push({ data: { ...data }, created_time: ts, deletion_time: '', destroyed: false })
    entry.updated_time = ts
    this.kv.set(apiPath, entry)
    return entry.versions.length
  }
}

const ok = (stdout: string): CliResult => ({ stdout, stderr: '', exitCode: 0 })
const fail = (stderr: string, exitCode = 2): CliResult => ({ stdout: '', stderr: stderr.endsWith('\n') ? stderr : stderr + '\n', exitCode })

function apiError(method: string, url: string, code: number, error: string): string {
  return `Error making API request.\n\nURL: ${method} http://127.0.0.1:8200/v1/${url}\nCode: ${code}. Errors:\n\n* ${error}`
}

/** Splits CLI args into flags (before the first positional, like Go's flag package) and positionals. */
export function parseCliArgs(args: string[]): { flags: Record<string, string | true>; positional: string[] } {
  const flags: Record<string, string | true> = {}
  let i = 0
  for (; i < args.length; i++) {
    const a = args[i]
    if (a === '--') { i++; break }
    if (!a.startsWith('-') || a === '-') break
    const body = a.replace(/^--?/, '')
    const eq = body.indexOf('=')
    if (eq >= 0) flags[body.slice(0, eq)] = body.slice(eq + 1)
    else flags[body] = true
  }
  return { flags, positional: args.slice(i) }
}

/** `k=v` pairs of `vault kv put`; a value `-` reads stdin (once; one trailing newline trimmed). */
export function parseKvPairs(pairs: string[], stdin: Buffer): Record<string, string> {
  const data: Record<string, string> = {}
  let stdinUsed = false
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new Error(`Failed to parse K=V data: invalid key/value pair "${pair}": format must be key=value`)
    const key = pair.slice(0, eq)
    let value = pair.slice(eq + 1)
    if (value === '-') {
      if (stdinUsed) throw new Error('Failed to parse K=V data: stdin already consumed')
      stdinUsed = true
      value = stdin.toString('utf8').replace(/\r?\n$/, '')
    }
    data[key] = value
  }
  return data
}

function table(rows: [string, string][]): string {
  const width = Math.max(3, ...rows.map(([k]) => k.length))
  return [`${'Key'.padEnd(width)}    Value`, `${'---'.padEnd(width)}    -----`, ...rows.map(([k, v]) => `${k.padEnd(width)}    ${v}`)].join('\n')
}

function banner(title: string, width: number): string {
  const pad = Math.max(2, width - title.length - 2)
  return `${'='.repeat(Math.floor(pad / 2))} ${title} ${'='.repeat(Math.ceil(pad / 2))}`
}

function statusJson(v: VaultState) {
  return { type: 'shamir', initialized: true, sealed: v.sealed, t: 1, n: 1, progress: 0, nonce: '', version: '1.17.2', build_date: '2024-07-05T15:19:12Z', migration: false, cluster_name: v.sealed ? '' : 'vault-cluster-sandbox', cluster_id: v.sealed ? '' : 'c0ffee00-0000-4000-8000-000000000001', recovery_seal: false, storage_type: 'file', ha_enabled: false, active_time: '0001-01-01T00:00:00Z' }
}

/** Resolves `vault kv` path arguments (`-mount=secret name` or `secret/name`) to the KV v2 API path. */
function kvPath(flags: Record<string, string | true>, path: string): { api: string; mountOk: boolean } {
  const mount = typeof flags.mount === 'string' ? flags.mount.replace(/\/+$/, '') : undefined
  const full = mount ? `${mount}/${path.replace(/^\/+/, '')}` : path.replace(/^\/+/, '')
  if (!full.startsWith(`${KV_MOUNT}/`)) return { api: full, mountOk: false }
  // The CLI always inserts `data/` after the mount, so `secret/data/x` reads `secret/data/data/x`.
  return { api: `${KV_MOUNT}/data/${full.slice(KV_MOUNT.length + 1)}`, mountOk: true }
}

/** Runs one `vault ...` command line inside vault-0. */
export function runVaultCli(v: VaultState, argv: string[], stdin: Buffer): CliResult {
  const args = argv[0] === 'vault' ? argv.slice(1) : argv
  const [cmd, ...rest] = args
  if (!cmd) return fail('Usage: vault <command> [args]', 127)
  if (cmd === 'status') {
    const { flags } = parseCliArgs(rest)
    const s = statusJson(v)
    const out = flags.format === 'json' ? JSON.stringify(s, null, 2) + '\n' : table([['Seal Type', s.type], ['Initialized', String(s.initialized)], ['Sealed', String(s.sealed)], ['Total Shares', '1'], ['Threshold', '1'], ['Version', s.version], ['Storage Type', s.storage_type], ['HA Enabled', 'false']]) + '\n'
    return { stdout: out, stderr: '', exitCode: v.sealed ? 2 : 0 }
  }
  if (cmd === 'login') {
    const { flags, positional } = parseCliArgs(rest)
    if (positional.length !== 1) return fail('Too many arguments (expected 1, got ' + positional.length + ')', 1)
    const token = positional[0] === '-' ? stdin.toString('utf8').trim() : positional[0]
    if (v.sealed) return fail(`Error authenticating: error looking up token: ${apiError('GET', 'auth/token/lookup-self', 503, 'Vault is sealed')}`)
    if (!token || !v.validTokens.has(token)) return fail(`Error authenticating: error looking up token: ${apiError('GET', 'auth/token/lookup-self', 403, 'permission denied')}`)
    v.podToken = token
    if (flags['no-print']) return ok('')
    // Like the real CLI, login without -no-print prints the token (that is why the product must use -no-print).
    return ok(`Success! You are now authenticated. The token information displayed below\nis already stored in the token helper. You do NOT need to run "vault login"\nagain. Future Vault requests will automatically use this token.\n\n${table([['token', token], ['token_accessor', 'sandbox-accessor'], ['token_duration', '∞'], ['token_renewable', 'false'], ['token_policies', '["root"]']])}\n`)
  }
  if (v.sealed) return fail(`Error: ${apiError('GET', 'sys/seal-status', 503, 'Vault is sealed')}`)
  const authed = v.podToken !== undefined && v.validTokens.has(v.podToken)
  if (cmd === 'token' && rest[0] === 'lookup') {
    const { flags } = parseCliArgs(rest.slice(1))
    if (!authed) return fail(`Error looking up token: ${apiError('GET', 'auth/token/lookup-self', 403, 'permission denied')}`)
    // `id` (the token itself) is left out on purpose: the sandbox never prints a Vault token.
    const data = { accessor: 'sandbox-accessor', creation_time: 1700000000, display_name: 'root', entity_id: '', expire_time: null, explicit_max_ttl: 0, meta: null, num_uses: 0, orphan: true, path: 'auth/token/root', policies: ['root'], ttl: 0, type: 'service' }
    return ok(flags.format === 'json' ? JSON.stringify({ request_id: randomUUID(), lease_id: '', lease_duration: 0, renewable: false, data, warnings: null }, null, 2) + '\n' : table([['accessor', data.accessor], ['display_name', 'root'], ['policies', '[root]'], ['ttl', '0s']]) + '\n')
  }
  if (cmd !== 'kv') return fail(`Unknown command in the sandbox's vault: ${args.join(' ')}`, 127)
  const [sub, ...kvArgs] = rest
  const { flags, positional } = parseCliArgs(kvArgs)
  const json = flags.format === 'json'
  if (sub === 'get' || (sub === 'metadata' && positional[0] === 'get')) {
    const isMeta = sub === 'metadata'
    const { flags: f2, positional: p2 } = isMeta ? parseCliArgs(positional.slice(1)) : { flags, positional }
    if (p2.length !== 1) return fail(`Not enough arguments (expected 1, got ${p2.length})`, 1)
    const { api, mountOk } = kvPath(f2, p2[0])
    if (!authed) return fail(`Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/sys/internal/ui/mounts/${p2[0]}\nCode: 403. Errors:\n\n* permission denied`)
    if (!mountOk) return fail(`Error reading ${p2[0]}: ${apiError('GET', p2[0], 403, 'preflight capability check returned 403, please ensure client\'s policies grant access to path "' + p2[0] + '/"')}`)
    if (isMeta) {
      const metaPath = api.replace(`${KV_MOUNT}/data/`, `${KV_MOUNT}/metadata/`)
      const entry = v.kv.get(api)
      if (!entry) return fail(`No value found at ${metaPath}`)
      const versions = Object.fromEntries(entry.versions.map((ver, i) => [String(i + 1), { created_time: ver.created_time, deletion_time: ver.deletion_time, destroyed: ver.destroyed }]))
      const data = { cas_required: false, created_time: entry.created_time, current_version: entry.versions.length, custom_metadata: null, delete_version_after: '0s', max_versions: 0, oldest_version: 0, updated_time: entry.updated_time, versions }
      return ok(f2.format === 'json' ? JSON.stringify({ request_id: randomUUID(), data }, null, 2) + '\n' : `${banner('Metadata Path', 24)}\n${metaPath}\n\n${table([['created_time', data.created_time], ['current_version', String(data.current_version)], ['updated_time', data.updated_time]])}\n`)
    }
    const latest = v.readLatest(api)
    if (!latest) return fail(`No value found at ${api}`)
    const field = f2.field
    if (typeof field === 'string') {
      if (!(field in latest.data)) return fail(`Field "${field}" not present in secret`, 1)
      return ok(latest.data[field])
    }
    const metadata = { created_time: latest.created_time, custom_metadata: null, deletion_time: '', destroyed: false, version: latest.version }
    if (json) return ok(JSON.stringify({ request_id: randomUUID(), lease_id: '', lease_duration: 0, renewable: false, data: { data: latest.data, metadata }, warnings: null }, null, 2) + '\n')
    return ok(`${banner('Secret Path', 24)}\n${api}\n\n${banner('Metadata', 24)}\n${table([['created_time', metadata.created_time], ['custom_metadata', '<nil>'], ['deletion_time', 'n/a'], ['destroyed', 'false'], ['version', String(metadata.version)]])}\n\n${banner('Data', 24)}\n${table(Object.entries(latest.data).sort())}\n`)
  }
  if (sub === 'put') {
    if (positional.length < 2) return fail(`Must supply data`, 1)
    const [path, ...pairs] = positional
    let data: Record<string, string>
    try { data = parseKvPairs(pairs, stdin) } catch (e) { return fail((e as Error).message, 1) }
    const { api, mountOk } = kvPath(flags, path)
    if (!authed) return fail(`Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/sys/internal/ui/mounts/${path}\nCode: 403. Errors:\n\n* permission denied`)
    if (!mountOk) return fail(`Error writing data to ${path}: ${apiError('PUT', path, 403, 'permission denied')}`)
    const version = v.write(api, data)
    const latest = v.readLatest(api)!
    const meta = { created_time: latest.created_time, custom_metadata: null, deletion_time: '', destroyed: false, version }
    return ok(json ? JSON.stringify({ request_id: randomUUID(), lease_id: '', lease_duration: 0, renewable: false, data: meta, warnings: null }, null, 2) + '\n' : `${banner('Secret Path', 24)}\n${api}\n\n${banner('Metadata', 24)}\n${table([['created_time', meta.created_time], ['custom_metadata', '<nil>'], ['deletion_time', 'n/a'], ['destroyed', 'false'], ['version', String(version)]])}\n`)
  }
  if (sub === 'delete' || sub === 'list' || (sub === 'metadata' && positional[0] === 'delete')) {
    const isMetaDelete = sub === 'metadata'
    const { flags: f2, positional: p2 } = isMetaDelete ? parseCliArgs(positional.slice(1)) : { flags, positional }
    if (p2.length !== 1) return fail(`${p2.length > 1 ? 'Too many' : 'Not enough'} arguments (expected 1, got ${p2.length})`, 1)
    // The CLI lists a folder: `secret` and `secret/` are the mount's root.
    const { api, mountOk } = kvPath(f2, sub === 'list' ? p2[0].replace(/\/*$/, '/') : p2[0])
    const method = sub === 'list' ? 'LIST' : 'DELETE'
    if (!authed) return fail(`Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/sys/internal/ui/mounts/${p2[0]}\nCode: 403. Errors:\n\n* permission denied`)
    if (!mountOk) return fail(`Error ${sub === 'list' ? 'listing' : 'deleting'} ${p2[0]}: ${apiError(method, p2[0], 403, 'preflight capability check returned 403, please ensure client\'s policies grant access to path "' + p2[0] + '/"')}`)
    const metaPath = api.replace(`${KV_MOUNT}/data/`, `${KV_MOUNT}/metadata/`)
    if (sub === 'list') {
      const keys = v.list(api)
      if (!keys.length) return fail(`No value found at ${metaPath.replace(/\/+$/, '')}/`)
      return ok(f2.format === 'json' ? JSON.stringify(keys, null, 2) + '\n' : `${['Keys', '----', ...keys].join('\n')}\n`)
    }
    if (isMetaDelete) {
      v.destroyAll(api)
      return ok(`Success! Data deleted (if it existed) at: ${metaPath}\n`)
    }
    let versions: number[] | undefined
    if (typeof f2.versions === 'string') {
      versions = f2.versions.split(',').map((n) => Number(n.trim()))
      if (versions.some((n) => !Number.isInteger(n) || n < 1)) return fail(`Error deleting ${p2[0]}: ${apiError('PUT', api.replace('/data/', '/delete/'), 400, 'invalid version numbers')}`)
    }
    v.softDelete(api, versions)
    return ok(`Success! Data deleted (if it existed) at: ${versions ? api.replace(`${KV_MOUNT}/data/`, `${KV_MOUNT}/delete/`) : api}\n`)
  }
  return fail(`Unknown kv subcommand in the sandbox's vault: ${sub}`, 127)
}
