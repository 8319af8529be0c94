// Runs the sandbox cluster in the foreground: `npx tsx scripts/sandbox.ts --repo <GitOps repo dir> [--port N]`.
// Prints the kubeconfig to use (HTTPS with a fresh CA and an admin client certificate, like k3s's),
// a kubectl line that works as printed, one ready line, and runs until SIGINT/SIGTERM.
// `npx tsx scripts/sandbox.ts publish <image>:<tag>` (from another terminal) adds a tag to the
// running sandbox's registry, through its dir (--dir, else the folder of $KUBECONFIG).
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { delimiter, dirname, resolve } from 'node:path'
import { parseImageTag, sendControl } from '../sandbox/control.ts'

const USAGE = 'usage: npx tsx scripts/sandbox.ts --repo <GitOps repo dir> [--port N] [--dir <kubeconfig dir>] [--strict] [--verbose]\n       npx tsx scripts/sandbox.ts publish <image>:<tag> [--dir <kubeconfig dir>]'

/** `publish <image>:<tag> [--dir D]`: the running sandbox of D (or of $KUBECONFIG's folder) pushes the tag. */
async function publish(argv: string[]): Promise<void> {
  let ref: string | undefined
  let dir: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--dir') dir = argv[++i]
    else if (arg.startsWith('--dir=')) dir = arg.slice('--dir='.length)
    else if (!arg.startsWith('-') && ref === undefined) ref = arg
    else throw new Error(`unknown argument "${arg}"`)
  }
  if (!ref) throw new Error('publish needs <image>:<tag>, e.g. publish ghcr.io/meirongdev/it-tools:sha-1234567')
  const { image, tag } = parseImageTag(ref)
  const kubeconfig = process.env.KUBECONFIG?.split(delimiter).find(Boolean)
  if (!dir && !kubeconfig) throw new Error('publish needs the sandbox\'s dir: --dir <the --dir it was started with>, or KUBECONFIG set to its kubeconfig')
  const answer = await sendControl(resolve(dir ?? dirname(kubeconfig!)), { action: 'publish', image, tag })
  if (!answer.ok) throw new Error(answer.message)
  console.log(answer.message)
}

interface Args {
  repo: string
  port: number
  dir?: string
  verbose: boolean
  /** refuse to start when part of the repo cannot be modelled (opaque apps, unknown kinds) */
  strict: boolean
}

function parseArgs(argv: string[]): Args {
  let repo: string | undefined
  let port = 0
  let dir: string | undefined
  let verbose = false
  let strict = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`)
      return v
    }
    if (flag === '--repo') repo = value()
    else if (flag === '--port') {
      const v = value()
      port = Number(v)
      if (!/^\d+$/.test(v) || port > 65535) throw new Error(`--port must be a number from 0 to 65535, not "${v}"`)
    } else if (flag === '--dir') dir = resolve(value())
    else if (flag === '--verbose' || flag === '-v') verbose = true
    else if (flag === '--strict') strict = true
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else throw new Error(`unknown argument "${arg}"`)
  }
  if (!repo) throw new Error('--repo is required')
  repo = resolve(repo)
  if (!existsSync(repo) || !statSync(repo).isDirectory()) throw new Error(`--repo ${repo} is not a directory`)
  if (!existsSync(resolve(repo, '.git'))) throw new Error(`--repo ${repo} is not a git checkout (no .git)`)
  return { repo, port, dir, verbose, strict }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'publish') {
    try {
      await publish(process.argv.slice(3))
    } catch (e) {
      console.error(`sandbox publish: ${(e as Error).message}`)
      process.exit(1)
    }
    return
  }
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    console.error(`sandbox: ${(e as Error).message}\n${USAGE}`)
    process.exit(1)
  }
  if (args.dir) mkdirSync(args.dir, { recursive: true })
  // loaded here, not at the top: `publish` needs none of it and answers in a moment
  const { startSandbox, TOKEN_CONTEXT_NAME } = await import('../sandbox/index.ts')
  const { reportLines } = await import('../sandbox/actors/seed.ts')
  const sandbox = await startSandbox({
    repoDir: args.repo,
    port: args.port,
    dir: args.dir,
    log: args.verbose ? (line) => console.log(`  ${line}`) : undefined,
    strict: args.strict,
  })
  const kubectl = `kubectl --kubeconfig ${sandbox.kubeconfigPath}`
  // One line per Application (sync, health) and what the sandbox could not model.
  console.log('Applications at start:')
  const contexts = Object.fromEntries([['in-cluster', sandbox.contextName], ...sandbox.clusters.map((c) => [c.name, c.name])])
  for (const line of reportLines(sandbox.actors.report, contexts)) console.log(line)
  console.log(`kubeconfig: ${sandbox.kubeconfigPath}`)
  console.log(`try: ${kubectl} get applications -A`)
  for (const c of sandbox.clusters) console.log(`cluster ${c.name} (${c.server} in the repo) at ${c.url}: ${kubectl} --context ${c.name} get pods -A`)
  // what a run against this sandbox needs beyond KUBECONFIG, one `setting KEY=VALUE` each
  for (const [key, value] of Object.entries(sandbox.settings)) console.log(`setting ${key}=${value}`)
  console.log(`export KUBECONFIG=${sandbox.kubeconfigPath}`)
  console.log(`publish an image tag (from another terminal): npx tsx scripts/sandbox.ts publish <image>:<tag>${args.dir ? ` --dir ${args.dir}` : ` --dir ${dirname(sandbox.kubeconfigPath)}`}`)
  console.log(
    `sandbox ready at ${sandbox.url} (repo ${args.repo}; context ${sandbox.contextName}: client certificate, context ${TOKEN_CONTEXT_NAME}: bearer token); stats: ${kubectl} get --raw /sandbox/stats; Ctrl-C to stop`,
  )

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    try {
      await sandbox.stop()
      console.log(`sandbox stopped (${signal})`)
      process.exit(0)
    } catch (e) {
      console.error(`sandbox: stopping failed: ${(e as Error).message}`)
      process.exit(1)
    }
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((e) => {
  console.error(`sandbox: ${(e as Error).message}`)
  process.exit(1)
})
