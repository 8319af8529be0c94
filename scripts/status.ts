// Entry point: npx tsx scripts/status.ts [--json] [--offline] [--env-file f] (see --help)
// Whether Image Updater still keeps each app up to date, and why not. Runs the prebuilt bundle of
// src/cli.ts when it is fresh (as scripts/run.ts does, see src/fast-start.ts), else the sources.
import { resolve } from 'node:path'
import { freshBundle, importBundle } from '../src/fast-start.ts'

const projectDir = resolve(import.meta.dirname, '..')
const bundle = freshBundle(projectDir)
type Cli = typeof import('../src/cli.ts')
const { runStatus }: Cli = bundle ? await importBundle<Cli>(bundle) : await import('../src/cli.ts')

process.exitCode = await runStatus(process.argv.slice(2))
