// The in-memory ghcr.io the Image Updater reads tags from. Auth works like ghcr for a private
// package: a pull with no or wrong credentials is `unauthorized`. Until setAuth() is called the
// accepted credentials are whatever the first pull presents (so a setup whose pull secret is wired
// right works without the test knowing the token), after that only the configured pair.
import { createHash } from 'node:crypto'
import type { TagInfo } from './update-options.ts'

export class RegistryError extends Error {}

export class InMemoryRegistry {
  private readonly tags = new Map<string, Map<string, Date>>()
  private auth: { username: string; token: string } | undefined

  pushTag(image: string, tag: string, builtAt = new Date()): void {
    const name = image.replace(/:[^/:]*$/, '')
    const forImage = this.tags.get(name) ?? new Map<string, Date>()
    forImage.set(tag, builtAt)
    this.tags.set(name, forImage)
  }

  setAuth(username: string, token: string): void {
    this.auth = { username, token }
  }

  /** Lists tags of `image` (`ghcr.io/owner/name`) with the given credentials. */
  listTags(image: string, creds: { username: string; token: string } | undefined): TagInfo[] {
    if (!creds || !creds.username || !creds.token) throw new RegistryError('unauthorized: authentication required')
    if (!this.auth) this.auth = { ...creds }
    if (this.auth.username !== creds.username || this.auth.token !== creds.token) throw new RegistryError('unauthorized: authentication required')
    const forImage = this.tags.get(image)
    if (!forImage) throw new RegistryError(`name unknown: repository ${image.replace(/^[^/]+\//, '')} not found`)
    return [...forImage].map(([tag, builtAt]) => ({ tag, builtAt, digest: 'sha256:' + createHash('sha256').update(`${image}:${tag}@${builtAt.toISOString()}`).digest('hex') }))
  }
}
