// PENDING (not in `npm test`): the whole setup against the corpus repos the product cannot yet pass
// every time, then a rerun that changes nothing. Run with `npm run test:corpus-e2e`.
//   recursive-root: the root Application manages itself (argocd/ holds root.yaml) with selfHeal.
//     Passed alone, but in one CI run under load it-tools' Deployment got a new uid during the move:
//     the root's self-heal raced the paused auto-prune of personal-services. The pause must hold
//     against a parent that re-applies itself, not only its children (issue 10's app-of-apps work).
// Move a shape into READY in test/corpus-run.ts once it passes every time; do not weaken the checks.
import { describe, it } from 'node:test'
import { CORPUS } from '../../sandbox/corpus/index.ts'
import { READY, setupOnCorpusRepo } from '../corpus-run.ts'

describe('the setup on the corpus repos that wait on other work', () => {
  for (const shape of CORPUS.filter((s) => !READY.includes(s.name))) {
    it(`${shape.name}: runs green, every app Synced and Healthy, a rerun changes nothing`, { timeout: 240_000 }, () => setupOnCorpusRepo(shape))
  }
})
