// The name of the registry pull secret ESO makes for Image Updater. `argocd-image-updater-secret` is
// the chart's own Secret (webhook keys; the upstream install creates it Opaque): an ExternalSecret
// with creationPolicy Owner on that name takes it over (ownerReference, its data replaced; a type
// change from Opaque is refused by the API, so the ExternalSecret never gets Ready), and deleting
// that ExternalSecret garbage-collects the chart's Secret with it. The pull secret gets its own name.
import { isMap, isScalar } from 'yaml'
import { parseYamlDocuments } from './yaml-edit.ts'

export const PULL_SECRET = 'ghcr-pull-secret'
export const OLD_PULL_SECRET = 'argocd-image-updater-secret'

/**
 * A repo set up by an earlier version names its pull-secret ExternalSecret (and the Secret it
 * makes) `argocd-image-updater-secret`: renames exactly those two values, keeping every other byte
 * (comments, quoting, the other documents). Returns the text unchanged when there is nothing to do.
 */
export function migratePullSecretName(text: string, file: string): string {
  const edits: [number, number][] = []
  for (const doc of parseYamlDocuments(text, file)) {
    if (!isMap(doc.contents) || doc.get('kind') !== 'ExternalSecret') continue
    for (const path of [['metadata', 'name'], ['spec', 'target', 'name']]) {
      const node = doc.getIn(path, true)
      if (isScalar(node) && node.value === OLD_PULL_SECRET && node.range) edits.push([node.range[0], node.range[1]])
    }
  }
  let out = text
  for (const [start, end] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(start, end).replace(OLD_PULL_SECRET, PULL_SECRET) + out.slice(end)
  return out
}
