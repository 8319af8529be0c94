// Every corpus repo is one its owner could push: each YAML or JSON file parses, and every folder
// with a kustomization builds with `kubectl kustomize`. The shapes hold what their description says.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { parseAllDocuments } from 'yaml'
import { CORPUS, type CorpusShape } from '../sandbox/corpus/index.ts'

const KUSTOMIZATION = /(^|\/)(kustomization\.ya?ml|Kustomization)$/
const shape = (name: string): CorpusShape => CORPUS.find((s) => s.name === name)!

/** Every document of every YAML file of a shape, with the file it came from. */
function documents(s: CorpusShape): { file: string; doc: any }[] {
  return Object.entries(s.files).filter(([f]) => /\.ya?ml$/.test(f)).flatMap(([file, text]) => parseAllDocuments(text).map((d) => ({ file, doc: d.toJS() })).filter((d) => d.doc))
}

describe('corpus repos render', () => {
  for (const s of CORPUS) {
    it(`${s.name}: every file parses and every kustomization builds`, { timeout: 120_000 }, async () => {
      const { buildCorpusRepo } = await import('../sandbox/corpus/index.ts')
      for (const [file, text] of Object.entries(s.files)) {
        if (/\.ya?ml$/.test(file)) for (const d of parseAllDocuments(text)) assert.deepEqual(d.errors.map((e) => e.message), [], file)
        if (/\.json$/.test(file)) assert.doesNotThrow(() => JSON.parse(text), file)
      }
      const repo = buildCorpusRepo(s)
      try {
        const folders = Object.keys(s.files).filter((f) => KUSTOMIZATION.test(f)).map((f) => f.replace(KUSTOMIZATION, '$1').replace(/\/$/, '') || '.')
        for (const folder of folders) {
          try {
            execFileSync('kubectl', ['kustomize', `${repo.dir}/${folder}`], { stdio: 'pipe' })
          } catch (err: any) {
            assert.fail(`kubectl kustomize ${folder}: ${String(err.stderr)}`)
          }
        }
      } finally {
        const { rmSync } = await import('node:fs')
        rmSync(repo.root, { recursive: true, force: true })
      }
    })
  }
})

