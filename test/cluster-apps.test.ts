// Three apps in one run against the sandbox (APPS=it-tools,squoosh,homepage): a GHCR app on sha-
// tags, a Docker Hub app on version tags, and homepage, whose file also holds a Namespace, RBAC and
// a ConfigMap and runs `latest`. Every object keeps its uid through the move, personal-services
// lists none of them any more, each app gets its own Application and ImageUpdater, Image Updater
// moves squoosh to the newest 1.x, and a rerun changes nothing.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { parse } from 'yaml'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { createSampleRepo, SAMPLE_SQUOOSH_IMAGE, type SampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { sandboxCtx } from './helpers.ts'
import { REPO_TASKS } from '../tasks/07-commit-and-deploy.ts'
import { fullRun as runAll } from './full-run.ts'

const PAT = `ghp_${'appsSandboxToken0123456789abcdefghij'}`
const APPS = 'it-tools,squoosh,homepage'

let repo: SampleRepo
let sb: Sandbox
let stateDir: string
const output: string[] = []

function makeCtx(): Ctx {
  return sandboxCtx({ repoDir: repo.dir, kubeconfig: sb.kubeconfigPath, stateDir, pat: PAT, env: { APPS }, log: (l) => output.push(l) })
}

const fullRun = (ctx: Ctx) => runAll(ctx, output, { settle: false })
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo.dir, encoding: 'utf8' }).trim()
const read = (rel: string) => readFileSync(join(repo.dir, rel), 'utf8')

const OBJECTS = [
  { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' },
  { apiVersion: 'v1', kind: 'Service', namespace: 'personal-services', name: 'it-tools' },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'squoosh' },
  { apiVersion: 'v1', kind: 'Service', namespace: 'personal-services', name: 'squoosh' },
  { apiVersion: 'v1', kind: 'Namespace', name: 'homepage' },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'homepage', name: 'homepage' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'homepage' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'homepage' },
  { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'homepage', name: 'homepage' },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'homepage', name: 'homepage' },
  { apiVersion: 'v1', kind: 'Service', namespace: 'homepage', name: 'homepage' },
]

before(async () => {
  repo = createSampleRepo()
  stateDir = mkdtempSync(join(tmpdir(), 'cluster-apps-state-'))
  sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 20, log: (l) => output.push(`[sandbox] ${l}`) })
  const hourAgo = new Date(Date.now() - 3_600_000)
  for (const [tag, at] of [['1.12.0', hourAgo], ['1.13.0', new Date(Date.now() - 600_000)], ['2.0.0', new Date()]] as const) sb.actors.registry.pushTag(SAMPLE_SQUOOSH_IMAGE, tag, at)
})
after(async () => {
  await sb?.stop()
  rmSync(repo.root, { recursive: true, force: true })
  rmSync(stateDir, { recursive: true, force: true })
})

test('three apps in one run: each moved with every object kept, its own Application and ImageUpdater; squoosh updated within 1.x', { timeout: 240_000 }, async () => {
  const uids = OBJECTS.map((ref) => sb.store.get(ref)?.metadata.uid)
  assert.ok(uids.every(Boolean), `the sandbox runs every object before the setup: ${OBJECTS.filter((_, i) => !uids[i]).map((r) => `${r.kind} ${r.name}`).join(', ')}`)
  try {
    await fullRun(makeCtx())
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-60).join('\n')}`)
  }
  assert.deepEqual(OBJECTS.map((ref) => sb.store.get(ref)?.metadata.uid), uids, 'no object was deleted and re-created')

  // one commit for the three apps; personal-services keeps only the other apps
  assert.equal(git('log', '-1', '--format=%s', 'HEAD'), 'Set up Argo CD Image Updater for it-tools, squoosh, homepage')
  assert.match(read('argocd/applications/personal-services.yaml'), /include: "\{calibre-web\.yaml,stirling-pdf\.yaml\}"/)
  for (const name of ['it-tools', 'squoosh', 'homepage']) {
    assert.equal(existsSync(join(repo.dir, `k8s/helm/manifests/${name}.yaml`)), false)
    assert.equal(parse(read(`argocd/applications/${name}.yaml`)).spec.source.path, `k8s/helm/manifests/${name}`)
  }
  // homepage moved whole, comments and all
  assert.ok(read('k8s/helm/manifests/homepage/homepage.yaml').includes('# 以下两项为应用本身'))
  assert.equal(parse(read('argocd/applications/homepage.yaml')).spec.destination.namespace, 'homepage')

  // each ImageUpdater as the running tag calls for
  const image = (name: string) => parse(read(`k8s/helm/manifests/${name}/image-updater.yaml`)).spec.applicationRefs[0].images[0]
  assert.deepEqual(image('squoosh'), { alias: 'squoosh', imageName: 'dko0/squoosh:1.x', commonUpdateSettings: { updateStrategy: 'semver' } })
  assert.deepEqual(image('homepage'), { alias: 'homepage', imageName: 'ghcr.io/gethomepage/homepage:latest', commonUpdateSettings: { updateStrategy: 'digest', pullSecret: 'pullsecret:argocd/ghcr-pull-secret' } })
  assert.equal(image('it-tools').commonUpdateSettings.updateStrategy, 'newest-build')
  const values = parse(read('k8s/helm/values/argocd-image-updater.yaml'))
  assert.deepEqual(values.config.registries.map((r: { prefix: string }) => r.prefix), ['ghcr.io', 'docker.io'])
  assert.ok(output.some((l) => /^PASS ImageUpdater squoosh manages the image/.test(l)), output.filter((l) => /ImageUpdater/.test(l)).join('\n'))

  // Image Updater writes squoosh's newest 1.x back (never 2.0.0)
  const deadline = Date.now() + 30_000
  let written = ''
  while (Date.now() < deadline && !written.includes('1.13.0')) {
    await new Promise((r) => setTimeout(r, 200))
    try {
      written = execFileSync('git', ['show', 'main:k8s/helm/manifests/squoosh/.argocd-source-squoosh.yaml'], { cwd: repo.origin, encoding: 'utf8' })
    } catch {
      written = ''
    }
  }
  assert.match(written, /dko0\/squoosh:1\.13\.0/)
  assert.doesNotMatch(written, /2\.0\.0/)

  // a rerun (after Image Updater's own commit came in) changes nothing in the repo
  git('pull', '-q', '--ff-only')
  const head = git('rev-parse', 'HEAD')
  const ctx = makeCtx()
  for (const t of REPO_TASKS) assert.deepEqual((await t.plan(ctx)).map((c) => c.summary), [], `task ${t.id} on a rerun`)
  assert.equal(git('rev-parse', 'HEAD'), head)
})
