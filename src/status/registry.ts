// The newest tag each managed image's update policy allows, read from its registry over the Docker
// Registry HTTP API v2, as Image Updater reads it: the endpoint from the controller's registries.conf
// (`api_url` of the entry whose prefix matches), else the image's host; anonymous for public images,
// the credentials of the image's pull secret (or the registries.conf entry's) where one is named,
// through the registry's token service when it asks for one. A registry that cannot be reached is a
// note, not a problem; one that refuses the credentials is a problem. Credentials stay in memory.
import { readImageRef, DOCKER_HUB } from '../render/image.ts'
import type { KObj } from '../cluster/kube.ts'
import { registriesOf, secretRefOf, type ClusterView } from './read.ts'
import { imageKey } from './judge.ts'

export interface ImagePolicy {
  image: string
  strategy?: string
  allowTags?: string
  constraint?: string
  pullSecret?: string
}

export interface NewestTag {
  newest?: string
  /** when the newest tag's image was built (its config's `created`), when it was read */
  createdAt?: number
  /** why the newest tag is not known */
  note?: string
  /** the registry refused the credentials given */
  refused?: string
}

const REQUEST_MS = 4000
const MAX_PAGES = 10
const MAX_BUILD_DATES = 12
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

type Creds = { username: string; password: string }

class Refused extends Error {}

/** username/password for `host` from a dockerconfigjson Secret or a `secret:ns/name#field` (user:token). */
export function credentialsFrom(secret: KObj | undefined, spec: string, host: string): Creds | undefined {
  if (!secret) return undefined
  const value = (k: string) => (secret.data?.[k] === undefined ? undefined : Buffer.from(String(secret.data[k]), 'base64').toString('utf8'))
  const field = /#(.+)$/.exec(spec)?.[1]
  if (spec.startsWith('secret:') && field) {
    const raw = value(field)
    const colon = raw?.indexOf(':') ?? -1
    return raw && colon > 0 ? { username: raw.slice(0, colon), password: raw.slice(colon + 1).trim() } : undefined
  }
  try {
    const auths = JSON.parse(value('.dockerconfigjson') ?? '{}').auths ?? {}
    const entry = auths[host] ?? auths[`https://${host}`] ?? (host === DOCKER_HUB ? auths['https://index.docker.io/v1/'] : undefined)
    if (!entry) return undefined
    if (entry.auth) {
      const decoded = Buffer.from(String(entry.auth), 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined
    }
    return entry.username ? { username: String(entry.username), password: String(entry.password ?? '') } : undefined
  } catch {
    return undefined
  }
}

/** One registry session: the bearer token the registry's token service hands out, reused. */
class RegistryClient {
  private bearer?: string
  constructor(
    private readonly base: string,
    private readonly repository: string,
    private readonly creds: Creds | undefined,
  ) {}

  private basic = () => (this.creds ? `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}` : undefined)

  async get(path: string, accept = 'application/json'): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`
    const send = (auth?: string) => fetch(url, { headers: { Accept: accept, ...(auth ? { Authorization: auth } : {}) }, signal: AbortSignal.timeout(REQUEST_MS) })
    let res = await send(this.bearer ? `Bearer ${this.bearer}` : undefined)
    if (res.status !== 401) return res
    const challenge = res.headers.get('www-authenticate') ?? ''
    if (/^bearer/i.test(challenge)) {
      const param = (n: string) => new RegExp(`${n}="([^"]*)"`, 'i').exec(challenge)?.[1]
      const realm = param('realm')
      if (realm) {
        const q = new URLSearchParams()
        if (param('service')) q.set('service', param('service')!)
        q.set('scope', param('scope') ?? `repository:${this.repository}:pull`)
        const basic = this.basic()
        const tokenRes = await fetch(`${realm}?${q}`, { headers: basic ? { Authorization: basic } : {}, signal: AbortSignal.timeout(REQUEST_MS) })
        if (tokenRes.status === 401 || tokenRes.status === 403) throw new Refused(`${new URL(realm).host} answered ${tokenRes.status} to ${this.creds ? 'the credentials' : 'an anonymous token request'}`)
        const body = (await tokenRes.json().catch(() => ({}))) as { token?: string; access_token?: string }
        this.bearer = body.token ?? body.access_token
        res = await send(this.bearer ? `Bearer ${this.bearer}` : undefined)
      }
    } else if (/^basic/i.test(challenge) && this.creds) res = await send(this.basic())
    if (res.status === 401 || res.status === 403) throw new Refused(`${new URL(url).host} answered ${res.status} ${res.statusText || 'unauthorized'}${this.creds ? ' to the credentials' : ' (no credentials given)'}`)
    return res
  }

  async tags(): Promise<string[]> {
    const tags: string[] = []
    let next: string | undefined = `/v2/${this.repository}/tags/list`
    for (let page = 0; next && page < MAX_PAGES; page++) {
      const res = await this.get(next)
      if (!res.ok) throw new Error(`${res.status} for ${next}`)
      tags.push(...(((await res.json()) as { tags?: string[] }).tags ?? []))
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1]
      next = link ? (link.startsWith('http') ? link : `${this.base}${link}`) : undefined
    }
    return tags
  }

  /** When the tag's image was built: its config blob's `created` (the first platform's, for an index). */
  async created(tag: string): Promise<number | undefined> {
    let res = await this.get(`/v2/${this.repository}/manifests/${tag}`, MANIFEST_TYPES)
    if (!res.ok) return undefined
    let manifest = (await res.json()) as { manifests?: { digest: string }[]; config?: { digest: string } }
    if (manifest.manifests?.length) {
      res = await this.get(`/v2/${this.repository}/manifests/${manifest.manifests[0].digest}`, MANIFEST_TYPES)
      if (!res.ok) return undefined
      manifest = await res.json()
    }
    if (!manifest.config?.digest) return undefined
    const blob = await this.get(`/v2/${this.repository}/blobs/${manifest.config.digest}`)
    if (!blob.ok) return undefined
    const t = Date.parse(((await blob.json()) as { created?: string }).created ?? '')
    return Number.isNaN(t) ? undefined : t
  }
}

