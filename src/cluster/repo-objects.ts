// The Argo CD objects this setup applies, read from the GitOps checkout (the files the repo tasks
// wrote and task 7 pushed), so the cluster gets exactly what git has.
import { parseYaml } from '../yaml-parse.ts'
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { readRepoFile } from '../files.ts'
import type { KObj } from './kube.ts'

/** Parses the one object of `kind` in a repo file (documents of other kinds are ignored). */
export function parseObject(text: string, rel: string, kind: string): KObj {
  const docs = parseYaml(text)
  const found: KObj[] = []
  for (const doc of docs) {
    if ('errors' in doc && doc.errors.length) {
      const e = doc.errors[0]
      throw new SetupError(`${rel}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`, `fix the YAML in ${rel}`)
    }
    const value = doc.toJS() as KObj | null
    if (value && value.kind === kind) found.push(value)
  }
  if (found.length !== 1)
    throw new SetupError(`${rel}: expected exactly one ${kind}, found ${found.length}`, `run the repo tasks first (npx tsx scripts/run.ts --only 2-6), or check the file`)
  const obj = found[0]
  if (!obj.metadata?.name) throw new SetupError(`${rel}: the ${kind} has no metadata.name`, `give it a name in ${rel}`)
  return obj
}

export async function loadObject(ctx: Ctx, rel: string, kind: string): Promise<KObj> {
  const text = await readRepoFile(ctx, rel)
  if (text === null) throw new SetupError(`${rel} does not exist in ${ctx.repoDir}`, 'run the repo tasks first (npx tsx scripts/run.ts --only 2-6)')
  return parseObject(text, rel, kind)
}

/** Namespaced objects default to the Argo CD namespace, as `kubectl apply -n argocd` would. */
export function withNamespace(obj: KObj, namespace: string): KObj {
  return { ...obj, metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? namespace } }
}
