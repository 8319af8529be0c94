// Makes the sample "before" GitOps repo (the one tests, sandbox and demo use) with a bare origin, to
// try the setup by hand: `npx tsx scripts/sample-repo.ts [dir]` (default: a new temp folder).
// Prints the checkout to put in GITOPS_REPO_DIR and to give the sandbox as --repo.
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createSampleRepo } from '../sandbox/sample-repo.ts'

const arg = process.argv[2]
if (arg === '--help' || arg === '-h') {
  process.stdout.write('usage: npx tsx scripts/sample-repo.ts [dir]   (dir: an empty or new folder; default a temp folder)\n')
  process.exit(0)
}
let root: string | undefined
if (arg) {
  root = resolve(arg)
  if (existsSync(root) && readdirSync(root).length > 0) {
    process.stderr.write(`✖ ${root} is not empty\n  fix: give a new or empty folder, e.g. npx tsx scripts/sample-repo.ts /tmp/try-setup\n`)
    process.exit(1)
  }
  mkdirSync(root, { recursive: true })
}
const repo = createSampleRepo({}, root)
process.stdout.write(`sample GitOps repo: ${repo.dir}\nits origin (bare):  ${repo.origin}\n`)
