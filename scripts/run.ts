// Entry point: npx tsx scripts/run.ts [--only 5] [--dry-run] ... (see --help)
// Runs the prebuilt bundle of src/cli.ts when it is fresh (built by `npm install`; see
// src/fast-start.ts), else the sources through tsx: the same code either way.
// SETUP_SHOW_START=1 says which one ran and why.
import { resolve } from 'node:path'
import { bundleStaleness, freshBundle, importBundle } from '../src/fast-start.ts'
import { runOneDown, underTsxCli } from '../src/tsx-parent.ts'

const projectDir = resolve(import.meta.dirname, '..')
const args = process.argv.slice(2)
// under `npx tsx` a run that holds the lock goes one process down (src/tsx-parent.ts): tsx's CLI
// would SIGKILL a run busy at the moment of Ctrl-C; --help and --list hold nothing
if (underTsxCli() && !args.some((a) => a === '--help' || a === '-h' || a === '--list')) {
  process.exitCode = await runOneDown(import.meta.filename, args, import.meta.resolve('tsx'))
} else {
  const bundle = freshBundle(projectDir)
  if (process.env.SETUP_SHOW_START) process.stderr.write(bundle ? `start: bundle ${bundle}\n` : `start: sources (${bundleStaleness(projectDir)})\n`)
  type Cli = typeof import('../src/cli.ts')
  const { runCli, TASKS }: Cli = bundle ? await importBundle<Cli>(bundle) : await import('../src/cli.ts')

  process.exitCode = await runCli(args, TASKS)
}
