// An ImageUpdater checked against the CRD of the Image Updater release that runs (the repo model's
// reading of manifests/crds/, src/repo-model/crd-schema.ts): a required field missing (spec.namespace
// up to 1.1.0), a field that release does not declare (useAnnotations before 1.1, spec.namespace from
// 1.2, a misspelt allowTag: dropped or refused by the API server, never read by the controller), a
// value outside an enum, a wrong type, the CRD's validation rules.
import type { KObj } from '../cluster/kube.ts'
import { IMAGE_UPDATER_CRD_FILES, imageUpdaterSchema, schemaProblems } from '../repo-model/crd-schema.ts'

/** The app minor (`1.2`) whose CRD applies to `version` (`1.2.2`); undefined when none is bundled. */
export function schemaRelease(version: string | undefined): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '')
  const minor = m ? `${m[1]}.${m[2]}` : undefined
  return minor && IMAGE_UPDATER_CRD_FILES[minor] ? minor : undefined
}

/** What is wrong with the ImageUpdater's spec for the release `version` (empty: valid, or no CRD bundled for it). */
export function imageUpdaterSchemaProblems(iu: KObj, version: string | undefined): string[] {
  const minor = schemaRelease(version)
  if (!minor) return []
  if (!iu.spec) return ['spec: required']
  const spec = imageUpdaterSchema(minor).schema.properties?.spec
  return spec ? schemaProblems(iu.spec, spec, 'spec') : []
}
