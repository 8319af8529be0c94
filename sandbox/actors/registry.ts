// The in-memory ghcr.io the Image Updater reads tags from. Auth works like ghcr for a private
// package: a pull with no or wrong credentials is `unauthorized`. Until setAuth() is called the
// accepted credentials are whatever the first pull presents (so a setup whose pull secret is wired
// right works without the test knowing the token), after that only the configured pair.
import { createHash } from 'node:crypto'
import type { TagInfo } from './update-options.ts'

export class RegistryError extends Error {}

/** Docker's reading of a name: `nginx`, `library/nginx` and `docker.io/library/nginx` are one image. */
function canonical(image: string): string {
  const slash = image.indexOf('/')
  const first = slash < 0 ? '' : image.slice(0, slash)
  const host = slash >= 0 && (/[.:]/.test(first) || first === 'localhost') ? first : ''
  const path = host ? image.slice(slash + 1) : image
  const registry = !host || host === 'index.docker.io' ? 'docker.io' : host
  return `${registry}/${registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path}`
}

/** Like a homelab's registries: ghcr.io packages are private (the pull secret matters), Docker Hub and the rest public. */
function isPrivate(image: string): boolean {
  return canonical(image).startsWith('ghcr.io/')
}

export class InMemoryRegistry {
  private readonly tags = new Map<string, Map<string, Date>>()
  private auth: { username: string; token: string } | undefined

  pushTag(image: string, tag: string, builtAt = new Date()): void {
    const name = canonical(image.replace(/:[^/:]*$/, ''))
    const forImage = this.tags.get(name) ?? new Map<string, Date>()
    forImage.set(tag, builtAt)
    this.tags.set(name, forImage)
  }

  setAuth(username: string, token: string): void {
    this.auth = { username, token }
  }

  /** Lists tags of `image` (`ghcr.io/owner/name`) with the given credentials. */
  listTags(image: string, creds: { username: string; token: string } | undefined): TagInfo[] {
    if (!isPrivate(image)) return this.tagsOf(image)
    if (!creds || !creds.username || !creds.token) throw new RegistryError('unauthorized: authentication required')
    if (!this.auth) this.auth = { ...creds }
    if (this.auth.username !== creds.username || this.auth.token !== creds.token) throw new RegistryError('unauthorized: authentication required')
    return this.tagsOf(image)
  }

  /** The tags pushed for an image (none: an empty list), as the sandbox's own tests look at them. */
  tagNames(image: string): string[] {
    return [...(this.tags.get(canonical(image))?.keys() ?? [])]
  }

  private tagsOf(image: string): TagInfo[] {
    const forImage = this.tags.get(canonical(image))
    if (!forImage) throw new RegistryError(`name unknown: repository ${canonical(image).replace(/^[^/]+\//, '')} not found`)
    return [...forImage].map(([tag, builtAt]) => ({ tag, builtAt, digest: 'sha256:' + createHash('sha256').update(`${image}:${tag}@${builtAt.toISOString()}`).digest('hex') }))
  }
}
