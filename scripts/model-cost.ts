// What the repo model costs (src/repo-model/): its load on the largest corpus repo, each sample a
// fresh process (cold: every Kustomize folder built with kubectl kustomize), then in that process the
// load again with nothing changed (kept) and after one file changed (read again, builds kept by their
// inputs' content), the memory the model holds, and the next run's first load (builds kept on disk). Writes the "model-cost" section of docs/QUALITY.md.
//
//   npx tsx scripts/model-cost.ts          (RUNS=5 by default)
//   BENCH=model npm run bench              (the same, from the bench)
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildCorpusRepo, CORPUS } from '../sandbox/corpus/index.ts'
import { provenance, replaceQualitySection } from './proofs/lib.ts'

const PROJECT = resolve(import.meta.dirname, '..')
const TSX = pathToFileURL(join(PROJECT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

interface Sample {
  coldMs: number
  /** the next run's first load (another process): the builds come from STATE_DIR */
  nextRunMs?: number
  keptMs: number
  changedMs: number
  builds: number
  changedBuilds: number
  heapMiB: number
  rssMiB: number
  apps: number
  objects: number
  files: number
}

/** One sample, in this process (run as a child: `--child <repoDir>`). */
async function sample(repoDir: string, stateDir: string): Promise<Sample> {
  const { loadRepoModel } = await import('../src/repo-model/index.ts')
  const { loadConfig } = await import('../src/settings.ts')
  const { settings } = loadConfig({ env: { GITOPS_REPO_DIR: repoDir, GITHUB_USERNAME: 'owner', STATE_DIR: stateDir }, cwd: '/nonexistent-dir' })
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const rss0 = process.memoryUsage().rss
  let t = performance.now()
  const model = await loadRepoModel({ repoDir, settings })
  const coldMs = performance.now() - t
  gc?.()
  const heapMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20
  const rssMiB = (process.memoryUsage().rss - rss0) / 2 ** 20
  t = performance.now()
  await loadRepoModel({ repoDir, settings })
  const keptMs = performance.now() - t
  // one Kustomize app's file changes (as a task would write it): the model is read again
  const app = model.applications.find((a) => a.render.kustomizations.length > 0 && a.render.objects.length > 0)
  const file = app?.render.objects[0]?.file ?? model.applications[0]!.where!.file
  appendFileSync(join(repoDir, file), '\n# changed\n')
  t = performance.now()
  const changed = await loadRepoModel({ repoDir, settings })
  const changedMs = performance.now() - t
  return {
    coldMs,
    keptMs,
    changedMs,
    builds: model.cost.kustomizeBuilds,
    changedBuilds: changed.cost.kustomizeBuilds,
    heapMiB,
    rssMiB,
    apps: model.applications.length,
    objects: model.applications.reduce((n, a) => n + a.render.objects.length, 0),
    files: model.cost.files,
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const ms = (x: number) => `${Math.round(x)} ms`

/** Measures the model on the largest corpus repo; returns the lines for QUALITY.md. */
export async function measureModelCost(log: (line: string) => void, runs = Number(process.env.RUNS ?? 5)): Promise<string[]> {
  // the largest corpus repo by files
  const shape = [...CORPUS].sort((a, b) => Object.keys(b.files).length - Object.keys(a.files).length)[0]!
  const samples: Sample[] = []
  for (let i = 0; i < runs; i++) {
    const repo = buildCorpusRepo(shape)
    const stateDir = mkdtempSync(join(tmpdir(), 'model-cost-state-'))
    const child = () => JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', TSX, import.meta.filename, '--child', repo.dir, stateDir], { encoding: 'utf8' }).trim().split('\n').pop()!) as Sample
    try {
      const first = child()
      // the same repo (with the file the first changed) in a new process: the next run of the setup
      first.nextRunMs = child().coldMs
      samples.push(first)
      log(`model: ${shape.name} sample ${i + 1}/${runs}: ${ms(first.coldMs)}, next run ${ms(first.nextRunMs)}`)
    } finally {
      rmSync(repo.root, { recursive: true, force: true })
      rmSync(stateDir, { recursive: true, force: true })
    }
  }
  const s = samples[0]!
  return [
    `Measured with \`npx tsx scripts/model-cost.ts\` (${provenance('npx tsx scripts/model-cost.ts')}), ${runs} fresh processes, on the largest corpus repo, \`${shape.name}\` (${s.files} files, ${s.apps} Applications, ${s.objects} objects rendered from this repo, ${s.builds} Kustomize folders built).`,
    '',
    '| what | median | min | max |',
    '| --- | --- | --- | --- |',
    ...(
      [
        ['first load of the run (every Kustomize folder built with `kubectl kustomize`)', samples.map((x) => x.coldMs)],
        ['load again, nothing changed (kept for the run)', samples.map((x) => x.keptMs)],
        ['first load of the next run, a new process (builds kept on disk in STATE_DIR, no kubectl)', samples.map((x) => x.nextRunMs ?? NaN)],
        ['load after one file of a Kustomize app changed (read again; builds kept by their inputs)', samples.map((x) => x.changedMs)],
      ] as const
    ).map(([what, xs]) => `| ${what} | ${ms(median([...xs]))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))} |`),
    '',
    `- kubectl kustomize runs: ${s.builds} on the first load, ${median(samples.map((x) => x.changedBuilds))} after one file changed (only the app that reads it)`,
    `- load average (1 min) while measuring: ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores (kubectl kustomize itself takes 0.1-0.2 s of CPU per folder here; the rest of a cold load's wall time is waiting for a core)`,
    `- memory the model holds (heap after a GC, median): ${median(samples.map((x) => x.heapMiB)).toFixed(1)} MiB; the process's RSS grew by ${median(samples.map((x) => x.rssMiB)).toFixed(1)} MiB over the load`,
  ]
}

if (process.argv[2] === '--child') {
  process.stdout.write(`${JSON.stringify(await sample(process.argv[3]!, process.argv[4]!))}\n`)
} else if (import.meta.filename === process.argv[1]) {
  const lines = await measureModelCost((l) => process.stderr.write(`${l}\n`))
  process.stdout.write(`${lines.join('\n')}\n`)
  replaceQualitySection('model-cost', lines.join('\n'))
}
