// The repo model (src/repo-model/): a two-cluster homelab built in a temp git repo, read as Argo CD
// reads it: root app-of-apps, a Kustomize tree with nested resources and digest pins, a Directory
// app deploying remotely by name, an ApplicationSet with git generators, cluster Secrets, an
// ImageUpdater, a Vault store on the remote cluster; and the overlay of a dry run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { appNamed, appsReading, describeWhere, imageUpdatersFor, loadRepoModel, objectsNamed } from '../src/repo-model/index.ts'
import { loadConfig } from '../src/settings.ts'
import { forgetKeptBuilds } from '../src/repo-model/render.ts'

const URL = 'https://github.com/owner/homelab.git'
const REMOTE = 'https://192.168.1.20:6443'

const app = (name: string, source: string, dest: string, extra = '') => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: homelab
  source:
    repoURL: ${URL}
    targetRevision: main
${source}
  destination:
${dest}
  syncPolicy:
    automated:
      prune: true
    syncOptions:
      - ServerSideApply=true
${extra}`

const deployment = (name: string, image: string, ns = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${ns ? `  namespace: ${ns}\n` : ''}spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: ${name}
          image: ${image}
`

export const HOMELAB: Record<string, string> = {
  'bootstrap/root.yaml': app('root', '    path: argocd/apps\n    directory:\n      exclude: "{disabled/*,README.md}"\n      recurse: true', '    server: https://kubernetes.default.svc\n    namespace: argocd'),
  'argocd/apps/platform.yaml': app('platform', '    path: k8s/platform', '    server: https://kubernetes.default.svc\n    namespace: default'),
  'argocd/apps/remote-media.yaml': app('remote-media', '    path: remote/media', '    name: homelab\n    namespace: media'),
  'argocd/apps/disabled/old.yaml': app('old', '    path: old', '    name: in-cluster'),
  'argocd/apps/appsets.yaml': `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: own-apps
  namespace: argocd
spec:
  goTemplate: true
  generators:
    - git:
        repoURL: ${URL}
        revision: main
        directories:
          - path: apps/*
          - path: apps/skip
            exclude: true
    - git:
        repoURL: ${URL}
        revision: main
        files:
          - path: "config/**/app.json"
    - clusters: {}
  template:
    metadata:
      name: '{{ .path.basename }}'
    spec:
      project: homelab
      source:
        repoURL: ${URL}
        targetRevision: main
        path: '{{ .path.path }}'
      destination:
        server: ${REMOTE}
        namespace: '{{ .path.basename }}'
`,
  'argocd/clusters/homelab.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: cluster-homelab
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
type: Opaque
stringData:
  name: homelab
  server: ${REMOTE}
`,
  // the big Kustomize tree: nested folders, nested kustomizations, a namespace and digest pins
  'k8s/platform/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: personal-services
resources:
  - personal-services/it-tools.yaml
  - personal-services/notes
  - vault/store.yaml
  - updaters/it-tools.yaml
images:
  - name: ghcr.io/owner/notes
    newTag: "1.4.0"
    digest: sha256:${'a'.repeat(64)} # do not roll back
`,
  'k8s/platform/personal-services/it-tools.yaml': `${deployment('it-tools', 'ghcr.io/owner/it-tools:sha-1234567')}---
apiVersion: v1
kind: Service
metadata:
  name: it-tools
spec:
  ports: [{port: 80}]
`,
  'k8s/platform/personal-services/notes/kustomization.yaml': 'resources:\n  - deploy.yaml\n',
  'k8s/platform/personal-services/notes/deploy.yaml': deployment('notes', 'ghcr.io/owner/notes:1.3.0'),
  'k8s/platform/vault/store.yaml': `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: http://192.168.1.20:30820
      path: secret
      version: v2
`,
  'k8s/platform/updaters/it-tools.yaml': `apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  applicationRefs:
    - namePattern: "remote-*"
      images:
        - alias: media
          imageName: ghcr.io/owner/media
`,
  'remote/media/media.yaml': deployment('media', 'ghcr.io/owner/media:2.0.0'),
  'apps/blog/kustomization.yaml': 'resources:\n  - deploy.yaml\n',
  'apps/blog/deploy.yaml': deployment('blog', 'ghcr.io/owner/blog:1.0.0'),
  'apps/skip/deploy.yaml': deployment('skip', 'nginx:1'),
  'apps/chart/Chart.yaml': 'apiVersion: v2\nname: chart\nversion: 0.1.0\n',
  'config/wiki/app.json': '{"name": "wiki"}\n',
}

export function gitRepo(files: Record<string, string>): { dir: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'repo-model-'))
  const dir = join(root, 'gitops')
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true })
    writeFileSync(join(dir, rel), content)
  }
  execFileSync('git', ['init', '-q', '-b', 'main', dir])
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) }
}

