// Proof: bad input is refused cleanly. Each case runs the real CLI against a fresh sample GitOps repo
// (and a fresh sandbox when the case is about the cluster) and must: exit non-zero, print a cause and
// a `fix:` line, leave every file of the checkout byte-identical (and its HEAD, refs and index), and
// push nothing. Prints a line per case and `N/N refused cleanly`; on success, rewrites the
// "Bad input" table of docs/QUALITY.md.
//
//   npm run proof:inputs
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox, type Sandbox } from '../../sandbox/index.ts'
import { createSampleRepo, sampleFiles, SAMPLE_IMAGE_TAG, type SampleRepo } from '../../sandbox/sample-repo.ts'
import { runSetup, type RunResult } from '../../test/helpers.ts'
import { replaceQualitySection } from './lib.ts'

const USER = 'meirongdev'

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim()
}

/** Everything a run could change in a checkout: each file's bytes (hashed), HEAD, refs, the staged set. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (rel === '' && e.name === '.git') continue
      const p = join(d, e.name)
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isSymbolicLink()) out.set(r, `-> ${readlinkSync(p)}`)
      else if (e.isDirectory()) walk(p, r)
      else out.set(r, createHash('sha256').update(readFileSync(p)).digest('hex'))
    }
  }
  walk(dir, '')
  try {
    out.set('.git: HEAD', readFileSync(join(dir, '.git', 'HEAD'), 'utf8'))
    out.set('.git: refs', git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'))
    out.set('.git: staged', git(dir, 'diff', '--cached', '--name-status'))
    out.set('.git: stash', git(dir, 'stash', 'list'))
  } catch {
    out.set('.git', 'not a repository')
  }
  return out
}

function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()])
  return [...keys].filter((k) => a.get(k) !== b.get(k))
}

interface Env {
  repo: SampleRepo
  stateDir: string
  env: NodeJS.ProcessEnv
  sandbox?: Sandbox
  /** where the case may put files of its own (kubeconfigs), outside the checkout */
  scratch: string
}

interface Case {
  name: string
  /** file overrides of the sample repo (null removes a file) */
  files?: Record<string, string | null>
  env?: NodeJS.ProcessEnv
  args?: string[]
  cluster?: boolean
  prepare?: (e: Env) => void | Promise<void>
  cause: RegExp
  /** why this case cannot print a fix: line (the message comes from Node, before the tool runs) */
  noFixBecause?: string
}

const homelab = sampleFiles['argocd/projects/homelab.yaml']
const services = sampleFiles['argocd/applications/personal-services.yaml']
const vaultEso = sampleFiles['argocd/applications/vault-eso.yaml']
const itTools = sampleFiles['k8s/helm/manifests/it-tools.yaml']
const VALUES = 'k8s/helm/values/argocd-image-updater.yaml'

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer()
    srv.once('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => done(port))
    })
  })
}

