// Image references read the way Docker and Kubernetes read them (the distribution/reference rules):
// `nginx` is docker.io/library/nginx, `dko0/squoosh` is docker.io/dko0/squoosh, the first path
// component is a registry only when it has a `.` or a `:` or is `localhost`, `index.docker.io` is
// docker.io. Every comparison of two references goes through `sameImage`, so both sides are read
// alike. Image Updater itself matches the ImageUpdater's `imageName` against the live image by the
// name as written (it keeps `dko0/squoosh` and `docker.io/dko0/squoosh` apart), which is why the
// name as written is kept too, and the setup writes that form.
import { goRegexpCause, goRegexpProblem } from './go-regexp.ts'
import { SetupError } from '../errors.ts'

export interface ImageRef {
  /** registry host (with port) as Docker reads it: docker.io when the reference names none */
  registry: string
  /** repository path on that registry, `library/` added for Docker Hub's official images */
  repository: string
  /** the reference as written, without tag and digest (what Image Updater matches) */
  name: string
  tag?: string
  digest?: string
}

export const DOCKER_HUB = 'docker.io'

// The grammar of github.com/distribution/reference, as regular expressions.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = new RegExp(`^(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`)
const PATH = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/

/** The reference parsed, or undefined when Docker would refuse it. */
export function readImageRef(text: string): ImageRef | undefined {
  let rest = text.trim()
  if (!rest || rest !== text) return undefined
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) return undefined
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) return undefined
  }
  const name = rest
  const slash = rest.indexOf('/')
  const first = slash === -1 ? '' : rest.slice(0, slash)
  // a first component is a registry when it looks like a host: a dot, a port, localhost, or upper case
  const isHost = slash !== -1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase())
  let registry = DOCKER_HUB
  let repository = rest
  if (isHost) {
    if (!DOMAIN.test(first)) return undefined
    registry = first === 'index.docker.io' ? DOCKER_HUB : first
    repository = rest.slice(slash + 1)
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`
  if (!PATH.test(repository) || name.length > 255) return undefined
  return { registry, repository, name, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) }
}

/** registry/repository: one spelling for every way of writing the same image. */
export function canonicalName(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`
}

/** True when both references name the same image (tags and digests aside). */
export function sameImage(a: string | ImageRef, b: string | ImageRef): boolean {
  const ra = typeof a === 'string' ? readImageRef(a) : a
  const rb = typeof b === 'string' ? readImageRef(b) : b
  return !!ra && !!rb && canonicalName(ra) === canonicalName(rb)
}

/** An image setting (IMAGE, APP_<NAME>_IMAGE): a name without tag or digest. */
export function parseImage(image: string, setting = 'IMAGE'): ImageRef {
  const ref = readImageRef(image)
  if (!ref || ref.tag !== undefined || ref.digest !== undefined)
    throw new SetupError(
      `${setting} "${image}" is not an image reference without a tag (like nginx, dko0/squoosh, ghcr.io/owner/name or host:5000/name)`,
      `set ${setting} like ghcr.io/meirongdev/it-tools or dko0/squoosh (lower case, no :tag or @digest), or leave it empty to use the image the Deployment runs`,
    )
  return ref
}

export const STRATEGIES = ['semver', 'newest-build', 'digest', 'alphabetical'] as const
export type Strategy = (typeof STRATEGIES)[number]

export function verifyStrategy(strategy: string, setting = 'UPDATE_STRATEGY'): asserts strategy is Strategy {
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw new SetupError(`${setting} "${strategy}" is not an Image Updater strategy (an unknown one silently falls back to semver)`, `set ${setting} to one of ${STRATEGIES.join(', ')}`)
}

export function verifyTagRegex(re: string, setting = 'TAG_REGEX'): void {
  if (re.startsWith('regexp:'))
    throw new SetupError(`${setting} starts with "regexp:"; the setup adds that prefix itself`, `set ${setting}=${re.slice('regexp:'.length)}`)
  // Image Updater compiles it with Go's regexp: what Go refuses matches no tag, whatever JavaScript says
  const problem = goRegexpProblem(re)
  if (!problem) return
  if (problem.rewrite !== undefined) throw new SetupError(`${setting} ${goRegexpCause(re, problem)}`, `set ${setting}=${problem.rewrite} (the same tags, in syntax Go accepts)`)
  if (!problem.construct) throw new SetupError(`${setting} ${goRegexpCause(re, problem)}`, `set ${setting} to a regular expression Go accepts, e.g. ^sha-[0-9a-f]+$ (syntax: https://pkg.go.dev/regexp/syntax)`)
  throw new SetupError(`${setting} ${goRegexpCause(re, problem)}`, `take ${problem.remove} out of ${setting}, then rerun (Go's syntax: https://pkg.go.dev/regexp/syntax)`)
}
