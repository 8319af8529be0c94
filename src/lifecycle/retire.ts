// `--retire`: undoes the setup in an order that loses nothing.
//  1. repo, one commit: the tag Image Updater last wrote (`.argocd-source-<app>.yaml`) is pinned in
//     the app's own kustomization (`images:`; a Helm app's parameters in its Application's source),
//     then the write-back file, the ImageUpdaters (and their kustomization entries), the chart's
//     Application and values, the ExternalSecrets that make the updater's Secrets (and their
//     entries in Directory includes), and the argo-helm repo in the AppProject when nothing else
//     uses it, go. The apps keep their Applications and folders.
//  2. cluster, after the push: each app's Application syncs first, so Argo CD prunes its ImageUpdater
//     while the controller still runs to remove the ImageUpdater's finalizer (the other order leaves
//     them, and the CRD, stuck Terminating); then the chart's Application is deleted with its
//     resources (Argo CD's resources finalizer: the controller, its CRD, its ConfigMap); then the
//     Applications that synced the ExternalSecrets prune them; then the token in Vault goes, unless
//     another ExternalSecret in the repo reads it or --keep-token.
//  3. verified: nothing of the updater left in the cluster or in the repo outside docs/, every app
//     Synced and Healthy with the same workload uids and images as before.
import { posix } from 'node:path'
import type { Ctx } from '../context.ts'
import type { Change } from '../task.ts'
import { SetupError } from '../errors.ts'
import { readRepoFile, unifiedDiff, planFile } from '../files.ts'
import { gitRun, networkLimits, repoStatus } from '../git.ts'
import { incoming, isWriteBackFile, rebaseOntoWriteBack, refuseForeign } from '../write-back-rebase.ts'
import { deleteKey, formatBraceList, getAt, parseBraceList, setScalar, splitDocuments } from '../yaml-edit.ts'

const IU_ANNOTATION = 'argocd-image-updater.argoproj.io/'
import { parseYaml } from '../yaml-parse.ts'
import { ARGO_HELM, CHART_NAME, IU_KIND, findFootprint, includesOf, type FoundDoc, type Footprint, type UpdatedApp } from './footprint.ts'
import { parseImageOverride, pinHelmParameters, pinImage, removeDocument, removeListItem } from './yaml-lists.ts'
import { esKeys, sameVaultKey } from './rotation.ts'

export interface RetireOptions {
  keepToken: boolean
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

/** The repo files a plan edits, each with its reasons, edited in memory one after another. */
class RepoEdits {
  private readonly texts = new Map<string, string | null>()
  private readonly original = new Map<string, string | null>()
  readonly reasons = new Map<string, string[]>()
  constructor(private readonly ctx: Ctx) {}

  async read(file: string): Promise<string | null> {
    if (!this.texts.has(file)) {
      const text = await readRepoFile(this.ctx, file)
      this.texts.set(file, text)
      this.original.set(file, text)
    }
    return this.texts.get(file)!
  }

  async edit(file: string, reason: string, fn: (text: string) => string | null): Promise<void> {
    const text = await this.read(file)
    if (text === null) return
    const next = fn(text)
    if (next === text) return
    this.texts.set(file, next)
    this.reasons.set(file, [...(this.reasons.get(file) ?? []), reason])
  }

  /** Removes the documents `docs` (all of one file, found by kind and name: one removed already stays removed): the file goes when nothing else is in it. */
  async removeDocs(file: string, docs: FoundDoc[], reason: string): Promise<void> {
    await this.edit(file, reason, (text) => {
      let out: string | null = text
      for (const d of docs) {
        if (out === null) break
        const index = splitDocuments(out, file).findIndex((x) => x.kind === d.kind && x.name === d.name)
        if (index >= 0) out = removeDocument(out, file, index)
      }
      return out
    })
  }