const CASES: Case[] = [
  { name: 'no settings at all (no .env, nothing in the environment)', env: { GITOPS_REPO_DIR: undefined, GITHUB_USERNAME: undefined }, cause: /missing settings GITOPS_REPO_DIR, GITHUB_USERNAME/ },
  {
    name: 'settings file given with --env-file does not exist',
    args: ['--env-file', 'nowhere.env'],
    cause: /node: nowhere\.env: not found/,
    noFixBecause: 'Node itself reads an --env-file argument, even after the script name, and exits 9 before the tool starts (nodejs/node#54232)',
  },
  { name: 'empty GITOPS_REPO_DIR', env: { GITOPS_REPO_DIR: '' }, cause: /missing setting GITOPS_REPO_DIR/ },
  { name: 'empty GITHUB_USERNAME', env: { GITHUB_USERNAME: '  ' }, cause: /missing setting GITHUB_USERNAME/ },
  { name: 'invalid image reference', env: { IMAGE: 'ghcr.io/MeiRong/it-tools:latest' }, cause: /is not an image reference/ },
  { name: 'tag regex that does not compile', env: { TAG_REGEX: '^sha-[0-9a-f+$' }, cause: /TAG_REGEX .* does not compile/ },
  { name: 'unknown update strategy', env: { UPDATE_STRATEGY: 'latest' }, cause: /UPDATE_STRATEGY "latest" is not an Image Updater strategy/ },
  { name: 'unsupported chart version (0.x, annotations only)', env: { CHART_VERSION: '0.14.0' }, cause: /Image Updater 0\.x/ },
  { name: 'unsupported chart version (newer than known)', env: { CHART_VERSION: '2.0.0' }, cause: /newer than the charts this setup knows/ },
  { name: 'AppProject file missing', files: { 'argocd/projects/homelab.yaml': null }, cause: /homelab\.yaml does not exist/ },
  { name: 'AppProject file does not parse', files: { 'argocd/projects/homelab.yaml': homelab.replace('  description: "Homelab apps"', '  description: "Homelab apps\n  bad: [') }, cause: /homelab\.yaml:\d+: YAML does not parse/ },
  { name: 'AppProject file of the wrong kind', files: { 'argocd/projects/homelab.yaml': homelab.replace('kind: AppProject', 'kind: ConfigMap') }, cause: /homelab\.yaml:\d+: expected an Argo CD AppProject, found kind ConfigMap/ },
  { name: 'personal-services Application missing', files: { 'argocd/applications/personal-services.yaml': null }, cause: /personal-services\.yaml does not exist/ },
  { name: 'personal-services does not parse', files: { 'argocd/applications/personal-services.yaml': services.replace('  project: homelab', '  project: homelab\n   bad indent: [') }, cause: /personal-services\.yaml:\d+: YAML does not parse/ },
  { name: 'personal-services of the wrong kind', files: { 'argocd/applications/personal-services.yaml': services.replace('kind: Application', 'kind: ApplicationSet') }, cause: /personal-services\.yaml:\d+: expected an Argo CD Application/ },
  { name: 'personal-services include behind a YAML merge key', files: { 'argocd/applications/personal-services.yaml': services.replace(/    directory:\n.*\n.*\n/, '    directory: {<<: {include: "{it-tools.yaml}"}}\n') }, cause: /personal-services\.yaml:\d+: spec\.source\.directory uses a YAML merge key/ },
  { name: 'APP_NAME that names no app (typo)', env: { APP_NAME: 'it-tool' }, cause: /no app named it-tool: .*apps found: / },
  { name: 'vault-eso Application missing', files: { 'argocd/applications/vault-eso.yaml': null }, cause: /vault-eso\.yaml does not exist/ },
  { name: 'vault-eso does not parse', files: { 'argocd/applications/vault-eso.yaml': vaultEso.replace('  project: homelab', '  project: [homelab') }, cause: /vault-eso\.yaml:\d+: YAML does not parse/ },
  { name: 'vault-eso of the wrong kind', files: { 'argocd/applications/vault-eso.yaml': vaultEso.replace('kind: Application', 'kind: AppProject') }, cause: /vault-eso\.yaml:\d+: expected an Argo CD Application, found kind AppProject/ },
  { name: 'vault-eso wildcard include that does not select the new file', files: { 'argocd/applications/vault-eso.yaml': vaultEso.replace(/include: '.*'/, "include: '*-store.yaml'") }, cause: /vault-eso\.yaml:\d+: the Application's include\/exclude \(\*-store\.yaml\) does not select github-external-secret\.yaml/ },
  { name: 'it-tools.yaml does not parse', files: { 'k8s/helm/manifests/it-tools.yaml': itTools.replace('  replicas: 1', '  replicas: [1') }, cause: /it-tools\.yaml:\d+: YAML does not parse/ },
  { name: 'it-tools.yaml with a document without kind', files: { 'k8s/helm/manifests/it-tools.yaml': `${itTools}---\nmetadata:\n  name: stray\n` }, cause: /it-tools\.yaml:\d+: a document without kind/ },
  { name: 'Image Updater values file does not parse', files: { [VALUES]: 'config:\n  log.level: [debug\n' }, cause: /argocd-image-updater\.yaml:\d+: YAML does not parse/ },
  { name: 'Image Updater values file of the wrong shape (config not a map)', files: { [VALUES]: 'config: debug\n' }, cause: /argocd-image-updater\.yaml:\d+: expected config to be a map of chart settings/ },
  { name: 'GITOPS_REPO_DIR is not a git repository', prepare: (e) => void (e.env.GITOPS_REPO_DIR = e.scratch), cause: /is not a git checkout/ },
  { name: 'wrong branch checked out', prepare: (e) => void git(e.repo.dir, 'switch', '-q', '-c', 'feature'), cause: /on branch feature, not main/ },
  { name: 'detached HEAD', prepare: (e) => void git(e.repo.dir, 'checkout', '-q', '--detach'), cause: /detached HEAD/ },
  {
    name: 'unrelated staged changes',
    prepare: (e) => {
      writeFileSync(join(e.repo.dir, 'notes.txt'), 'mine\n')
      git(e.repo.dir, 'add', 'notes.txt')
    },
    cause: /staged changes the setup does not manage: notes\.txt/,
  },
  { name: "the user's uncommitted edit in a file the setup edits", prepare: (e) => writeFileSync(join(e.repo.dir, 'argocd/projects/homelab.yaml'), homelab.replace('Homelab apps', 'My apps')), cause: /uncommitted edits that this setup did not make in argocd\/projects\/homelab\.yaml/ },
  { name: 'path setting leading outside the repo (MANIFESTS_DIR=../../x)', env: { MANIFESTS_DIR: '../../x' }, cause: /MANIFESTS_DIR "\.\.\/\.\.\/x" leads outside the GitOps repo/ },
  { name: 'path setting that is absolute (PLAN_DIR=/abs)', env: { PLAN_DIR: '/abs/plans' }, cause: /PLAN_DIR "\/abs\/plans" is an absolute path/ },
  { name: 'name setting that is no Kubernetes name (APP_NAME=It_Tools)', env: { APP_NAME: 'It_Tools' }, cause: /APP_NAME "It_Tools" is not a Kubernetes Service name/ },
  { name: 'APP_NAME that is a path (../../../../x)', env: { APP_NAME: '../../../../x' }, cause: /APP_NAME "\.\.\/\.\.\/\.\.\/\.\.\/x" is not a Kubernetes Service name/ },
  { name: 'SYNC_TIMEOUT_SECONDS above the timer limit (2147484)', env: { SYNC_TIMEOUT_SECONDS: '2147484' }, cause: /SYNC_TIMEOUT_SECONDS 2147484 is above 2147483 s/ },
  { name: 'GITHUB_PAT with a double quote', env: { GITHUB_PAT: 'ghp_abc"def' }, cause: /GITHUB_PAT contains a quote or backslash/ },
  {
    name: 'a managed folder that is a symlink to outside the repo',
    prepare: (e) => {
      renameSync(join(e.repo.dir, 'argocd/projects'), join(e.scratch, 'projects'))
      symlinkSync(join(e.scratch, 'projects'), join(e.repo.dir, 'argocd/projects'))
      git(e.repo.dir, 'add', '-A')
      git(e.repo.dir, 'commit', '-q', '-m', 'projects live elsewhere')
    },
    cause: /argocd\/projects\/homelab\.yaml leads outside the GitOps repo/,
  },
  { name: 'a read-only file the setup must edit', prepare: (e) => chmodSync(join(e.repo.dir, 'argocd/projects/homelab.yaml'), 0o444), cause: /argocd\/projects\/homelab\.yaml is read-only \(mode 444\)/ },
  {
    name: 'saved progress that is not valid JSON',
    prepare: async (e) => {
      const { stateFileOf } = await import('../../src/state.ts')
      mkdirSync(e.stateDir, { recursive: true })
      writeFileSync(stateFileOf(e.stateDir, e.repo.dir), '{"version": 1, "repoDir": ')
    },
    cause: /saved progress .* is not valid JSON/,
  },
  { name: 'branch without an upstream', prepare: (e) => void git(e.repo.dir, 'branch', '--unset-upstream'), cause: /branch main has no upstream/ },
  {
    name: 'KUBE_CONTEXT names a context the kubeconfig does not have',
    cluster: true,
    env: { KUBE_CONTEXT: 'homelab-prod' },
    cause: /KUBE_CONTEXT homelab-prod is not in the kubeconfig .* \(contexts: sandbox, sandbox-token\)/,
  },
  {
    name: 'wrong cluster: the context reaches another cluster than this repo ran against (bound by its kube-system uid, whatever the context is called)',
    cluster: true,
    env: { KUBE_CONTEXT: '' },
    prepare: async (e) => {
      const { StateStore } = await import('../../src/state.ts')
      await new StateStore(e.stateDir, e.repo.dir).recordCluster({ server: 'https://10.0.0.1:6443', kubeSystemUid: '0b3c0c1e-0000-4000-8000-000000000001', context: 'homelab', recordedAt: '2026-01-01T00:00:00.000Z' })
    },
    cause: /kube context sandbox reaches http\S+ \(kube-system uid \S+\), not the cluster this GitOps repo's setup ran against \(https:\/\/10\.0\.0\.1:6443/,
  },
  {
    name: "kubeconfig whose client certificate expired (a k3s.yaml copied over a year ago)",
    cluster: true,
    prepare: async (e) => {
      const { createPki } = await import('../../sandbox/apiserver/pki.ts')
      const old = createPki(new Date(), { clientIssuedAt: new Date(Date.now() - 400 * 86_400_000) })
      const b64 = (pem: string) => Buffer.from(pem).toString('base64')
      const file = join(e.scratch, 'expired-cert.kubeconfig')
      const text = readFileSync(e.sandbox!.kubeconfigPath, 'utf8').replace(/client-certificate-data: .*/, `client-certificate-data: ${b64(old.client.certPem)}`).replace(/client-key-data: .*/, `client-key-data: ${b64(old.client.keyPem)}`)
      writeFileSync(file, text, { mode: 0o600 })
      e.env.KUBECONFIG = file
    },
    cause: /the client certificate of kubeconfig user sandbox \(context sandbox, CN=sandbox-admin\) expired on \d{4}-\d\d-\d\d/,
  },
  {
    name: 'unreachable API (kubeconfig pointing at a closed local port)',
    cluster: true,
    prepare: async (e) => {
      const port = await freePort()
      const file = join(e.scratch, 'closed-port.kubeconfig')
      writeFileSync(file, readFileSync(e.sandbox!.kubeconfigPath, 'utf8').replace(/server: .*/, `server: https://127.0.0.1:${port}`), { mode: 0o600 })
      e.env.KUBECONFIG = file
    },
    cause: /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(context sandbox\) is not reachable/,
  },
  { name: 'namespace vault missing', cluster: true, prepare: (e) => void e.sandbox!.store.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'vault' }), cause: /namespace vault does not exist/ },
  { name: 'namespace argocd missing', cluster: true, prepare: (e) => void e.sandbox!.store.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'argocd' }), cause: /namespace argocd does not exist/ },
  { name: 'Vault pod missing', cluster: true, prepare: (e) => void e.sandbox!.store.delete({ apiVersion: 'v1', kind: 'Pod', namespace: 'vault', name: 'vault-0' }), cause: /pod vault\/vault-0 does not exist/ },
  { name: 'Vault sealed', cluster: true, prepare: (e) => e.sandbox!.actors.vault.seal(), cause: /Vault is sealed/ },
  { name: 'Vault CLI not logged in and no VAULT_TOKEN', cluster: true, prepare: (e) => e.sandbox!.actors.vault.logout(), cause: /not logged in/ },
  { name: 'ClusterSecretStore missing', cluster: true, env: { SECRET_STORE: 'vault-nowhere' }, cause: /ClusterSecretStore vault-nowhere does not exist/ },
]

