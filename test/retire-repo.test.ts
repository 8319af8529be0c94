// The repo half of `--retire` for a Helm app that stays in place: Image Updater's write-back file
// holds Helm parameters, not kustomize images; they go into the Application's own source (Argo CD
// merges the file's parameters over the source's by name, so the render does not change), the
// owner's lines and comments stay, and the write-back file, the ImageUpdater and its entry go.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { createSampleRepo } from '../sandbox/sample-repo.ts'
import type { Ctx } from '../src/context.ts'
import { loadConfig } from '../src/settings.ts'
import { StateStore } from '../src/state.ts'
import { findFootprint } from '../src/lifecycle/footprint.ts'
import { planRetireRepo } from '../src/lifecycle/retire.ts'
import { pinHelmParameters, removeListItem } from '../src/lifecycle/yaml-lists.ts'

const HELM_APP = `# 网站：自己的 chart
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/meirongdev/homelab.git
    targetRevision: main
    path: charts/web
    helm:
      valueFiles:
        - values.yaml   # the owner's values
  destination:
    server: https://kubernetes.default.svc
    namespace: web
`
const IU_FILE = `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: web
  namespace: argocd
spec:
  applicationRefs:
    - namePattern: web
      images:
        - alias: web
          imageName: ghcr.io/meirongdev/web
          manifestTargets:
            helm:
              name: image.repository
              tag: image.tag
`
const WRITE_BACK = `helm:
  parameters:
  - name: image.tag
    value: "20260101"
    forcestring: true
`

function withRepo(files: Record<string, string>, fn: (ctx: Ctx, dir: string) => Promise<void>) {
  return async () => {
    const repo = createSampleRepo(files)
    const state = mkdtempSync(join(tmpdir(), 'retire-repo-state-'))
    try {
      const { settings, secrets } = loadConfig({ env: { GITOPS_REPO_DIR: repo.dir, GITHUB_USERNAME: 'meirongdev', STATE_DIR: state }, cwd: '/nonexistent-dir' })
      const ctx = { settings, secrets, repoDir: repo.dir, projectDir: resolve(import.meta.dirname, '..'), dryRun: false, yes: true, log: () => {}, touchedPaths: new Set(), state: new StateStore(state, repo.dir) } as Ctx
      await fn(ctx, repo.dir)
    } finally {
      rmSync(repo.root, { recursive: true, force: true })
      rmSync(state, { recursive: true, force: true })
    }
  }
}

const files = {
  'argocd/applications/web.yaml': HELM_APP,
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'charts/web/values.yaml': 'image:\n  repository: ghcr.io/meirongdev/web\n  tag: "20250101"\n',
  'charts/web/.argocd-source-web.yaml': WRITE_BACK,
  'argocd/image-updaters/kustomization.yaml': 'resources:\n  - web.yaml\n  - other.yaml\n',
  'argocd/image-updaters/web.yaml': IU_FILE,
  'argocd/image-updaters/other.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: argocd\n',
}

test("a Helm app's last written parameters are set in its Application's source; the owner's lines and comments stay; the write-back file and the ImageUpdater go", withRepo(files, async (ctx, dir) => {
  const changes = await planRetireRepo(ctx, await findFootprint(ctx))
  const summary = changes.map((c) => c.summary).join('\n')
  assert.match(summary, /edit argocd\/applications\/web\.yaml \(set image\.tag=20260101: the Helm parameters Image Updater last wrote\)/)
  assert.match(summary, /delete charts\/web\/\.argocd-source-web\.yaml \(Image Updater's write-back file; its parameters are set in argocd\/applications\/web\.yaml\)/)
  assert.match(summary, /delete argocd\/image-updaters\/web\.yaml \(ImageUpdater web\)/)
  for (const c of changes) await c.apply()
  const app = readFileSync(join(dir, 'argocd/applications/web.yaml'), 'utf8')
  assert.deepEqual(parse(app).spec.source.helm, { valueFiles: ['values.yaml'], parameters: [{ name: 'image.tag', value: '20260101', forceString: true }] })
  assert.ok(app.startsWith('# 网站：自己的 chart\n'), 'the comment stays')
  assert.ok(app.includes('        - values.yaml   # the owner\'s values\n'), 'the owner\'s line stays byte for byte')
  assert.equal(existsSync(join(dir, 'charts/web/.argocd-source-web.yaml')), false)
  assert.equal(readFileSync(join(dir, 'argocd/image-updaters/kustomization.yaml'), 'utf8'), 'resources:\n  - other.yaml\n')
  assert.deepEqual((await planRetireRepo(ctx, await findFootprint(ctx))).map((c) => c.summary), [], 'nothing left to do')
}))

test('pinHelmParameters updates a parameter of that name in place, adds the others, and keeps a multi-source layout', () => {
  const text = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  sources:
    - repoURL: https://example.com/charts
      chart: web
      targetRevision: 1.0.0
    - repoURL: https://github.com/o/r.git
      path: charts/web
      helm:
        parameters:
          - name: image.tag   # pinned by hand once
            value: "1"
          - name: replicas
            value: "2"
`
  const out = pinHelmParameters(text, 'web.yaml', ['spec', 'sources', 1], [{ name: 'image.tag', value: '0123', forceString: true }, { name: 'image.repository', value: 'ghcr.io/o/web' }])
  assert.deepEqual(parse(out).spec.sources[1].helm.parameters, [
    { name: 'image.tag', value: '0123', forceString: true },
    { name: 'replicas', value: '2' },
    { name: 'image.repository', value: 'ghcr.io/o/web' },
  ])
  assert.ok(out.includes('          - name: image.tag   # pinned by hand once\n'), 'the comment on the entry stays')
  assert.deepEqual(parse(out).spec.sources[0], parse(text).spec.sources[0])
  assert.equal(pinHelmParameters(out, 'web.yaml', ['spec', 'sources', 1], [{ name: 'image.tag', value: '0123', forceString: true }]), out, 'the same parameters again change nothing')
})

test('removeListItem takes an item out of a flow list ([a, b]) keeping the rest byte for byte; the only item is refused with the fix', () => {
  const helm = 'https://argoproj.github.io/argo-helm'
  const at = (text: string) => removeListItem(text, 'project.yaml', ['spec', 'sourceRepos'], helm)
  assert.equal(at(`spec:\n  sourceRepos: [https://github.com/o/r.git, ${helm}]  # 仓库\n`), 'spec:\n  sourceRepos: [https://github.com/o/r.git]  # 仓库\n')
  assert.equal(at(`spec:\n  sourceRepos: [ ${helm} , "https://github.com/o/r.git" ]\n`), 'spec:\n  sourceRepos: [ "https://github.com/o/r.git" ]\n')
  assert.equal(at(`spec:\n  sourceRepos: [a, ${helm}, c]\n`), 'spec:\n  sourceRepos: [a, c]\n')
  assert.throws(() => at(`spec:\n  sourceRepos: [${helm}]\n`), /is the only item of spec\.sourceRepos[^]*remove spec\.sourceRepos from project\.yaml by hand/)
})