  async changes(): Promise<Change[]> {
    const out: Change[] = []
    for (const [file, reasons] of this.reasons) {
      const change = await planFile(this.ctx, file, this.texts.get(file)!, this.original.get(file))
      if (change) out.push({ ...change, summary: `${change.summary} (${reasons.join('; ')})` })
    }
    return out
  }
}

function groupByFile(docs: FoundDoc[]): Map<string, FoundDoc[]> {
  const by = new Map<string, FoundDoc[]>()
  for (const d of docs) by.set(d.file, [...(by.get(d.file) ?? []), d])
  return by
}

async function kustomizationIn(ctx: Ctx, edits: RepoEdits, dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_NAMES) {
    const file = dir === '.' || dir === '' ? name : posix.join(dir, name)
    if ((await edits.read(file)) !== null) return file
  }
  return undefined
}

/**
 * Image Updater's write-back commits that origin has and the checkout lacks: brought in first (a
 * rebase, as task 7 does), or in a dry run read from origin, so the tag folded is the last one written.
 */
async function latestWriteBack(ctx: Ctx): Promise<void> {
  const { branch, requestTimeoutSeconds } = ctx.settings
  const limits = networkLimits(Number(requestTimeoutSeconds))
  try {
    await gitRun(ctx.repoDir, ['fetch', '--quiet', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], limits.totalMs, limits.env)
  } catch (err) {
    throw new SetupError(`fetching origin/${branch} failed, so the tags Image Updater wrote last are not known: ${String((err as Error).message).split('\n')[0]}`, `check that origin answers: git -C ${ctx.repoDir} fetch origin ${branch}; then rerun`)
  }
  const { commits, files } = await incoming(ctx.repoDir, branch)
  if (!commits) return
  refuseForeign(ctx, files)
  if (!ctx.dryRun) {
    await rebaseOntoWriteBack(ctx)
    return
  }
  for (const f of files.filter(isWriteBackFile)) {
    const shown = await gitRun(ctx.repoDir, ['show', `refs/remotes/origin/${branch}:${f}`]).catch(() => undefined)
    ctx.overlay?.set(f, shown ? shown.stdout : null)
  }
}

/**
 * A Helm app's last written parameters (`.argocd-source-<app>.yaml` `helm.parameters`), set in the
 * source of its Application that renders the app's path, then the write-back file goes.
 */
async function pinInApplication(edits: RepoEdits, app: UpdatedApp, raw: unknown[]): Promise<void> {
  const file = app.application.file
  const params = raw
    .map((p: any) => ({ name: String(p?.name ?? ''), value: String(p?.value ?? ''), forceString: p?.forcestring === true || p?.forceString === true }))
    .filter((p) => p.name)
  if (app.application.docsInFile !== 1)
    throw new SetupError(
      `${app.writeBackFile} holds the Helm parameters Image Updater last wrote (${params.map((p) => `${p.name}=${p.value}`).join(', ')}), but ${file} holds other documents beside Application ${app.name}`,
      `set them under spec.source.helm.parameters of Application ${app.name} in ${file} by hand, then rerun`,
    )
  const sources = app.application.obj.spec?.sources
  const index = Array.isArray(sources) ? sources.findIndex((s: any) => s?.path && String(s.path).replace(/^\.?\/+/, '').replace(/\/+$/, '') === app.path) : -1
  const sourcePath = Array.isArray(sources) ? ['spec', 'sources', index] : ['spec', 'source']
  if (Array.isArray(sources) && index < 0) throw new SetupError(`Application ${app.name} in ${file} has no source for ${app.path}`, `set the Helm parameters of ${app.writeBackFile} in its Application by hand, then rerun`)
  await edits.edit(file, `set ${params.map((p) => `${p.name}=${p.value}`).join(', ')}: the Helm parameters Image Updater last wrote`, (t) => pinHelmParameters(t, file, sourcePath, params))
  await edits.edit(app.writeBackFile!, `Image Updater's write-back file; its parameters are set in ${file}`, () => null)
}

