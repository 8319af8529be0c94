// Settings that change after the setup (repo tasks only, no cluster): a value the setup wrote follows
// the setting as a pending change with its reason and diff; a value set by hand stays, with a line
// saying so and what to set to adopt it; a chart version set by hand stops the run with that fix;
// --dry-run shows both.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Ctx } from '../src/context.ts'
import { SetupError } from '../src/errors.ts'
import { planPublish } from '../src/publish.ts'
import { REPO_TASKS, commitMessage, managedPaths } from '../tasks/07-commit-and-deploy.ts'
import appTask from '../tasks/04-app-application.ts'
import chartTask from '../tasks/05-install-image-updater.ts'
import settleTask from '../tasks/09-settle-log-level.ts'
import { fixture, git, runSetup, sandboxCtx, type Fixture } from './helpers.ts'

const IU = 'k8s/helm/manifests/it-tools/image-updater.yaml'
const CHART_APP = 'argocd/applications/argocd-image-updater.yaml'
let fx: Fixture
const notes: string[] = []

function makeCtx(env: Record<string, string> = {}, dryRun = false): Ctx {
  const ctx = sandboxCtx({ repoDir: fx.dir, kubeconfig: '/nonexistent/kubeconfig', stateDir: fx.stateDir, pat: 'unused', env, log: () => {} })
  return { ...ctx, dryRun, overlay: dryRun ? new Map() : undefined, note: (l: string) => notes.push(l) }
}

async function applyAll(ctx: Ctx, changes: { apply(): Promise<void>; paths?: string[] }[]): Promise<void> {
  for (const c of changes) {
    for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
    await c.apply()
  }
}

/** The repo half of a setup: files, then the commit and push of task 7. */
async function repoSetup(ctx: Ctx): Promise<void> {
  for (const t of REPO_TASKS) await applyAll(ctx, await t.plan(ctx))
  await applyAll(ctx, await planPublish(ctx, managedPaths(ctx), commitMessage(ctx)))
}

function handCommit(rel: string, from: RegExp, to: string, message: string): void {
  const abs = join(fx.dir, rel)
  const text = readFileSync(abs, 'utf8')
  assert.match(text, from)
  writeFileSync(abs, text.replace(from, to))
  git(fx.dir, 'commit', '-qam', message)
}

before(async () => {
  fx = fixture()
  await repoSetup(makeCtx())
  assert.match(readFileSync(join(fx.dir, IU), 'utf8'), /updateStrategy: newest-build/)
})
after(() => fx?.cleanup())

test('a strategy and a tag filter changed after the setup are pending changes with reason and diff, applied by the run', async () => {
  const env = { APP_IT_TOOLS_STRATEGY: 'alphabetical', APP_IT_TOOLS_TAG_REGEX: '^sha-[0-9a-f]{7}$' }
  const plan = await appTask.plan(makeCtx(env, true))
  const change = plan.find((c) => c.paths?.includes(IU))
  assert.ok(change, plan.map((c) => c.summary).join('\n'))
  assert.match(change.summary, /APP_IT_TOOLS_STRATEGY makes the update strategy alphabetical; the file has newest-build, as the setup wrote it/)
  assert.match(change.summary, /APP_IT_TOOLS_TAG_REGEX makes the tag filter regexp:\^sha-\[0-9a-f\]\{7\}\$/)
  assert.match(change.diff ?? '', /^-\s+updateStrategy: newest-build$/m)
  assert.match(change.diff ?? '', /^\+\s+updateStrategy: alphabetical$/m)
  const ctx = makeCtx(env)
  await applyAll(ctx, await appTask.plan(ctx))
  assert.match(readFileSync(join(fx.dir, IU), 'utf8'), /updateStrategy: alphabetical/)
  assert.deepEqual((await appTask.plan(makeCtx(env))).map((c) => c.summary), [], 'converged')
  await applyAll(ctx, await planPublish(ctx, managedPaths(ctx), commitMessage(ctx)))
})

test('a value set by hand stays, with what to set to adopt it; --dry-run shows it beside the pending change', async () => {
  handCommit(IU, /allowTags: "regexp:\^sha-\[0-9a-f\]\{7\}\$"/, 'allowTags: "regexp:^sha-[0-9a-f]{40}$"', 'Only full-length sha tags')
  notes.length = 0
  const env = { APP_IT_TOOLS_STRATEGY: 'newest-build', APP_IT_TOOLS_TAG_REGEX: '^sha-[0-9a-f]+$' }
  const plan = await appTask.plan(makeCtx(env, true))
  const change = plan.find((c) => c.paths?.includes(IU))
  assert.ok(change, 'the strategy, still as the setup wrote it, follows the setting')
  assert.match(change.summary, /update strategy newest-build/)
  assert.doesNotMatch(change.diff ?? '', /^[-+]\s+allowTags/m, 'the hand-set tag filter is left alone')
  assert.ok(
    notes.some((n) => /image-updater\.yaml:\d+: the tag filter regexp:\^sha-\[0-9a-f\]\{40\}\$ was set by hand \(the setup wrote regexp:\^sha-\[0-9a-f\]\{7\}\$\), so APP_IT_TOOLS_TAG_REGEX=regexp:\^sha-\[0-9a-f\]\+\$ is not applied over it; to adopt the file's value set APP_IT_TOOLS_TAG_REGEX=\^sha-\[0-9a-f\]\{40\}\$/.test(n)),
    notes.join('\n'),
  )
  // the CLI's dry run shows both, and exits 2
  const r = await runSetup(['--dry-run', '--only', '4'], { ...fx.env, ...env })
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stdout + r.stderr, /was set by hand/)
  assert.match(r.stdout + r.stderr, /makes the update strategy newest-build/)
})

test('a chart version set by hand stops the run with the setting that adopts it', async () => {
  handCommit(CHART_APP, /targetRevision: 1\.2\.4/, 'targetRevision: 1.2.3', 'Chart 1.2.3 for now')
  await assert.rejects(chartTask.plan(makeCtx({ CHART_VERSION: '1.2.4' }, true)), (err: unknown) => {
    assert.ok(err instanceof SetupError)
    assert.match(err.message, /argocd-image-updater\.yaml:\d+: the chart version 1\.2\.3 was set by hand \(the setup wrote 1\.2\.4\), so CHART_VERSION=1\.2\.4 is not applied over it/)
    assert.match(err.fix, /^set CHART_VERSION=1\.2\.3 to adopt it/)
    return true
  })
  // adopting it: nothing to do
  assert.deepEqual((await chartTask.plan(makeCtx({ CHART_VERSION: '1.2.3' }, true))).filter((c) => c.paths?.includes(CHART_APP)), [])
})

test('a log level set by hand after the setup stays, with the setting that adopts it', async () => {
  handCommit('k8s/helm/values/argocd-image-updater.yaml', /log\.level: debug/, 'log.level: warn', 'Quieter controller')
  notes.length = 0
  assert.deepEqual(await settleTask.plan(makeCtx({ FINAL_LOG_LEVEL: 'info' }, true)), [])
  assert.ok(notes.some((n) => /argocd-image-updater\.yaml:\d+: the log level warn was set by hand \(the setup wrote debug\), so FINAL_LOG_LEVEL=info is not applied over it; to adopt the file's value set FINAL_LOG_LEVEL=warn/.test(n)), notes.join('\n'))
})
