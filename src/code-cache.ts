// @kubernetes/client-node in the prebuilt bundle (see scripts/build.ts): one CommonJS file run with
// the V8 code cache the build wrote beside it. Compiling its 1.8 MB took about 35 ms of each run
// that reaches the cluster; with the cache V8 skips most of that (about 10 ms). Node 20 keeps no code
// cache for ES modules, so this file is CommonJS and loaded here, by hand, as Node loads CommonJS.
// A cache V8 refuses (another Node build, other V8 flags) is only slower: the source is compiled.
// Only Node's own modules here: the bundle imports this file.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Script } from 'node:vm'

/** Node's CommonJS wrapper, so the file sees what any CommonJS module sees. */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname) {${source}\n})`

export interface CompiledCommonJs {
  script: Script
  /** runs the module's top level (once) and gives its exports */
  run(): Record<string, unknown>
}

/** Compiles `file` (with `cachedData` when given); running it is a separate step. */
export function compileCommonJs(file: string, cachedData?: Buffer): CompiledCommonJs {
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData })
  let exports: Record<string, unknown> | undefined
  return {
    script,
    run() {
      if (!exports) {
        const module = { exports: {} as Record<string, unknown> }
        script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
        exports = module.exports
      }
      return exports
    },
  }
}

/** The exports of `file`, compiled with the code cache in `cacheFile` when it is there. */
export function loadCommonJs(file: string, cacheFile: string): Record<string, unknown> {
  let cachedData: Buffer | undefined
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // no cache: compiled from the source
  }
  return compileCommonJs(file, cachedData).run()
}
