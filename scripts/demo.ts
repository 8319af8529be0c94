// The one-command demo: a sample GitOps repo with a bare origin, the sandbox cluster, the whole
// setup run through the same runner users run, then a new image tag pushed to the sandbox's
// registry and Image Updater rolling it out through git, for two apps: it-tools (GHCR, sha- build
// tags, newest build) and squoosh (Docker Hub, version tags, semver within its major). Cleans up after itself,
// unless --keep: then the sandbox and the repo stay up (until Ctrl-C) with the commands to look around.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { execFileSync } from 'node:child_process'
import { createSampleRepo, SAMPLE_IMAGE_TAG, SAMPLE_SQUOOSH_IMAGE, SAMPLE_SQUOOSH_TAG } from '../sandbox/sample-repo.ts'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'

const PROJECT = resolve(import.meta.dirname, '..')
const IMAGE = 'ghcr.io/meirongdev/it-tools'
const USER = 'meirongdev'

function say(line = ''): void {
  process.stdout.write(`${line}\n`)
}

function runSetup(envFile: string, args: string[] = []): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT, 'scripts', 'run.ts'), '--env-file', envFile, ...args], { cwd: PROJECT, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', fail)
    child.on('close', (code) => done(code ?? 1))
  })
}

function deploymentImage(sandbox: Sandbox, name = 'it-tools'): string | undefined {
  const d = sandbox.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name })
  return d?.spec?.template?.spec?.containers?.[0]?.image
}

/** Waits (by watch) until the app's Deployment runs `image`, or the time is up. */
function waitForImage(sandbox: Sandbox, image: string, timeoutMs: number, name = 'it-tools'): Promise<boolean> {
  return new Promise((done) => {
    if (deploymentImage(sandbox, name) === image) return done(true)
    const timer = setTimeout(() => {
      stop()
      done(false)
    }, timeoutMs)
    const stop = sandbox.store.watch(() => {
      if (deploymentImage(sandbox, name) !== image) return
      clearTimeout(timer)
      stop()
      done(true)
    })
  })
}

/** What to try next; with --keep the sandbox is still there to try it on. */
function nextSteps(keep: { envFile: string; repoDir: string; kubeconfig: string } | undefined): void {
  if (!keep) {
    say('\nWhat to try next:')
    say('  npx tsx scripts/demo.ts --keep     the same, then keeps the sandbox and the repo running to look around')
    say('  README.md, "Try it by hand"        a sample repo and the sandbox of your own, step by step')
    return
  }
  say('\n▶ The sandbox and the repo stay up until you press Ctrl-C. Try, in another terminal:')
  say(`  export KUBECONFIG=${keep.kubeconfig}`)
  say('  kubectl get applications -n argocd          Argo CD Applications and their sync state')
  say('  kubectl -n personal-services get deploy it-tools -o wide')
  say(`  git -C ${keep.repoDir} log --oneline        the setup commit and Image Updater's write-back`)
  say(`  npx tsx scripts/run.ts --env-file ${keep.envFile} --list`)
  say(`  npx tsx scripts/run.ts --env-file ${keep.envFile} --dry-run   everything is up to date`)
}