export function settingsFor(dir: string, env: Record<string, string> = {}) {
  return loadConfig({ env: { GITOPS_REPO_DIR: dir, GITHUB_USERNAME: 'owner', ...env }, cwd: '/nonexistent' }).settings
}

test('repo model: every Application of a two-cluster homelab, where it comes from, its type and cluster', async () => {
  const repo = gitRepo(HOMELAB)
  try {
    const model = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir) })
    assert.deepEqual(model.repoUrls, [URL])
    assert.deepEqual(
      model.clusters.map((c) => [c.name, c.server, c.declaredBy]),
      [
        ['in-cluster', 'https://kubernetes.default.svc', 'in-cluster'],
        ['homelab', REMOTE, 'Secret'],
      ],
    )
    const names = model.applications.map((a) => a.name).sort()
    // skip is left out by the generator's exclude; chart has Chart.yaml (Helm); old is in a file the root does not sync
    assert.deepEqual(names, ['blog', 'chart', 'old', 'platform', 'remote-media', 'root', 'wiki'])
    assert.equal(appNamed(model, 'old')!.leftOutBy, 'root')
    assert.equal(appNamed(model, 'platform')!.leftOutBy, undefined)
    const root = appNamed(model, 'root')!
    assert.deepEqual(root.origin, { by: 'file' })
    assert.equal(describeWhere(root), 'bootstrap/root.yaml:1')
    const platform = appNamed(model, 'platform')!
    assert.deepEqual(platform.origin, { by: 'parent', parent: 'root' })
    assert.equal(platform.sources[0]!.type, 'Kustomize')
    assert.match(platform.sources[0]!.typeWhy, /k8s\/platform\/kustomization\.yaml is there/)
    assert.equal(platform.destination.cluster?.name, 'in-cluster')
    assert.deepEqual(platform.finalizers, ['resources-finalizer.argocd.argoproj.io'])
    assert.deepEqual(platform.syncOptions, ['ServerSideApply=true'])
    assert.deepEqual(platform.syncPolicy, { automated: true, prune: true, selfHeal: false })
    const media = appNamed(model, 'remote-media')!
    assert.equal(media.sources[0]!.type, 'Directory')
    assert.equal(media.destination.name, 'homelab')
    assert.equal(media.destination.cluster?.server, REMOTE)
    const blog = appNamed(model, 'blog')!
    assert.deepEqual(blog.origin, { by: 'appset', appSet: 'own-apps' })
    assert.equal(blog.destination.cluster?.name, 'homelab')
    assert.equal(blog.render.objects[0]!.namespace, 'blog')
    assert.equal(appNamed(model, 'chart')!.render.status, 'opaque')
    assert.match(appNamed(model, 'chart')!.render.notes[0]!, /Helm chart folder .* not rendered \(helm is not installed here\)/)
    assert.ok(model.notes.some((n) => /own-apps: the clusters generator is not read/.test(n)))
    assert.deepEqual(model.applicationSets.map((s) => [s.name, s.parent, s.generates.sort()]), [['own-apps', 'root', ['blog', 'chart', 'wiki']]])
  } finally {
    repo.cleanup()
  }
})

test('repo model: a Kustomize tree renders through kubectl kustomize, each object traced to its file', async () => {
  const repo = gitRepo(HOMELAB)
  try {
    const model = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir) })
    const platform = appNamed(model, 'platform')!
    assert.equal(platform.render.status, 'rendered')
    const found = objectsNamed(model, 'notes', ['Deployment'])
    assert.equal(found.length, 1)
    assert.equal(found[0]!.app.name, 'platform')
    assert.equal(found[0]!.object.file, 'k8s/platform/personal-services/notes/deploy.yaml')
    assert.equal(found[0]!.object.namespace, 'personal-services')
    // the kustomization's images: entry is what renders (digest pin kept as data)
    assert.equal(found[0]!.object.json.spec.template.spec.containers[0].image, `ghcr.io/owner/notes:1.4.0@sha256:${'a'.repeat(64)}`)
    const svc = platform.render.objects.find((o) => o.kind === 'Service')!
    assert.deepEqual([svc.file, svc.line, svc.doc], ['k8s/platform/personal-services/it-tools.yaml', 14, 1])
    assert.deepEqual(platform.render.kustomizations.map((k) => k.file), ['k8s/platform/kustomization.yaml', 'k8s/platform/personal-services/notes/kustomization.yaml'])
    assert.deepEqual(platform.render.kustomizations[0]!.images, [{ file: 'k8s/platform/kustomization.yaml', line: 10, name: 'ghcr.io/owner/notes', newTag: '1.4.0', digest: `sha256:${'a'.repeat(64)}` }])
    assert.deepEqual(appsReading(model, 'k8s/platform/personal-services/notes/deploy.yaml').map((a) => a.name), ['platform'])
    // the tree's namespace: moves the ImageUpdater out of argocd, where the Applications are: it selects nothing
    assert.deepEqual(model.imageUpdaters.map((u) => [u.name, u.namespace, u.renderedBy, u.selects]), [['it-tools', 'personal-services', 'platform', []]])
    assert.deepEqual(imageUpdatersFor(model, 'remote-media'), [])
    // the same ImageUpdater applied by hand (only in a file no app renders) selects remote-* in argocd
    const byHand = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir), overlay: new Map([['k8s/platform/kustomization.yaml', HOMELAB['k8s/platform/kustomization.yaml']!.replace('  - updaters/it-tools.yaml\n', '')]]) })
    assert.deepEqual(byHand.imageUpdaters.map((u) => [u.name, u.namespace, u.renderedBy, u.selects]), [['it-tools', 'argocd', undefined, ['remote-media']]])
    assert.deepEqual(imageUpdatersFor(byHand, 'remote-media').map((u) => u.where.file), ['k8s/platform/updaters/it-tools.yaml'])
    // the Vault store reaches the remote cluster's host
    assert.equal(model.vaultStores.length, 1)
    assert.equal(model.vaultStores[0]!.cluster?.name, 'homelab')
    assert.match(model.vaultStores[0]!.clusterWhy, /192\.168\.1\.20, the host of the Argo CD cluster homelab/)
  } finally {
    repo.cleanup()
  }
})

