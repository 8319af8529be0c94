// The prebuilt CLI bundle (src/fast-start.ts, scripts/build.ts): used only while every file it was
// built from is unchanged; anything else runs the sources.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { BUNDLE_DIR, BUNDLE_MANIFEST, bundleStaleness, freshBundle, stampOf, type BundleManifest } from '../src/fast-start.ts'
import { buildBundle } from '../scripts/build.ts'
import { compileCommonJs, loadCommonJs } from '../src/code-cache.ts'
import { runSetup } from './helpers.ts'

const PROJECT = resolve(import.meta.dirname, '..')

function fakeProject(): { dir: string; input: string; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fast-start-'))
  const input = join(dir, 'src.ts')
  const output = join(dir, BUNDLE_DIR, 'cli.js')
  writeFileSync(input, 'export const a = 1\n')
  const out = join(dir, BUNDLE_DIR)
  mkdirSync(out, { recursive: true })
  writeFileSync(output, 'export const a = 1\n')
  const manifest: BundleManifest = { projectDir: dir, node: process.version, inputs: { [input]: stampOf(input) }, outputs: { [output]: stampOf(output) } }
  writeFileSync(join(out, BUNDLE_MANIFEST), JSON.stringify(manifest))
  return { dir, input, output }
}

const bump = (file: string) => {
  const st = statSync(file)
  utimesSync(file, st.atime, new Date(st.mtimeMs + 2000))
}

test('a bundle whose inputs and outputs are unchanged is used; any change falls back to the sources', () => {
  const { dir, input, output } = fakeProject()
  try {
    assert.equal(bundleStaleness(dir, {}), undefined)
    assert.match(freshBundle(dir, {}) ?? '', /build\/cli\/cli\.js$/)
    assert.equal(bundleStaleness(dir, { SETUP_FROM_SOURCE: '1' }), 'SETUP_FROM_SOURCE is set')
    assert.equal(bundleStaleness(dir, { SETUP_FROM_SOURCE: '0' }), undefined)
    bump(input)
    assert.equal(bundleStaleness(dir, {}), `${input} changed since the build`)
    assert.equal(freshBundle(dir, {}), undefined)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const second = fakeProject()
  try {
    writeFileSync(second.output, 'export const a = 2\n') // same size, later mtime: a half-rewritten bundle
    // file times tick coarsely (a few ms): a write right after the stamp can carry the same time
    bump(second.output)
    assert.match(bundleStaleness(second.dir, {}) ?? '', /cli\.js changed since the build/)
  } finally {
    rmSync(second.dir, { recursive: true, force: true })
  }
  const third = fakeProject()
  try {
    rmSync(third.input)
    assert.equal(bundleStaleness(third.dir, {}), `${third.input} changed since the build`)
    rmSync(join(third.dir, BUNDLE_DIR, BUNDLE_MANIFEST))
    assert.match(bundleStaleness(third.dir, {}) ?? '', /^no bundle/)
  } finally {
    rmSync(third.dir, { recursive: true, force: true })
  }
})

test('the real bundle: built from every source the CLI loads, run by scripts/run.ts while fresh, same output as the sources; a touched source falls back', async () => {
  // built only when stale: other test files may be running from the bundle right now
  if (bundleStaleness(PROJECT)) await buildBundle()
  const manifest: BundleManifest = JSON.parse(readFileSync(join(PROJECT, BUNDLE_DIR, BUNDLE_MANIFEST), 'utf8'))
  const inputs = Object.keys(manifest.inputs)
  for (const rel of ['src/runner.ts', 'src/cli-args.ts', 'tasks/index.ts', 'tasks/07-commit-and-deploy.ts', 'src/cluster/kube.ts', 'src/cluster/client-node.ts'])
    assert.ok(inputs.includes(join(PROJECT, rel)), `${rel} is an input of the bundle`)
  assert.equal(bundleStaleness(PROJECT), undefined)
  const env = { SETUP_SHOW_START: '1' }
  const fromBundle = await runSetup(['--help'], env)
  const fromSources = await runSetup(['--help'], { ...env, SETUP_FROM_SOURCE: '1' })
  assert.equal(fromBundle.code, 0, fromBundle.stderr)
  assert.match(fromBundle.stderr, /^start: bundle /)
  assert.match(fromSources.stderr, /^start: sources \(SETUP_FROM_SOURCE is set\)/)
  assert.equal(fromBundle.stdout, fromSources.stdout)
  const list = await runSetup(['--list'], env)
  assert.match(list.stderr, /^start: bundle /)
  assert.equal(list.stdout, (await runSetup(['--list'], { SETUP_FROM_SOURCE: '1' })).stdout)

  // a source edited after the build: the next start runs the sources (the file's times are restored after)
  const touched = join(PROJECT, 'src', 'cli-args.ts')
  // to the nanosecond (utimes takes a Date or seconds as a double, which round it): touch -d @s.ns
  const before = statSync(touched, { bigint: true })
  const restore = () => {
    const ns = before.mtimeNs
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, touched])
  }
  try {
    bump(touched)
    assert.equal(bundleStaleness(PROJECT), `${touched} changed since the build`)
    const stale = await runSetup(['--help'], env)
    assert.equal(stale.code, 0, stale.stderr)
    assert.match(stale.stderr, /^start: sources \(.*cli-args\.ts changed since the build\)/)
  } finally {
    restore()
  }
  assert.equal(bundleStaleness(PROJECT), undefined)
})

