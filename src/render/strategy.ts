// How Image Updater should pick the next version of an image, derived from the tag that runs now
// unless the user says otherwise: a build tag `sha-<hex>` follows the newest build with that shape,
// a version `1.12.0` follows semver within its major (1.x), `latest` or no tag follows the digest of
// that tag. Each policy carries the reason, which --dry-run prints.
import { SetupError } from '../errors.ts'
import { verifyStrategy, verifyTagRegex, type ImageRef, type Strategy } from './image.ts'

export interface UpdatePolicy {
  strategy: Strategy
  /** tag filter without the `regexp:` prefix (undefined: every tag) */
  tagRegex?: string
  /** version constraint written after the image name (`1.x`), or the tag digest follows (`latest`) */
  constraint?: string
  /** one line: why this policy */
  why: string
}

const BUILD_TAG = /^sha-[0-9a-f]{7,40}$/
const VERSION_TAG = /^(v?)(\d+)(?:\.\d+){1,2}$/

export interface PolicyOverrides {
  strategy?: string
  tagRegex?: string
  /** the settings the overrides came from, for messages: APP_SQUOOSH_STRATEGY */
  strategySetting: string
  tagRegexSetting: string
}

/** The policy derived from the running tag alone. Throws SetupError for a tag with no obvious policy. */
export function derivePolicy(image: ImageRef, appName: string, settings: Pick<PolicyOverrides, 'strategySetting' | 'tagRegexSetting'>): UpdatePolicy {
  const tag = image.tag
  if (tag === undefined || tag === 'latest') {
    const what = tag === undefined ? (image.digest ? 'is pinned by digest without a tag' : 'has no tag') : 'runs the tag latest'
    return { strategy: 'digest', constraint: 'latest', why: `${image.name} ${what}: follow the digest of latest` }
  }
  if (BUILD_TAG.test(tag)) return { strategy: 'newest-build', tagRegex: '^sha-[0-9a-f]+$', why: `tag ${tag} is a build tag (sha-<hex>): newest build whose tag matches ^sha-[0-9a-f]+$` }
  const version = VERSION_TAG.exec(tag)
  if (version) {
    const [, v, major] = version
    return {
      strategy: 'semver',
      constraint: `${v}${major}.x`,
      why: `tag ${tag} is a version: newest ${v}${major}.x release (semver within major ${major}, no pre-releases)`,
    }
  }
  throw new SetupError(
    `${appName}: cannot tell how to update ${image.name} from its tag ${tag} (neither sha-<hex>, a version like 1.12.0, nor latest)`,
    `set ${settings.strategySetting} (semver, newest-build, digest or alphabetical) and ${settings.tagRegexSetting} (the tags it may pick) for ${appName}`,
  )
}

/** The user's settings where given, the derived policy for the rest. */
export function choosePolicy(image: ImageRef, appName: string, o: PolicyOverrides): UpdatePolicy {
  if (o.tagRegex !== undefined) verifyTagRegex(o.tagRegex, o.tagRegexSetting)
  if (o.strategy === undefined) {
    const derived = derivePolicy(image, appName, o)
    if (o.tagRegex === undefined) return derived
    return { ...derived, tagRegex: o.tagRegex, why: `${derived.why.replace(/ whose tag matches .*$/, '')}; tags from ${o.tagRegexSetting}=${o.tagRegex}` }
  }
  const strategy: string = o.strategy
  verifyStrategy(strategy, o.strategySetting)
  let derived: UpdatePolicy | undefined
  try {
    derived = derivePolicy(image, appName, o)
  } catch {
    derived = undefined
  }
  const tagRegex = o.tagRegex ?? (derived?.strategy === strategy ? derived.tagRegex : undefined)
  // digest follows one tag; semver keeps the derived major where the running tag is a version
  const constraint = strategy === 'digest' ? (image.tag ?? 'latest') : strategy === 'semver' && derived?.strategy === 'semver' ? derived.constraint : undefined
  const filter = tagRegex === undefined ? '' : `, tags matching ${tagRegex}`
  return { strategy, tagRegex, constraint, why: `${o.strategySetting}=${strategy}${constraint ? ` (${constraint})` : ''}${filter}` }
}

/** The `imageName` of the ImageUpdater entry: the name as the workload writes it, plus the constraint. */
export function updaterImageName(image: ImageRef, policy: UpdatePolicy): string {
  return policy.constraint ? `${image.name}:${policy.constraint}` : image.name
}
