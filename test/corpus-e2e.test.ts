// The whole setup against the corpus repos (sandbox/corpus/) the product passes every time: seeded
// Synced and Healthy, a green run, every app Synced and Healthy after it, a rerun that changes
// nothing, and a retirement that keeps every app running (test/corpus-run.ts). Alone: `npm run test:corpus-e2e`.
import { describe, it } from 'node:test'
import { CORPUS } from '../sandbox/corpus/index.ts'
import { READY, setupOnCorpusRepo } from './corpus-run.ts'

describe('the setup on corpus repos', () => {
  for (const shape of CORPUS.filter((s) => READY.includes(s.name))) {
    it(`${shape.name}: runs green, every app Synced and Healthy, a rerun changes nothing, --retire keeps every app running`, { timeout: 240_000 }, () => setupOnCorpusRepo(shape))
  }
})
