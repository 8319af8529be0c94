// The corpus: GitOps repos of shapes real homelabs have, beside the sample repo (sandbox/sample-repo.ts).
import { appOfApps } from './app-of-apps.ts'
import { appsetGit } from './appset-git.ts'
import type { CorpusShape } from './build.ts'
import { flatWildcard } from './flat-wildcard.ts'
import { handFollowed } from './hand-followed.ts'
import { homelabToday } from './homelab-today.ts'
import { recursiveRoot } from './recursive-root.ts'

export { buildCorpusRepo, type CorpusNeed, type CorpusRepo, type CorpusShape } from './build.ts'

export const CORPUS: readonly CorpusShape[] = [appOfApps, flatWildcard, recursiveRoot, homelabToday, appsetGit, handFollowed]