test('the bundle loads client-node with the code cache the build wrote, and without a usable one still works', async () => {
  if (bundleStaleness(PROJECT)) await buildBundle()
  const file = join(PROJECT, BUNDLE_DIR, 'client-node.cjs')
  const cacheFile = join(PROJECT, BUNDLE_DIR, 'client-node.cjs.v8-cache')
  // Whether V8 takes a cache is asked in a new process: in this one a build above compiled the same
  // source, and V8 then serves its own in-memory compilation and ignores any cache given, good or bad.
  const verdict = (damage: boolean) =>
    execFileSync(process.execPath, ['--import', 'tsx', '-e', [
      `import { readFileSync } from 'node:fs'`,
      `import { compileCommonJs } from ${JSON.stringify(join(PROJECT, 'src', 'code-cache.ts'))}`,
      `const cache = readFileSync(${JSON.stringify(cacheFile)})`,
      damage ? 'cache.fill(7, 0, 64)' : '',
      `const c = compileCommonJs(${JSON.stringify(file)}, cache)`,
      `console.log(JSON.stringify({ rejected: c.script.cachedDataRejected, kubeConfig: typeof c.run().KubeConfig }))`,
    ].join('\n')], { cwd: PROJECT, encoding: 'utf8' })
  assert.deepEqual(JSON.parse(verdict(false)), { rejected: false, kubeConfig: 'function' }, 'V8 accepts the cache from the build')
  const exports = compileCommonJs(file).run()
  for (const name of ['KubeConfig', 'KubernetesObjectApi', 'CoreV1Api', 'Exec', 'Watch', 'PatchStrategy']) assert.ok(exports[name], `client-node's ${name}`)
  // the bundle's kube.ts gets these names from its stand-in for client-node.ts
  const chunk = readdirSync(join(PROJECT, BUNDLE_DIR, 'chunks')).find((f) => f.startsWith('client-node-'))
  assert.ok(chunk, 'a chunk for client-node.ts')
  assert.match(readFileSync(join(PROJECT, BUNDLE_DIR, 'chunks', chunk), 'utf8'), /loadCommonJs\(.*client-node\.cjs.*client-node\.cjs\.v8-cache/)
  // a damaged cache is refused by V8 and the source compiled instead; a missing one likewise
  assert.deepEqual(JSON.parse(verdict(true)), { rejected: true, kubeConfig: 'function' })
  assert.equal(typeof loadCommonJs(file, join(PROJECT, BUNDLE_DIR, 'no-such-cache')).KubeConfig, 'function')
})
