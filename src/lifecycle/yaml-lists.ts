// Byte-exact removals the lifecycle commands need beside src/yaml-edit.ts: an item of a block list
// (a kustomization's `resources:`, an AppProject's `sourceRepos:`), one document of a file of
// several, and the kustomize `images:` entry a retirement folds the last written tag into.
import { isMap, isScalar, isSeq } from 'yaml'
import type { Node } from 'yaml'
import { SetupError } from '../errors.ts'
import { appendBlockItem, insertKey, setScalar, singleDocument, splitDocuments, type YamlPath } from '../yaml-edit.ts'

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1
const lineNumber = (text: string, at: number) => text.slice(0, at).split('\n').length

/** Removes the scalar item `value` (its line, with a comment on it) from the block list at path; same text when absent. */
export function removeListItem(text: string, file: string, path: YamlPath, value: string): string {
  const doc = singleDocument(text, file)
  const seq = doc.getIn(path, true) as Node | undefined
  if (!seq || !isSeq(seq)) return text
  const item = seq.items.find((i) => isScalar(i) && String(i.value) === value) as Node | undefined
  if (!item?.range) return text
  if (seq.items.length === 1) {
    // the list's key would be left with nothing: `key:` alone means null, which kustomize refuses
    throw new SetupError(`${file}:${lineNumber(text, item.range[0])}: ${value} is the only item of ${path.join('.')}`, `remove ${path.join('.')} from ${file} by hand, then rerun`)
  }
  if (seq.flow) {
    // [a, b, c]: the item goes with the separator before it (after it, for the first); the rest
    // of the list, its spacing and any comment stay byte for byte
    const i = seq.items.indexOf(item as never)
    const prev = seq.items[i - 1] as Node | undefined
    const next = seq.items[i + 1] as Node | undefined
    return prev?.range ? text.slice(0, prev.range[1]) + text.slice(item.range[1]) : text.slice(0, item.range[0]) + text.slice(next!.range![0])
  }
  const start = lineStart(text, item.range[0])
  if (!/^\s*-\s*$/.test(text.slice(start, item.range[0])))
    throw new SetupError(`${file}:${lineNumber(text, item.range[0])}: ${value} shares its line with other content`, `remove ${value} from ${file} by hand, then rerun`)
  let stop = text.indexOf('\n', item.range[2] - 1)
  stop = stop === -1 ? text.length : stop + 1
  return text.slice(0, start) + text.slice(stop)
}

/** The file without its document number `index` (of splitDocuments); the others keep their text. */
export function removeDocument(text: string, file: string, index: number): string | null {
  const docs = splitDocuments(text, file)
  const kept = docs.filter((_, i) => i !== index).map((d) => d.source.replace(/\s*$/, '\n'))
  return kept.length ? kept.join('---\n') : null
}

export interface ImageOverride {
  name: string
  newName?: string
  newTag?: string
  digest?: string
}

/** A kustomize images entry as Image Updater writes it: `name:tag`, `name@sha256:...`, `name=newName:tag`. */
export function parseImageOverride(entry: string): ImageOverride | undefined {
  const [lhs, rhs] = entry.includes('=') ? entry.split('=', 2) : [undefined, entry]
  let ref = rhs!.trim()
  let digest: string | undefined
  const at = ref.indexOf('@')
  if (at >= 0) {
    digest = ref.slice(at + 1)
    ref = ref.slice(0, at)
  }
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  const tag = colon > slash ? ref.slice(colon + 1) : undefined
  const image = colon > slash ? ref.slice(0, colon) : ref
  if (!image) return undefined
  return lhs ? { name: lhs.trim(), newName: image !== lhs.trim() ? image : undefined, newTag: tag, digest } : { name: image, newTag: tag, digest }
}

/**
 * The kustomization with `images:` pinning `o` (the entry for its name updated in place, else a new
 * entry, else a new `images:` list): kustomize then renders exactly what Argo CD rendered with
 * Image Updater's override file.
 */
export function pinImage(text: string, file: string, o: ImageOverride): string {
  const doc = singleDocument(text, file)
  const images = doc.get('images', true) as Node | undefined
  const fields: [string, string | undefined][] = [['newName', o.newName], ['newTag', o.newTag], ['digest', o.digest]]
  if (images && isSeq(images)) {
    const index = images.items.findIndex((i) => isMap(i) && String((i as any).get('name')) === o.name)
    if (index >= 0) {
      let out = text
      for (const [k, v] of fields) {
        if (v === undefined) continue
        const has = (singleDocument(out, file).getIn(['images', index, k]) as unknown) !== undefined
        out = has ? setScalar(out, file, ['images', index, k], v) : insertKey(out, file, ['images', index], k, v)
      }
      return out
    }
    const lines = [`- name: ${o.name}`, ...fields.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k}: ${quoteIfNeeded(v!)}`)]
    return appendBlockItem(text, file, ['images'], lines)
  }
  if (images) throw new SetupError(`${file}: images is not a list`, `fix images: in ${file}, then rerun`)
  return insertKey(text, file, [], 'images', [`  - name: ${o.name}`, ...fields.filter(([, v]) => v !== undefined).map(([k, v]) => `    ${k}: ${quoteIfNeeded(v!)}`)])
}

const quoteIfNeeded = (v: string) => (/^[\w.\-/]+$/.test(v) && !/^\d+(\.\d+)?$/.test(v) ? v : JSON.stringify(v))

/** A Helm parameter as Image Updater writes it in `.argocd-source-<app>.yaml` (and as an Application's source lists it). */
export interface HelmParameter {
  name: string
  value: string
  forceString?: boolean
}

/**
 * The Application with `params` set in its source at `sourcePath` (`helm.parameters`: the entry of
 * that name updated in place, else a new entry, else a new list): Argo CD merges the write-back
 * file's parameters over the source's by name, so the source then renders what it rendered with it.
 */
export function pinHelmParameters(text: string, file: string, sourcePath: (string | number)[], params: HelmParameter[]): string {
  let out = text
  for (const p of params) {
    const entry = [`- name: ${quoteIfNeeded(p.name)}`, `  value: ${JSON.stringify(p.value)}`, ...(p.forceString ? ['  forceString: true'] : [])]
    const doc = singleDocument(out, file)
    const helm = doc.getIn([...sourcePath, 'helm'], true) as Node | undefined
    const list = doc.getIn([...sourcePath, 'helm', 'parameters'], true) as Node | undefined
    if (!helm) {
      out = insertKey(out, file, sourcePath, 'helm', ['  parameters:', ...entry.map((l) => `    ${l}`)])
      continue
    }
    if (!isMap(helm)) throw new SetupError(`${file}: ${[...sourcePath, 'helm'].join('.')} is not a map`, `fix it in ${file}, then rerun`)
    if (!list) {
      out = insertKey(out, file, [...sourcePath, 'helm'], 'parameters', entry.map((l) => `  ${l}`))
      continue
    }
    if (!isSeq(list)) throw new SetupError(`${file}: ${[...sourcePath, 'helm', 'parameters'].join('.')} is not a list`, `fix it in ${file}, then rerun`)
    const index = list.items.findIndex((i) => isMap(i) && String((i as any).get('name')) === p.name)
    if (index < 0) {
      out = appendBlockItem(out, file, [...sourcePath, 'helm', 'parameters'], entry)
      continue
    }
    const at = [...sourcePath, 'helm', 'parameters', index]
    out = setScalar(out, file, [...at, 'value'], p.value)
    if (p.forceString && (singleDocument(out, file).getIn([...at, 'forceString']) as unknown) === undefined) out = insertKey(out, file, at, 'forceString', 'true')
  }
  return out
}
