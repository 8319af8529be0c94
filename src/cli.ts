// What scripts/run.ts runs: the runner and the tasks. Also the entry of the prebuilt bundle
// (`npm run build`, see src/fast-start.ts), so both paths run the same code.
export { runCli } from './runner.ts'
export { TASKS } from '../tasks/index.ts'
export { runStatus } from './status/command.ts'
