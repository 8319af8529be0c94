// The lifecycle commands of scripts/run.ts (`--retire`, `--pause <app>`, `--resume <app>`): each is
// a list of phases, each phase planned once the one before it is applied (a dry run plans it
// against what the earlier phases would write: ctx.overlay, ctx.touchedPaths), so the commit is
// planned after the files are written and the cluster steps after the push. A dry run prints the
// plan and exits 2 while something is pending, 0 when nothing is; a run applies it in order.
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { execFileSync } from 'node:child_process'
import type { Ctx } from '../context.ts'
import type { Change } from '../task.ts'
import { SetupError } from '../errors.ts'
import { planPublish, realManagedPaths } from '../publish.ts'
import { readRepoFile } from '../files.ts'
import { repoStatus } from '../git.ts'
import { runReads } from '../run-reads.ts'

export interface LifecycleOptions {
  retire: boolean
  pause?: string
  resume?: string
  keepToken: boolean
  summaryOnly: boolean
  /** where the plan and progress lines go (stdout) */
  print?: (line: string) => void
  /** releases the run lock (a stop mid-way) */
  release?: () => void
}

export type Phase = (ctx: Ctx) => Promise<Change[]>

/**
 * The commit and push of what the earlier phases wrote (or, in a dry run, would write), with what a
 * lifecycle command stopped part-way (Ctrl-C amid the file changes) wrote and did not commit, while
 * its content is still this tool's: the command run again plans only what is left, so without them
 * the commit would hold half of the change.
 */
export function publishPhase(message: string): Phase {
  return async (ctx) => planPublish(ctx, [...new Set([...ctx.touchedPaths, ...(await uncommittedWrites(ctx))])], message)
}

async function uncommittedWrites(ctx: Ctx): Promise<string[]> {
  const left = ctx.state.lifecycleWrites
  if (!left.length) return []
  const dirty = new Set((await repoStatus(ctx.repoDir, left)).changed.map((f) => f.path))
  const ours: string[] = []
  for (const p of left) if (dirty.has(p) && ctx.state.wrote(p, await readRepoFile(ctx, p))) ours.push(p)
  return ours
}

const KUSTOMIZATION = /(^|\/)(kustomization\.ya?ml|Kustomization)$/

/**
 * Never push a repo that does not render: every Kustomize folder a change touches is built with
 * `kubectl kustomize` on a copy of the checkout holding the changes, before anything is written.
 */
export function renderGate(ctx: Ctx, changes: Change[]): void {
  const previews = changes.map((c) => c.preview).filter((p) => p !== undefined)
  const folders = new Set<string>()
  for (const p of previews) {
    const dir = posix.dirname(p.path)
    const kust = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((n) => (dir === '.' ? n : `${dir}/${n}`))
    const kustAfter = (f: string) => (previews.find((q) => q.path === f) ? previews.find((q) => q.path === f)!.content !== null : existsSync(join(ctx.repoDir, f)))
    if (KUSTOMIZATION.test(p.path) ? p.content !== null : kust.some(kustAfter)) folders.add(dir)
  }
  if (!folders.size) return
  const copy = mkdtempSync(join(tmpdir(), 'lifecycle-render-'))
  try {
    cpSync(ctx.repoDir, copy, { recursive: true, filter: (src) => !src.split('/').includes('.git') })
    for (const p of previews) {
      const abs = join(copy, p.path)
      if (p.content === null) rmSync(abs, { force: true })
      else {
        mkdirSync(dirname(abs), { recursive: true })
        writeFileSync(abs, p.content)
      }
    }
    for (const dir of folders) {
      try {
        execFileSync('kubectl', ['kustomize', join(copy, dir)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
      } catch (err) {
        const why = String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n')[0]
        throw new SetupError(`${dir} would not render after the change (kubectl kustomize: ${why}); nothing was written`, `fix ${dir} so that kubectl kustomize ${join(ctx.repoDir, dir)} builds, then run the same command again`)
      }
    }
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
}

/** Runs the phases: plan, print, apply (or, in a dry run, note what would be written). Exit code. */
export async function runPhases(ctx: Ctx, title: string, phases: Phase[], opts: { summaryOnly: boolean; print?: (line: string) => void }): Promise<number> {
  const out = opts.print ?? ((s: string) => void process.stdout.write(`${s}\n`))
  ctx.log = (line) => out(`  ${line}`)
  let pending = 0
  out(`${title}${ctx.dryRun ? ' (dry run: nothing is changed)' : ''}`)
  for (const phase of phases) {
    const changes = await phase(ctx)
    if (changes.some((c) => c.preview)) renderGate(ctx, changes)
    for (const c of changes) {
      pending++
      for (const p of c.paths ?? []) ctx.touchedPaths.add(p)
      if (ctx.dryRun) {
        if (c.preview) ctx.overlay?.set(c.preview.path, c.preview.content)
        out(`• ${c.summary}`)
        if (c.diff && !opts.summaryOnly) out(c.diff.replace(/\n$/, '').split('\n').map((l) => `    ${l}`).join('\n'))
        continue
      }
      // Ctrl-C: no change begins after it (the one under way ends whole); the stop handler exits
      if (ctx.stop?.requested) await new Promise(() => {})
      out(`→ ${c.summary}`)
      if (c.preview) await ctx.state.recordLifecycleWrites(realManagedPaths(ctx, c.paths ?? []))
      // as the runner's task loop does: the run's kept reads (git status, cluster objects) are
      // dropped around the change, so the next phase plans from what it wrote (the commit sees the
      // files, the cluster steps the push)
      await runReads(ctx).fresh(() => c.apply())
    }
  }
  if (ctx.dryRun) {
    out(pending ? `\n${pending} change(s) pending; nothing was changed (dry run).` : '\nNothing to do: everything is already so.')
    return pending ? 2 : 0
  }
  out(pending ? `\nDone: ${pending} change(s).` : '\nNothing to do: everything is already so.')
  return 0
}
