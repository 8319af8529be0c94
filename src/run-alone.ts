// Lets every task file run by itself: `npx tsx tasks/05-install-image-updater.ts [--dry-run]`.
import { pathToFileURL } from 'node:url'
import type { Task } from './task.ts'

export async function runIfMain(meta: ImportMeta, task: Task): Promise<void> {
  if (!process.argv[1] || meta.url !== pathToFileURL(process.argv[1]).href) return
  const { runCli } = await import('./runner.ts')
  process.exitCode = await runCli(process.argv.slice(2), [task])
}