test('repo model: read through the dry-run overlay, again only when a file changes', async () => {
  const repo = gitRepo(HOMELAB)
  try {
    const settings = settingsFor(repo.dir)
    const first = await loadRepoModel({ repoDir: repo.dir, settings })
    assert.equal(await loadRepoModel({ repoDir: repo.dir, settings }), first, 'the same repo gives the kept model')
    // a task would drop it-tools.yaml from the tree without its resources: line: the build fails
    const overlay = new Map<string, string | null>([['k8s/platform/personal-services/it-tools.yaml', null]])
    const after = await loadRepoModel({ repoDir: repo.dir, settings, overlay })
    assert.notEqual(after, first)
    const platform = appNamed(after, 'platform')!
    assert.equal(platform.render.status, 'failed')
    assert.equal(platform.render.error?.file, 'k8s/platform/kustomization.yaml')
    assert.match(platform.render.error!.message, /it-tools\.yaml/)
    assert.doesNotMatch(platform.render.error!.message, /repo-model-/, 'the temp copy is not named')
    // an overlay that adds a remote cluster by ExternalSecret resolves it
    const es = new Map<string, string | null>([
      [
        'argocd/clusters/nas.yaml',
        `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: nas, namespace: argocd}
spec:
  target:
    template:
      metadata:
        labels: {argocd.argoproj.io/secret-type: cluster}
      data:
        name: nas
        server: https://10.0.0.9:6443
        config: '{{ .config }}'
`,
      ],
    ])
    const withNas = await loadRepoModel({ repoDir: repo.dir, settings, overlay: es })
    assert.deepEqual(withNas.clusters.map((c) => `${c.name} ${c.declaredBy}`), ['in-cluster in-cluster', 'homelab Secret', 'nas ExternalSecret'])
  } finally {
    repo.cleanup()
  }
})

test('repo model: Kustomize builds are kept on disk by their inputs, so the next run starts no kubectl', async () => {
  const repo = gitRepo(HOMELAB)
  const stateDir = mkdtempSync(join(tmpdir(), 'repo-model-state-'))
  try {
    forgetKeptBuilds()
    // a dry run keeps nothing on disk (STATE_DIR stays as it was)
    await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir, { STATE_DIR: stateDir }), dryRun: true })
    assert.deepEqual(readdirSync(stateDir), [])
    const first = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir, { STATE_DIR: stateDir }) })
    assert.equal(first.cost.kustomizeBuilds, 0, 'the dry run built them (kept in memory for this process)')
    assert.equal(readdirSync(join(stateDir, 'kustomize-builds')).length, 2, 'platform and blog, kept for later runs')
    // a new run: a new settings object, nothing kept in memory
    forgetKeptBuilds()
    const next = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir, { STATE_DIR: stateDir }) })
    assert.equal(next.cost.kustomizeBuilds, 0)
    assert.deepEqual(appNamed(next, 'platform')!.render.objects.map((o) => o.name), appNamed(first, 'platform')!.render.objects.map((o) => o.name))
    // a changed input is built again, the others are not
    writeFileSync(join(repo.dir, 'apps/blog/deploy.yaml'), HOMELAB['apps/blog/deploy.yaml']!.replace('1.0.0', '1.0.1'))
    forgetKeptBuilds()
    const changed = await loadRepoModel({ repoDir: repo.dir, settings: settingsFor(repo.dir, { STATE_DIR: stateDir }) })
    assert.equal(changed.cost.kustomizeBuilds, 1)
    assert.match(JSON.stringify(appNamed(changed, 'blog')!.render.objects[0]!.json), /blog:1\.0\.1/)
  } finally {
    repo.cleanup()
    rmSync(stateDir, { recursive: true, force: true })
  }
})
