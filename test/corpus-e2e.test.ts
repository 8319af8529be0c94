// The whole setup against every corpus repo (sandbox/corpus/): seeded Synced and Healthy, a green
// run, every app Synced and Healthy after it, and a rerun that changes nothing (test/corpus-run.ts).
import { describe, it } from 'node:test'
import { CORPUS } from '../sandbox/corpus/index.ts'
import { setupOnCorpusRepo } from './corpus-run.ts'

describe('the setup on corpus repos', () => {
  for (const shape of CORPUS) {
    it(`${shape.name}: runs green, every app Synced and Healthy, a rerun changes nothing`, { timeout: 240_000 }, () => setupOnCorpusRepo(shape))
  }
})
