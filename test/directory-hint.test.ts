// The Directory Application apps move out of, told by the repo when the plan's settings name none
// that exists: homelab-today's squoosh is in `tools`; the plan's layout keeps its settings; an
// owner's own folder under a Directory app is no app of ours to move.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildCorpusRepo, CORPUS } from '../sandbox/corpus/index.ts'
import { createSampleRepo } from '../sandbox/sample-repo.ts'
import { directoryHint } from '../src/directory-hint.ts'
import { loadConfig } from '../src/settings.ts'
import { git } from './helpers.ts'

const hintFor = (repoDir: string, env: Record<string, string>) => directoryHint({ repoDir, settings: loadConfig({ env: { GITOPS_REPO_DIR: repoDir, GITHUB_USERNAME: 'meirongdev', ...env }, cwd: '/nonexistent-dir' }).settings })

test('homelab-today: squoosh is in the folder of the Directory app tools, so the setup moves it out of that one; it-tools (in a Kustomize tree) needs none', async () => {
  const repo = buildCorpusRepo(CORPUS.find((c) => c.name === 'homelab-today')!)
  try {
    const hint = await hintFor(repo.dir, { ...repo.env, APPS: 'it-tools,squoosh' })
    assert.ok(hint)
    assert.equal(hint.settings.personalServicesFile, 'argocd/apps/services/tools.yaml')
    assert.equal(hint.settings.manifestsDir, 'k8s/tools')
    assert.match(hint.why, /squoosh is in the folder k8s\/tools\/ of the Directory Application tools \(argocd\/apps\/services\/tools\.yaml\)/)
    assert.equal(await hintFor(repo.dir, { ...repo.env, APPS: 'it-tools' }), undefined)
    assert.equal(await hintFor(repo.dir, { ...repo.env, APPS: 'squoosh', MANIFESTS_DIR: 'k8s/tools' }), undefined, 'a setting given is never overridden')
    // after a move the app is a folder: taken as the same Directory app only where this tool made it
    mkdirSync(join(repo.dir, 'k8s/tools/excalidraw'))
    writeFileSync(join(repo.dir, 'k8s/tools/excalidraw/kustomization.yaml'), 'resources: []\n')
    git(repo.dir, 'add', '-A')
    git(repo.dir, '-c', 'user.name=o', '-c', 'user.email=o@o', 'commit', '-qm', 'excalidraw of my own')
    assert.equal(await hintFor(repo.dir, { ...repo.env, APPS: 'excalidraw' }), undefined, "the owner's own folder")
    writeFileSync(join(repo.dir, 'k8s/tools/excalidraw/deployment.yaml'), 'kind: Deployment\n')
    git(repo.dir, 'add', '-A')
    git(repo.dir, '-c', 'user.name=o', '-c', 'user.email=o@o', 'commit', '-qm', 'Set up Argo CD Image Updater for excalidraw\n\nWritten by image-updater-setup (task 7).')
    assert.equal((await hintFor(repo.dir, { ...repo.env, APPS: 'excalidraw' }))?.settings.personalServicesFile, 'argocd/apps/services/tools.yaml')
  } finally {
    rmSync(repo.root, { recursive: true, force: true })
  }
})

test("the plan's layout keeps the plan's settings; a Directory app whose include list leaves the app's file out is not the one", async () => {
  const repo = createSampleRepo()
  try {
    assert.equal(await hintFor(repo.dir, {}), undefined)
    // without personal-services, vault-eso reads the same folder but selects only its own files
    rmSync(join(repo.dir, 'argocd/applications/personal-services.yaml'))
    assert.equal(await hintFor(repo.dir, {}), undefined)
  } finally {
    rmSync(repo.root, { recursive: true, force: true })
  }
})
