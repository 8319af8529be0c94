// The repo model on the corpus repos built like real homelabs (sandbox/corpus/): where each app to
// onboard renders, through which Application, to which cluster; digest pins kept as data; Vault's
// cluster; ApplicationSets; the hand-followed ImageUpdater found by what it is, and refused by the
// render check on chart 1.2.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { buildCorpusRepo, CORPUS } from '../sandbox/corpus/index.ts'
import { appNamed, imageUpdatersFor, loadRepoModel, objectsNamed } from '../src/repo-model/index.ts'
import { renderProblems } from '../src/repo-model/render-gate.ts'
import { loadConfig } from '../src/settings.ts'

async function modelOf(name: string) {
  const repo = buildCorpusRepo(CORPUS.find((c) => c.name === name)!)
  const { settings } = loadConfig({ env: { ...repo.env, GITHUB_USERNAME: 'meirongdev' }, cwd: '/nonexistent-dir' })
  return { repo, model: await loadRepoModel({ repoDir: repo.dir, settings }) }
}

test('homelab-today: it-tools in the big Kustomize tree on homelab, squoosh in a Directory app by name, pins, Vault on homelab', async () => {
  const { repo, model } = await modelOf('homelab-today')
  try {
    const [itTools, ...more] = objectsNamed(model, 'it-tools', ['Deployment'])
    assert.equal(more.length, 0)
    assert.equal(itTools!.app.name, 'homelab-apps')
    assert.deepEqual(itTools!.app.origin, { by: 'parent', parent: 'root' })
    assert.equal(itTools!.app.sources[0]!.type, 'Kustomize')
    assert.equal(itTools!.object.file, 'k8s/homelab-apps/personal-services/it-tools.yaml')
    assert.equal(itTools!.object.namespace, 'personal-services')
    assert.equal(itTools!.app.destination.cluster?.name, 'homelab')
    assert.ok(itTools!.app.render.objects.length >= 40, `${itTools!.app.render.objects.length} objects in the tree`)
    const squoosh = objectsNamed(model, 'squoosh', ['Deployment'])[0]!
    assert.deepEqual([squoosh.app.name, squoosh.app.sources[0]!.type, squoosh.app.destination.name, squoosh.app.destination.cluster?.server], ['tools', 'Directory', 'homelab', 'https://10.10.0.5:6443'])
    // the cluster Secret is made by an ExternalSecret; Vault is reached through homelab's NodePort
    assert.deepEqual(model.clusters.map((c) => `${c.name} ${c.declaredBy}`), ['in-cluster in-cluster', 'homelab ExternalSecret'])
    assert.deepEqual(model.vaultStores.map((v) => [v.name, v.cluster?.name]), [['vault-backend', 'homelab']])
    const pins = model.applications.flatMap((a) => a.render.kustomizations.flatMap((k) => k.images.filter((i) => i.digest).map(() => a.name)))
    assert.deepEqual(pins.sort(), ['audiobookshelf', 'linkding', 'miniflux', 'vaultwarden'])
    assert.equal(appNamed(model, 'jellyseerr')!.leftOutBy, 'root', 'the archived app the root excludes')
    assert.deepEqual(model.applications.filter((a) => a.render.status === 'failed').map((a) => a.name), [])
  } finally {
    rmSync(repo.root, { recursive: true, force: true })
  }
})

test('appset-git: the Applications two ApplicationSets generate from the repo, each to its cluster', async () => {
  const { repo, model } = await modelOf('appset-git')
  try {
    assert.deepEqual(model.applicationSets.map((s) => [s.name, s.generates.sort()]), [
      ['apps', ['excalidraw', 'glance', 'it-tools', 'linkding', 'miniflux', 'ntfy']],
      ['platform', ['platform-homelab', 'platform-in-cluster']],
    ])
    const itTools = objectsNamed(model, 'it-tools', ['Deployment'])[0]!
    assert.deepEqual(itTools.app.origin, { by: 'appset', appSet: 'apps' })
    assert.deepEqual([itTools.app.sources[0]!.type, itTools.object.file, itTools.app.destination.cluster?.name], ['Kustomize', 'apps/it-tools/deployment.yaml', 'homelab'])
    assert.equal(appNamed(model, 'platform-in-cluster')!.destination.cluster?.name, 'in-cluster')
  } finally {
    rmSync(repo.root, { recursive: true, force: true })
  }
})

test('hand-followed: the ImageUpdater written by hand is found by what it is, and chart 1.2 refuses it', async () => {
  const { repo, model } = await modelOf('hand-followed')
  try {
    const [updater] = imageUpdatersFor(model, 'it-tools')
    assert.deepEqual([updater!.where.file, updater!.namespace, updater!.renderedBy], ['k8s/helm/manifests/it-tools/imageupdater.yaml', 'argocd', 'it-tools'])
    const { problems } = renderProblems(model, ['k8s/helm/manifests/it-tools/kustomization.yaml'], '1.2.4')
    assert.equal(problems.length, 1)
    assert.match(problems[0]!.cause, /imageupdater\.yaml:2: the ImageUpdater argocd\/it-tools is invalid for chart 1\.2\.4 \(app 1\.2\): spec\.namespace: unknown field/)
    assert.equal(renderProblems(model, ['k8s/helm/manifests/it-tools/kustomization.yaml'], '1.1.1').problems.length, 0, 'valid on 1.1 (useAnnotations, spec.namespace)')
  } finally {
    rmSync(repo.root, { recursive: true, force: true })
  }
})
