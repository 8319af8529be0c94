// Builds the CLI bundle that scripts/run.ts uses when it is fresh (see src/fast-start.ts): one esbuild
// bundle of src/cli.ts (runner, tasks and their libraries, @kubernetes/client-node only in its own
// chunk, loaded when a cluster task runs), plus a manifest of every input's size and mtime. Run by
// `npm install` (the `prepare` script) and by `npm run build`. A failed build is reported and leaves
// no bundle: the CLI then runs from the sources, as it does with a stale bundle.
//
//   npm run build   (or: npx tsx scripts/build.ts)
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, type BuildOptions, type Plugin } from 'esbuild'
import { BUNDLE_DIR, BUNDLE_MANIFEST, stampOf, type BundleManifest, type FileStamp } from '../src/fast-start.ts'
import { compileCommonJs } from '../src/code-cache.ts'

const PROJECT = resolve(import.meta.dirname, '..')

/**
 * The sources compute paths from where they live (`import.meta.dirname` → manifests/, the project
 * folder): in the bundle, each keeps the values of its own source file, not the bundle's.
 */
const sourceLocation: Plugin = {
  name: 'source-location',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes('import.meta.')) return undefined
      const contents = text
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
      return { contents, loader: 'ts' }
    })
  },
}

/**
 * node-fetch 2 (client-node's HTTP client) imports whatwg-url but uses it only where Node has no URL
 * of its own (`Url.URL || whatwgUrl.URL`); loading it still evaluates tr46's Unicode tables, about a
 * tenth of the client-node chunk. Node's URL stands in for it. Any other importer stops the build:
 * it may need the real package.
 */
const nodeUrlForWhatwgUrl: Plugin = {
  name: 'node-url-for-whatwg-url',
  setup(b) {
    b.onResolve({ filter: /^whatwg-url$/ }, (args) => {
      if (!args.importer.includes('/node_modules/node-fetch/'))
        return { errors: [{ text: `whatwg-url is imported by ${args.importer}: the build replaces it with Node's URL for node-fetch only (scripts/build.ts)` }] }
      return { path: 'whatwg-url', namespace: 'node-url' }
    })
    b.onLoad({ filter: /.*/, namespace: 'node-url' }, () => ({ contents: 'export const URL = globalThis.URL\nexport default { URL }\n', loader: 'js' }))
  },
}

/** client-node as the runs load it: CommonJS with a V8 code cache (src/code-cache.ts). */
const CLIENT_NODE_SOURCE = 'src/cluster/client-node.ts'
const CLIENT_NODE_FILE = 'client-node.cjs'
const CLIENT_NODE_CACHE = 'client-node.cjs.v8-cache'

/**
 * kube.ts's `import('./client-node.ts')`, in the bundle: a module that loads the CommonJS build of
 * client-node with its code cache and exports the same names.
 */
function clientNodeFromCache(projectDir: string, outDir: string, names: string[]): Plugin {
  return {
    name: 'client-node-from-cache',
    setup(b) {
      b.onResolve({ filter: /\/client-node\.ts$/ }, (args) =>
        join(args.resolveDir, args.path) === join(projectDir, CLIENT_NODE_SOURCE) ? { path: 'client-node', namespace: 'client-node-from-cache' } : undefined,
      )
      b.onLoad({ filter: /.*/, namespace: 'client-node-from-cache' }, () => ({
        contents: [
          `import { loadCommonJs } from ${JSON.stringify(join(projectDir, 'src', 'code-cache.ts'))}`,
          `const m = loadCommonJs(${JSON.stringify(join(outDir, CLIENT_NODE_FILE))}, ${JSON.stringify(join(outDir, CLIENT_NODE_CACHE))})`,
          ...names.map((n) => `export const ${n} = m.${n}`),
        ].join('\n'),
        resolveDir: projectDir,
        loader: 'js',
      }))
    },
  }
}

export async function buildBundle(projectDir = PROJECT, outDir = join(projectDir, BUNDLE_DIR)): Promise<BundleManifest> {
  // the manifest goes first and comes back last: an interrupted build leaves no fresh-looking bundle
  rmSync(join(outDir, BUNDLE_MANIFEST), { force: true })
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const common: BuildOptions = {
    absWorkingDir: projectDir,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    // whitespace and syntax only: names stay, so a stack trace still reads
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // ws's optional native speed-ups: loaded in a try block when installed
    external: ['bufferutil', 'utf-8-validate'],
    metafile: true,
    logLevel: 'warning',
  }
  // client-node first: CommonJS, run once here so that its code cache holds what its top level
  // compiles too (the names it exports come from that run)
  const clientNode = await build({
    ...common,
    entryPoints: [join(projectDir, CLIENT_NODE_SOURCE)],
    outfile: join(outDir, CLIENT_NODE_FILE),
    format: 'cjs',
    plugins: [nodeUrlForWhatwgUrl],
  })
  const compiled = compileCommonJs(join(outDir, CLIENT_NODE_FILE))
  const names = Object.keys(compiled.run()).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))
  writeFileSync(join(outDir, CLIENT_NODE_CACHE), compiled.script.createCachedData())
  const result = await build({
    ...common,
    entryPoints: { cli: join(projectDir, 'src', 'cli.ts') },
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    format: 'esm',
    // CommonJS libraries inside an ESM bundle still call require() for Node's own modules
    banner: { js: "import { createRequire as __setupCreateRequire } from 'node:module'; const require = __setupCreateRequire(import.meta.url);" },
    plugins: [sourceLocation, nodeUrlForWhatwgUrl, clientNodeFromCache(projectDir, outDir, names)],
  })
  const stamps = (files: string[]): Record<string, FileStamp> => {
    const out: Record<string, FileStamp> = {}
    for (const f of files) {
      const abs = isAbsolute(f) ? f : join(projectDir, f)
      try {
        out[abs] = stampOf(abs)
      } catch {
        // esbuild's virtual inputs ("<runtime>") are no files
      }
    }
    return out
  }
  const manifest: BundleManifest = {
    projectDir,
    node: process.version,
    // the build itself is an input too: a changed build script makes the bundle stale
    inputs: stamps([...Object.keys(result.metafile!.inputs), ...Object.keys(clientNode.metafile!.inputs), join(projectDir, 'scripts', 'build.ts'), join(projectDir, 'src', 'fast-start.ts')]),
    outputs: stamps([...Object.keys(result.metafile!.outputs), ...Object.keys(clientNode.metafile!.outputs), join(outDir, CLIENT_NODE_CACHE)]),
  }
  const tmp = join(outDir, `${BUNDLE_MANIFEST}.tmp-${process.pid}`)
  writeFileSync(tmp, `${JSON.stringify(manifest)}\n`)
  renameSync(tmp, join(outDir, BUNDLE_MANIFEST))
  return manifest
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const m = await buildBundle()
    process.stdout.write(`built ${BUNDLE_DIR}: ${Object.keys(m.outputs).length} files from ${Object.keys(m.inputs).length} inputs\n`)
  } catch (err) {
    rmSync(join(PROJECT, BUNDLE_DIR), { recursive: true, force: true })
    process.stderr.write(`! the CLI bundle was not built (the CLI runs from the sources, just slower): ${err instanceof Error ? err.message : String(err)}\n`)
  }
}
