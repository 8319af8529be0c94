// The prebuilt bundle of the CLI (`npm run build`, also run by `npm install`): `scripts/run.ts` loads
// it instead of the sources when it is fresh, which saves about a third of a converged run's time and
// most of its memory (tsx's hooks no longer see each of @kubernetes/client-node's ~970 modules).
// "Fresh" means every file the bundle was built from (sources, manifests of the build, node_modules
// files) still has the size and modification time recorded at build time, and the project has not
// moved. Anything else (a touched source, a missing or half-written bundle) falls back to the
// sources, silently: a stale bundle never runs. Only Node's own modules here: this runs first.
import { readFileSync, statSync } from 'node:fs'
import { register } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Where `npm run build` writes the bundle, relative to the project. */
export const BUNDLE_DIR = 'build/cli'
export const BUNDLE_ENTRY = 'cli.js'
export const BUNDLE_MANIFEST = 'manifest.json'
/** Set (to anything but "" or "0") to always run from the sources. */
export const FROM_SOURCE_ENV = 'SETUP_FROM_SOURCE'

export interface FileStamp {
  size: number
  /** whole milliseconds: what utimes can set back, and finer than any edit */
  mtimeMs: number
}

export interface BundleManifest {
  /** the project folder the bundle was built in: paths inside it are absolute */
  projectDir: string
  /** Node's version at build time (the bundle targets it) */
  node: string
  /** every input, absolute path → stamp; the outputs too, so a half-written bundle is stale */
  inputs: Record<string, FileStamp>
  outputs: Record<string, FileStamp>
}

export function stampOf(file: string): FileStamp {
  const st = statSync(file)
  return { size: st.size, mtimeMs: Math.floor(st.mtimeMs) }
}

/** The first file whose stamp differs from the manifest's (or that is gone), or undefined. */
export function staleFile(stamps: Record<string, FileStamp>): string | undefined {
  for (const [file, want] of Object.entries(stamps)) {
    let now: FileStamp
    try {
      now = stampOf(file)
    } catch {
      return file
    }
    if (now.size !== want.size || now.mtimeMs !== want.mtimeMs) return file
  }
  return undefined
}

/** Why the bundle in `projectDir` cannot be used, or undefined when it is fresh. */
export function bundleStaleness(projectDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const flag = env[FROM_SOURCE_ENV]
  if (flag && flag !== '0') return `${FROM_SOURCE_ENV} is set`
  let manifest: BundleManifest
  try {
    manifest = JSON.parse(readFileSync(join(projectDir, BUNDLE_DIR, BUNDLE_MANIFEST), 'utf8'))
  } catch {
    return 'no bundle (npm run build makes one)'
  }
  if (manifest.projectDir !== projectDir) return `built in ${manifest.projectDir}`
  if (manifest.node !== process.version) return `built for Node ${manifest.node}`
  const changed = staleFile(manifest.inputs) ?? staleFile(manifest.outputs)
  return changed ? `${changed} changed since the build` : undefined
}

/** The bundle's entry as an import URL when it is fresh; undefined: run from the sources. */
export function freshBundle(projectDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (bundleStaleness(projectDir, env)) return undefined
  return pathToFileURL(join(projectDir, BUNDLE_DIR, BUNDLE_ENTRY)).href
}

/**
 * Module hooks that load the bundle's own files straight from disk, ahead of tsx's: tsx scans every
 * JavaScript file that contains `import(` for dynamic imports (and builds a source map for it),
 * which costs about as much as loading the bundle itself; the bundle is plain JavaScript already.
 * Everything else (Node's modules, the bundle's externals) goes on to the next hooks unchanged.
 */
const BUNDLE_HOOKS = `
import { readFile } from 'node:fs/promises'
let dir
export function initialize(data) { dir = data.dir }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith(dir)) return { url: specifier, format: 'module', shortCircuit: true }
  if (context.parentURL && context.parentURL.startsWith(dir) && specifier.startsWith('./'))
    return { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true }
  return next(specifier, context)
}
export async function load(url, context, next) {
  if (url.startsWith(dir)) return { format: 'module', source: await readFile(new URL(url)), shortCircuit: true }
  return next(url, context)
}
`

/** Imports the bundle's entry (a URL from freshBundle), its files past tsx's hooks. */
export async function importBundle<T>(entryUrl: string): Promise<T> {
  register(`data:text/javascript,${encodeURIComponent(BUNDLE_HOOKS)}`, { data: { dir: new URL('.', entryUrl).href } })
  return (await import(entryUrl)) as T
}