describe('the new corpus shapes hold what they describe', () => {
  it('homelab-today: a root with recurse and exclude, ~30 Applications over two clusters, it-tools among ~40 entries of a Kustomize tree on homelab', () => {
    const s = shape('homelab-today')
    const docs = documents(s)
    const apps = docs.filter((d) => d.doc.kind === 'Application')
    assert.ok(apps.length >= 28 && apps.length <= 34, `${apps.length} Applications`)
    const root = docs.find((d) => d.file === 'bootstrap/root.yaml')!.doc
    assert.equal(root.spec.source.directory.recurse, true)
    assert.ok(root.spec.source.directory.exclude)
    const toHomelab = apps.filter((a) => a.doc.spec.destination.name === 'homelab' || a.doc.spec.destination.server === s.clusters!.homelab)
    assert.ok(toHomelab.some((a) => a.doc.spec.destination.name) && toHomelab.some((a) => a.doc.spec.destination.server), 'by name and by server URL')
    assert.ok(toHomelab.length > apps.length / 2, `${toHomelab.length} of ${apps.length} on homelab`)
    // The cluster Secret is made by an ExternalSecret with the cluster label.
    const clusterSecret = docs.find((d) => d.doc.kind === 'ExternalSecret' && d.doc.spec.target.template?.metadata?.labels?.['argocd.argoproj.io/secret-type'] === 'cluster')!.doc
    assert.deepEqual(Object.keys(clusterSecret.spec.target.template.data).sort(), ['config', 'name', 'server'])
    assert.equal(clusterSecret.spec.target.template.data.server, s.clusters!.homelab)
    // it-tools: one entry of a big Kustomize tree deployed to homelab.
    const tree = apps.find((a) => a.doc.metadata.name === 'homelab-apps')!.doc
    assert.equal(tree.spec.destination.name, 'homelab')
    const kustomization = docs.find((d) => d.file === `${tree.spec.source.path}/kustomization.yaml`)!.doc
    assert.ok(kustomization.resources.length >= 30, `${kustomization.resources.length} entries`)
    assert.ok(kustomization.resources.includes('personal-services/it-tools.yaml'))
    assert.match(s.files[`${tree.spec.source.path}/personal-services/it-tools.yaml`]!, new RegExp(`image: ghcr.io/meirongdev/it-tools:${s.imageTag}`))
    for (const kind of ['ResourceQuota', 'LimitRange', 'PriorityClass', 'PrometheusRule']) assert.ok(docs.some((d) => d.doc.kind === kind), kind)
    assert.ok(docs.some((d) => d.doc.kind === 'PersistentVolumeClaim' && d.doc.spec.storageClassName === 'nfs-client'))
    assert.ok(!docs.some((d) => d.doc.kind === 'StorageClass'), 'nothing defines a StorageClass')
    // Digest pins with a do-not-roll-back comment; a Directory app without include to homelab by name.
    const pinned = Object.entries(s.files).filter(([f, t]) => f.endsWith('kustomization.yaml') && /digest: sha256:[0-9a-f]{64}/.test(t))
    assert.ok(pinned.length >= 3 && pinned.every(([, t]) => /do not roll back/i.test(t)))
    const tools = apps.find((a) => a.doc.metadata.name === 'tools')!.doc
    assert.equal(tools.spec.source.directory, undefined)
    assert.equal(tools.spec.destination.name, 'homelab')
    // Vault is reached on homelab through a NodePort.
    assert.equal(docs.find((d) => d.doc.kind === 'ClusterSecretStore')!.doc.spec.provider.vault.server, s.vault!.url)
    assert.ok(Object.values(s.files).some((t) => t.includes('\r\n')), 'CRLF files')
    assert.ok(Object.values(s.files).some((t) => /#.*[\u4e00-\u9fff]/.test(t)), 'Chinese comments')
    assert.ok(Object.values(s.files).some((t) => /: &\w+/.test(t) && /\*\w+/.test(t)), 'anchors')
  })

  it('appset-git: a git directory and a git file generator, destinations by cluster name, a plain cluster Secret', () => {
    const docs = documents(shape('appset-git'))
    const sets = docs.filter((d) => d.doc.kind === 'ApplicationSet').map((d) => d.doc)
    assert.ok(sets.some((a) => a.spec.generators[0].git.directories), 'directory generator')
    assert.ok(sets.some((a) => a.spec.generators[0].git.files), 'file generator')
    for (const a of sets) assert.ok(a.spec.template.spec.destination.name, 'by name')
    const secret = docs.find((d) => d.doc.kind === 'Secret')!.doc
    assert.equal(secret.metadata.labels['argocd.argoproj.io/secret-type'], 'cluster')
    assert.deepEqual(Object.keys(secret.stringData).sort(), ['config', 'name', 'server'])
    assert.ok(docs.some((d) => d.file === 'apps/it-tools/kustomization.yaml'))
  })

  it('hand-followed: an imageupdater.yaml with spec.namespace and useAnnotations beside it-tools, annotations on its Application, chart 1.1.1', () => {
    const docs = documents(shape('hand-followed'))
    const iu = docs.find((d) => d.doc.kind === 'ImageUpdater')!
    assert.match(iu.file, /it-tools\/imageupdater\.yaml$/)
    assert.equal(iu.doc.spec.namespace, 'argocd')
    assert.equal(iu.doc.spec.applicationRefs[0].useAnnotations, true)
    const app = docs.find((d) => d.doc.kind === 'Application' && d.doc.metadata.name === 'it-tools')!.doc
    assert.ok(Object.keys(app.metadata.annotations).some((k) => k.startsWith('argocd-image-updater.argoproj.io/')))
    assert.equal(docs.find((d) => d.doc.metadata?.name === 'argocd-image-updater')!.doc.spec.sources[0].targetRevision, '1.1.1')
    assert.ok(docs.some((d) => d.doc.kind === 'PersistentVolumeClaim' && d.doc.spec.storageClassName === 'nfs-client' && d.doc.metadata.namespace === 'personal-services'))
  })
})
