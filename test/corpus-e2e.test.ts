// The whole setup against the corpus repos the product passes today (see test/corpus-run.ts);
// the others are in test/pending/corpus-e2e.test.ts with what they wait on.
import { describe, it } from 'node:test'
import { CORPUS } from '../sandbox/corpus/index.ts'
import { READY, setupOnCorpusRepo } from './corpus-run.ts'

describe('the setup on corpus repos', () => {
  for (const shape of CORPUS.filter((s) => READY.includes(s.name))) {
    it(`${shape.name}: runs green, every app Synced and Healthy, a rerun changes nothing`, { timeout: 240_000 }, () => setupOnCorpusRepo(shape))
  }
})