function untilStopped(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done())
    process.once('SIGTERM', () => done())
  })
}

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep')
  const unknown = process.argv.slice(2).filter((a) => a !== '--keep')
  if (unknown.length) {
    process.stderr.write(`✖ unknown argument ${unknown.join(' ')}\n  fix: npx tsx scripts/demo.ts [--keep]\n`)
    return 1
  }
  const root = mkdtempSync(join(tmpdir(), 'image-updater-demo-'))
  let sandbox: Sandbox | undefined
  try {
    say('▶ Building a sample GitOps repo (before the setup) with a bare origin')
    const repo = createSampleRepo({}, root)
    say(`  ${repo.dir}`)

    say('▶ Starting the sandbox cluster (Kubernetes API + Argo CD, ESO, Vault, Image Updater stand-ins)')
    mkdirSync(join(root, 'kube'))
    sandbox = await startSandbox({ repoDir: repo.dir, dir: join(root, 'kube'), controllerDelayMs: 20 })
    // a throwaway token made up for this demo; the sandbox registry accepts only it
    const token = `ghp_${randomBytes(18).toString('hex')}`
    sandbox.actors.registry.setAuth(USER, token)
    sandbox.actors.registry.pushTag(IMAGE, SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
    sandbox.actors.registry.pushTag(SAMPLE_SQUOOSH_IMAGE, SAMPLE_SQUOOSH_TAG, new Date(Date.now() - 3_600_000))
    say(`  API at ${sandbox.url}, kubeconfig ${sandbox.kubeconfigPath}`)

    const envFile = join(root, 'demo.env')
    writeFileSync(
      envFile,
      [`GITOPS_REPO_DIR=${repo.dir}`, `GITHUB_USERNAME=${USER}`, `GITHUB_PAT=${token}`, `KUBECONFIG=${sandbox.kubeconfigPath}`, `KUBE_CONTEXT=${sandbox.contextName}`, `STATE_DIR=${join(root, 'state')}`, 'SYNC_TIMEOUT_SECONDS=60', 'APPS=it-tools,squoosh', 'GITHUB_API_URL=off', ''].join('\n'),
      { mode: 0o600 },
    )

    say('\n▶ APPS=it-tools,squoosh npx tsx scripts/run.ts   (the whole setup, tasks 0-9, two apps)\n')
    const code = await runSetup(envFile)
    if (code !== 0) {
      say(`\n✖ the setup exited ${code}`)
      return code
    }

    say('\n▶ What changed in git')
    say(execFileSync('git', ['-C', repo.dir, 'log', '--format=  %h %s', '-n', '3'], { encoding: 'utf8' }).trimEnd())
    say('\n▶ The Argo CD Applications the setup created or changed')
    const ours = new Set(['argocd-image-updater', 'it-tools', 'squoosh', 'personal-services', 'vault-eso'])
    for (const app of sandbox.store.list('argoproj.io/v1alpha1', 'Application', 'argocd').filter((a) => ours.has(a.metadata.name)))
      say(`  ${app.metadata.name.padEnd(22)} ${String(app.status?.sync?.status).padEnd(9)} ${String(app.status?.health?.status).padEnd(9)} ${String(app.status?.sync?.revision ?? '').slice(0, 7)}`)
    say(`\n  it-tools runs ${deploymentImage(sandbox)}, squoosh runs ${deploymentImage(sandbox, 'squoosh')}`)

    const newTag = `sha-${randomBytes(4).toString('hex')}`
    say(`\n▶ New releases: ${IMAGE}:${newTag} on GHCR; ${SAMPLE_SQUOOSH_IMAGE}:1.13.0 and 2.0.0 on Docker Hub`)
    sandbox.actors.registry.pushTag(IMAGE, newTag, new Date())
    sandbox.actors.registry.pushTag(SAMPLE_SQUOOSH_IMAGE, '1.13.0', new Date())
    sandbox.actors.registry.pushTag(SAMPLE_SQUOOSH_IMAGE, '2.0.0', new Date())
    const [itTools, squoosh] = await Promise.all([waitForImage(sandbox, `${IMAGE}:${newTag}`, 60_000), waitForImage(sandbox, `${SAMPLE_SQUOOSH_IMAGE}:1.13.0`, 60_000, 'squoosh')])
    if (!itTools || !squoosh) {
      say(`✖ after 60 s it-tools runs ${deploymentImage(sandbox)}, squoosh runs ${deploymentImage(sandbox, 'squoosh')}`)
      return 1
    }
    const writeBacks = execFileSync('git', ['-C', repo.origin, 'log', '-2', '--format=    %h %an: %s', 'main'], { encoding: 'utf8' }).trimEnd()
    say(`  Image Updater wrote them back to git:\n${writeBacks}`)
    say(`  Argo CD rolled them out: it-tools now runs ${deploymentImage(sandbox)}`)
    say(`                           squoosh now runs ${deploymentImage(sandbox, 'squoosh')} (newest 1.x: semver within its major, 2.0.0 left alone)`)

    say('\n▶ Running the setup again: every task is already done\n')
    execFileSync('git', ['-C', repo.dir, 'pull', '-q', '--ff-only'])
    const again = await runSetup(envFile)
    say(again === 0 ? '\n✔ Demo finished.' : `\n✖ the rerun exited ${again}`)
    nextSteps(keep ? { envFile, repoDir: repo.dir, kubeconfig: sandbox.kubeconfigPath } : undefined)
    if (keep) {
      await untilStopped()
      say('\nStopping the sandbox and removing the demo folder.')
    }
    return again
  } finally {
    await sandbox?.stop()
    rmSync(root, { recursive: true, force: true })
  }
}

process.exitCode = await main()