const SEMVER = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

function semverKey(tag: string): [number, number, number, string | undefined] | undefined {
  const m = SEMVER.exec(tag)
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0), m[4]] : undefined
}

/** `1.x`, `1.2.x`, `^1.2`, `~1.2`, `1.2.3`: whether `tag` satisfies it (a constraint not understood allows all). */
function satisfies(tag: string, constraint: string | undefined): boolean {
  if (!constraint) return true
  const v = semverKey(tag)
  if (!v) return false
  const m = /^([\^~]?)v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(constraint.trim())
  if (!m) return true
  const [, op, a, b, c] = m
  const num = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? undefined : Number(s))
  const [M, mi, p] = [Number(a), num(b), num(c)]
  if (v[0] !== M) return false
  if (op === '^') return mi === undefined || v[1] > mi || (v[1] === mi && (p === undefined || v[2] >= p))
  if (op === '~') return mi === undefined || (v[1] === mi && (p === undefined || v[2] >= p))
  return (mi === undefined || v[1] === mi) && (p === undefined || v[2] === p)
}

function compareSemver(a: string, b: string): number {
  const [x, y] = [semverKey(a)!, semverKey(b)!]
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  if (x[3] === y[3]) return 0
  return x[3] === undefined ? 1 : y[3] === undefined ? -1 : x[3]! < y[3]! ? -1 : 1
}

/** The allowTags filter (`regexp:<re>`, `any`, none); undefined when it cannot be compiled. */
function allowFilter(allowTags: string | undefined): ((tag: string) => boolean) | undefined {
  if (!allowTags || allowTags === 'any') return () => true
  const m = /^regexp:(.*)$/.exec(allowTags)
  if (!m) return undefined
  try {
    const re = new RegExp(m[1])
    return (t) => re.test(t)
  } catch {
    return undefined
  }
}

