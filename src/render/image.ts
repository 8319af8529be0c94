// Image references like ghcr.io/meirongdev/it-tools: the registry host and the repository.
import { SetupError } from '../errors.ts'

export interface ImageRef {
  registry: string
  repository: string
}

export function parseImage(image: string): ImageRef {
  const m = /^([a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)\/([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)$/.exec(image)
  if (!m)
    throw new SetupError(
      `IMAGE "${image}" is not an image reference of the form registry/owner/name without a tag`,
      'set IMAGE like ghcr.io/meirongdev/it-tools (lower case, no :tag or @digest)',
    )
  return { registry: m[1], repository: m[2] }
}

export const STRATEGIES = ['semver', 'newest-build', 'digest', 'alphabetical'] as const

export function verifyStrategy(strategy: string): void {
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw new SetupError(`UPDATE_STRATEGY "${strategy}" is not an Image Updater strategy (an unknown one silently falls back to semver)`, `set UPDATE_STRATEGY to one of ${STRATEGIES.join(', ')}`)
}

export function verifyTagRegex(re: string): void {
  if (re.startsWith('regexp:'))
    throw new SetupError(`TAG_REGEX starts with "regexp:"; the setup adds that prefix itself`, `set TAG_REGEX=${re.slice('regexp:'.length)}`)
  try {
    new RegExp(re)
  } catch (err) {
    throw new SetupError(`TAG_REGEX "${re}" does not compile: ${(err as Error).message}`, 'set TAG_REGEX to a valid regular expression, e.g. ^sha-[0-9a-f]+$')
  }
}