/** The repo half: every file change of the retirement. */
export async function planRetireRepo(ctx: Ctx, fp: Footprint): Promise<Change[]> {
  const edits = new RepoEdits(ctx)
  const ns = ctx.settings.argocdNamespace
  // 1. the last written tags, pinned in each app's kustomization; the write-back files go
  for (const app of fp.apps) {
    if (!app.path || !app.writeBackFile) continue
    const written = await edits.read(app.writeBackFile)
    if (written === null) continue
    const override = (parseYaml(written)[0]?.toJS() as any) ?? {}
    // a Helm app: the parameters Image Updater wrote go into the Application's own source
    const helmParams: unknown[] = override.helm?.parameters ?? []
    if (helmParams.length) {
      await pinInApplication(edits, app, helmParams)
      continue
    }
    const kustomization = await kustomizationIn(ctx, edits, app.path)
    if (!kustomization)
      throw new SetupError(`${app.writeBackFile} holds the tag Image Updater last wrote, but ${app.path} has no kustomization to pin it in`, `pin the image in ${app.path} by hand (or add a kustomization.yaml), then rerun`)
    const images: unknown[] = override.kustomize?.images ?? []
    for (const entry of images) {
      const o = parseImageOverride(String(entry))
      if (!o) continue
      await edits.edit(kustomization, `pin ${entry}: the tag Image Updater last wrote`, (t) => pinImage(t, kustomization, o))
    }
    await edits.edit(app.writeBackFile, `Image Updater's write-back file; its tag is pinned in ${kustomization}`, () => null)
  }
  // 2. the ImageUpdaters and their kustomization entries
  for (const [file, docs] of groupByFile(fp.imageUpdaters)) {
    await edits.removeDocs(file, docs, `ImageUpdater ${docs.map((d) => d.name).join(', ')}`)
    const kustomization = await kustomizationIn(ctx, edits, posix.dirname(file))
    // gone now, or by a run stopped before it could write the kustomization: the entry goes either way
    if (kustomization && (await edits.read(file)) === null) {
      const base = posix.basename(file)
      await edits.edit(kustomization, `resources no longer lists ${base}`, (t) => removeListItem(removeListItem(t, kustomization, ['resources'], base), kustomization, ['resources'], `./${base}`))
      // the note task 3 wrote about the ImageUpdater's namespace has nothing left to explain
      await edits.edit(kustomization, 'the note about the ImageUpdater goes with it', (t) => t.replace(new RegExp(`^# No top-level \`namespace:\` on purpose: it would move the ImageUpdater resource out of ${ns.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\r?\\n`, 'm'), ''))
    }
  }
  // 3. the chart's Application and its values
  for (const [file, docs] of groupByFile(fp.chartApps)) await edits.removeDocs(file, docs, `Application ${docs.map((d) => d.name).join(', ')} (the ${CHART_NAME} chart)`)
  for (const file of fp.valuesFiles) await edits.edit(file, `values of the ${CHART_NAME} chart`, () => null)
  // 4. the ExternalSecrets of the updater's Secrets, and the include entries of their files
  for (const [file, docs] of groupByFile(fp.externalSecrets)) {
    await edits.removeDocs(file, docs, `ExternalSecret ${docs.map((d) => d.name).join(', ')} (Secrets only Image Updater reads)`)
    if ((await edits.read(file)) !== null) continue
    for (const app of includesOf(fp.docs, file)) {
      if (app.docsInFile !== 1 || !app.obj.spec?.source) continue
      const base = posix.basename(file)
      const path = ['spec', 'source', 'directory', 'include']
      await edits.edit(app.file, `its include no longer lists ${base}`, (t) => {
        // the include as the file has it now (an earlier file of this loop may have left it already)
        const items = parseBraceList(String(getAt(t, app.file, path).value ?? ''))
        if (!items?.includes(base)) return t
        return setScalar(t, app.file, path, formatBraceList(items.filter((i) => i !== base)))
      })
    }
  }
  // 4b. Image Updater's annotations on the repo's Applications (the config of a setup that uses
  // them, useAnnotations, or an annotation-era one): read by nothing once the controller is gone
  for (const app of fp.docs.filter((d) => d.kind === 'Application' && !fp.chartApps.includes(d) && d.docsInFile === 1)) {
    const keys = Object.keys(app.obj.metadata?.annotations ?? {}).filter((k) => k.startsWith(IU_ANNOTATION))
    if (!keys.length) continue
    const all = Object.keys(app.obj.metadata.annotations).length === keys.length
    await edits.edit(app.file, `Image Updater's annotations on Application ${app.name} (${keys.length})`, (t) => {
      // the file as it is now (a run stopped part-way may have taken some of them already)
      const now = Object.keys((getAt(t, app.file, ['metadata', 'annotations']).value as Record<string, unknown> | null) ?? {})
      if (all && now.every((k) => k.startsWith(IU_ANNOTATION))) return deleteKey(t, app.file, ['metadata', 'annotations'])
      return keys.filter((k) => now.includes(k)).reduce((acc, k) => deleteKey(acc, app.file, ['metadata', 'annotations', k]), t)
    })
  }
  // 5. argo-helm in the AppProject, when no other Application uses it
  const othersUseHelm = fp.docs.some((d) => d.kind === 'Application' && !fp.chartApps.includes(d) && JSON.stringify(d.obj.spec ?? {}).includes(ARGO_HELM))
  if (!othersUseHelm)
    for (const p of fp.docs.filter((d) => d.kind === 'AppProject' && (d.obj.spec?.sourceRepos ?? []).includes(ARGO_HELM) && d.docsInFile === 1))
      await edits.edit(p.file, `sourceRepos no longer lists ${ARGO_HELM} (only the ${CHART_NAME} chart came from it)`, (t) => removeListItem(t, p.file, ['spec', 'sourceRepos'], ARGO_HELM))
  return edits.changes()
}