interface Outcome {
  c: Case
  result: RunResult
  problems: string[]
  cause: string
  fix: string
}

/** The message the user reads: the `✖` lines (cause) and the `fix:` lines, temp paths shortened. */
function userMessage(stderr: string, e: Env): { cause: string; fix: string } {
  const from = stderr.indexOf('✖')
  const lines = (from >= 0 ? stderr.slice(from) : stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Fix the cause and run the same command again'))
  const tidy = (s: string) => s.split(e.repo.dir).join('<repo>').split(e.scratch).join('<dir>').split(e.repo.root).join('<tmp>').replace(/^✖ /, '')
  return {
    cause: lines.filter((l) => !l.startsWith('fix:')).map(tidy).join(' '),
    fix: lines.filter((l) => l.startsWith('fix:')).map((l) => tidy(l.slice(4).trim())).join(' / '),
  }
}

async function runCase(c: Case): Promise<Outcome> {
  const root = mkdtempSync(join(tmpdir(), 'proof-inputs-'))
  const repo = createSampleRepo(c.files ?? {}, root)
  const scratch = join(root, 'scratch')
  const stateDir = join(root, 'state')
  mkdirSync(scratch)
  const e: Env = { repo, stateDir, scratch, env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: USER, STATE_DIR: stateDir, GITHUB_API_URL: 'off' } }
  try {
    if (c.cluster) {
      e.sandbox = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20 })
      // assembled at run time so no token-shaped literal sits in the repository
      const token = ['ghp', `PROOFONLY${createHash('sha256').update(root).digest('hex').slice(0, 27)}`].join('_')
      e.sandbox.actors.registry.setAuth(USER, token)
      e.sandbox.actors.registry.pushTag('ghcr.io/meirongdev/it-tools', SAMPLE_IMAGE_TAG, new Date(Date.now() - 3_600_000))
      Object.assign(e.env, { KUBECONFIG: e.sandbox.kubeconfigPath, KUBE_CONTEXT: e.sandbox.contextName, GITHUB_PAT: token, SYNC_TIMEOUT_SECONDS: '30', GITHUB_API_URL: 'off' })
    } else {
      // no cluster: anything that reaches the cluster check would fail on this, not on the case
      Object.assign(e.env, { KUBECONFIG: join(scratch, 'no-such-kubeconfig') })
    }
    Object.assign(e.env, c.env ?? {})
    await c.prepare?.(e)
    for (const [k, v] of Object.entries(e.env)) if (v === undefined) delete e.env[k]
    const before = snapshot(repo.dir)
    const originBefore = git(repo.origin, 'for-each-ref', '--format=%(refname) %(objectname)')
    const mutatingBefore = e.sandbox?.stats().mutatingTotal ?? 0
    const result = await runSetup(c.args ?? [], e.env)
    const problems: string[] = []
    if (result.code === 0) problems.push('exit code 0')
    if (!c.cause.test(result.stderr)) problems.push(`cause not printed (want ${c.cause})`)
    if (!c.noFixBecause && !/^\s*fix: \S/m.test(result.stderr)) problems.push('no fix: line')
    const changed = differences(before, snapshot(repo.dir))
    if (changed.length) problems.push(`checkout changed: ${changed.join(', ')}`)
    if (git(repo.origin, 'for-each-ref', '--format=%(refname) %(objectname)') !== originBefore) problems.push('something was pushed')
    const writes = (e.sandbox?.stats().mutatingTotal ?? 0) - mutatingBefore
    if (writes) problems.push(`${writes} cluster write(s)`)
    return { c, result, problems, ...userMessage(result.stderr, e) }
  } finally {
    await e.sandbox?.stop()
    rmSync(root, { recursive: true, force: true })
  }
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/`/g, "'").replace(/\n/g, ' ')

async function main(): Promise<number> {
  const started = Date.now()
  const outcomes: Outcome[] = []
  for (const c of CASES) {
    const o = await runCase(c)
    outcomes.push(o)
    const ok = o.problems.length === 0
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${c.name}: exit ${o.result.code}; ${o.cause.slice(0, 140)}\n`)
    if (!ok) process.stdout.write(`     ${o.problems.join('; ')}\n     stderr:\n${o.result.stderr.replace(/^/gm, '       ')}\n`)
  }
  const clean = outcomes.filter((o) => o.problems.length === 0).length
  process.stdout.write(`\n${clean}/${outcomes.length} refused cleanly (${((Date.now() - started) / 1000).toFixed(1)} s)\n`)
  // The table is written either way, so the document never claims more than the last run showed.
  replaceQualitySection(
    'inputs',
    [
      `Run ${new Date().toISOString().slice(0, 10)} by \`npm run proof:inputs\`: **${clean}/${outcomes.length} refused cleanly**. Each case ran \`scripts/run.ts\` (all tasks, no flags unless shown) against a fresh sample GitOps repo, and a fresh sandbox cluster for the cluster cases. "clean" means: exit non-zero, a cause and a \`fix:\` line printed, every file of the checkout byte-identical (and HEAD, refs, index), nothing pushed, no cluster write. \`<repo>\` stands for the checkout's path, \`<dir>\` for a scratch folder.`,
      '',
      '| # | bad input | exit | what the user reads | fix | result |',
      '| --- | --- | --- | --- | --- | --- |',
      ...outcomes.map(
        (o, i) =>
          `| ${i + 1} | ${md(o.c.name)}${o.c.cluster ? ' (sandbox)' : ''}${o.c.args ? ` (\`${o.c.args.join(' ')}\`)` : ''} | ${o.result.code} | ${md(o.cause)} | ${md(o.fix) || (o.c.noFixBecause ? `(none: ${md(o.c.noFixBecause)})` : '(none)')} | ${o.problems.length ? `**FAIL**: ${md(o.problems.join('; '))}` : 'clean'} |`,
      ),
    ].join('\n'),
  )
  return clean === outcomes.length ? 0 : 1
}

process.exitCode = await main()