/** The newest allowed tag of one image by its policy (and when it was built, where read). */
export async function newestFor(policy: ImagePolicy, base: string, creds: Creds | undefined): Promise<NewestTag> {
  const ref = readImageRef(policy.image)
  if (!ref) return { note: `${policy.image} is not an image reference` }
  const client = new RegistryClient(base, ref.repository, creds)
  const allow = allowFilter(policy.allowTags)
  if (!allow) return { note: `allowTags ${policy.allowTags} is not "regexp:<re>" or "any"` }
  try {
    const strategy = policy.strategy ?? 'semver'
    if (strategy === 'digest') return { newest: policy.constraint ?? 'latest', note: 'digest strategy: follows the digest of one tag' }
    const tags = (await client.tags()).filter(allow)
    let newest: string | undefined
    let createdAt: number | undefined
    if (strategy === 'newest-build' || strategy === 'latest') {
      // the newest build by its image's creation date, as Image Updater sorts them
      const dated = await Promise.all(tags.slice(-MAX_BUILD_DATES).map(async (t) => ({ t, at: await client.created(t).catch(() => undefined) })))
      const best = dated.filter((d) => d.at !== undefined).sort((a, b) => b.at! - a.at!)[0]
      if (!best) return { note: 'no build date readable for the allowed tags' }
      ;[newest, createdAt] = [best.t, best.at]
    } else if (strategy === 'alphabetical' || strategy === 'name') newest = [...tags].sort().at(-1)
    else newest = tags.filter((t) => semverKey(t) && satisfies(t, policy.constraint) && (semverKey(t)![3] === undefined || /-/.test(policy.constraint ?? ''))).sort(compareSemver).at(-1)
    if (!newest) return { note: `no tag in the registry matches the policy (${strategy}${policy.allowTags ? `, ${policy.allowTags}` : ''}${policy.constraint ? `, ${policy.constraint}` : ''})` }
    createdAt ??= await client.created(newest).catch(() => undefined)
    return { newest, createdAt }
  } catch (err) {
    if (err instanceof Refused) return creds ? { refused: err.message } : { note: `${err.message}: a private image needs a pullSecret` }
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    return { note: `registry ${new URL(base).host} not reachable (${cause === 'Error' ? (err as Error).message : cause})` }
  }
}

/** The registry API endpoint of an image: registries.conf's api_url for its prefix, else its host. */
export function registryBase(image: string, registries: ReturnType<typeof registriesOf>): { base: string; credentials?: string } {
  const ref = readImageRef(image)
  const host = ref?.registry ?? DOCKER_HUB
  const entry = registries.find((r) => r.prefix && (image.startsWith(String(r.prefix)) || host === r.prefix)) ?? (host === DOCKER_HUB ? registries.find((r) => r.default) : undefined)
  const fallback = host === DOCKER_HUB ? 'https://registry-1.docker.io' : `https://${host}`
  return { base: String(entry?.api_url ?? fallback).replace(/\/+$/, ''), credentials: entry?.credentials }
}

/** The newest allowed tag of every managed image of every selected app, all registries at once. */
export async function newestAllowed(view: ClusterView, queries: { app: KObj; iuNs: string; policies: ImagePolicy[] }[], _now: number): Promise<Map<string, NewestTag>> {
  const registries = registriesOf(view.controller?.configMap)
  const ctrlNs = view.controller?.deployment.metadata.namespace ?? ''
  const out = new Map<string, NewestTag>()
  await Promise.all(
    queries.flatMap((q) =>
      q.policies.map(async (p) => {
        const { base, credentials } = registryBase(p.image, registries)
        const spec = p.pullSecret ?? credentials
        const secretRef = secretRefOf(spec, p.pullSecret ? q.iuNs : ctrlNs)
        const secret = secretRef ? view.secrets.get(`${secretRef.namespace}/${secretRef.name}`)?.secret : undefined
        const host = readImageRef(p.image)?.registry ?? DOCKER_HUB
        const creds = spec ? credentialsFrom(secret, spec, host) : undefined
        out.set(imageKey(q.app.metadata.name, p.image), await newestFor(p, base, creds))
      }),
    ),
  )
  return out
}