/** Whether anything of the updater is still in the repo (outside docs/): file, line and what. */
export async function repoLeftovers(ctx: Ctx): Promise<string[]> {
  const out = (await gitRun(ctx.repoDir, ['ls-files', '--cached', '--others', '--exclude-standard'])).stdout.split('\n').filter(Boolean)
  const found: string[] = []
  const planTop = ctx.settings.planDir.split('/')[0]
  for (const f of out) {
    if (f.startsWith('docs/') || f.startsWith(`${planTop}/`)) continue
    if (/(^|\/)\.argocd-source-[^/]+\.ya?ml$/.test(f)) {
      found.push(`${f}: Image Updater's write-back file`)
      continue
    }
    if (!/\.(ya?ml|json)$/.test(f) && !/(^|\/)Kustomization$/.test(f)) continue
    const text = (await readRepoFile(ctx, f)) ?? ''
    text.split('\n').forEach((line, i) => {
      if (/argocd-image-updater|kind:\s*ImageUpdater\b/.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`)
    })
  }
  return found
}

export interface RetireFacts {
  footprint: Footprint
}

/**
 * The footprint after the write-back commits came in (a dry run reads them from origin), read from
 * the committed files wherever the checkout changed them: a retirement stopped amid its file changes
 * (Ctrl-C) has deleted, say, the ImageUpdater and the values that named the ExternalSecrets, and the
 * rest of it must still be found. Each file is written whole or not at all, so the edits themselves
 * are planned against the checkout as it is (what is done already is not done again).
 */
export async function retireFacts(ctx: Ctx): Promise<RetireFacts> {
  await latestWriteBack(ctx)
  const committed = new Map(ctx.overlay ?? [])
  for (const f of (await repoStatus(ctx.repoDir)).changed) {
    if (committed.has(f.path) || !/\.ya?ml$/.test(f.path)) continue
    const shown = await gitRun(ctx.repoDir, ['show', `HEAD:${f.path}`]).catch(() => undefined)
    committed.set(f.path, shown ? shown.stdout : null)
  }
  return { footprint: await findFootprint({ ...ctx, overlay: committed }) }
}

/** ExternalSecrets of the repo that stay and read the Vault path (the token then stays too). */
export function remainingReaders(ctx: Ctx, fp: Footprint): FoundDoc[] {
  return fp.docs.filter((d) => d.kind === 'ExternalSecret' && !fp.externalSecrets.includes(d) && esKeys(d.obj).some((k) => sameVaultKey(k, ctx.settings.vaultPath)))
}

export { IU_KIND, unifiedDiff }
