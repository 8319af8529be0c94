// Entry point: npx tsx scripts/run.ts [--only 5] [--dry-run] ... (see --help)
import { runCli } from '../src/runner.ts'
import { TASKS } from '../tasks/index.ts'

process.exitCode = await runCli(process.argv.slice(2), TASKS)
