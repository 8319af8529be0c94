// Which ImageUpdater shape a chart version needs. Facts: chart 1.0.x = app 1.0.x, 1.1.x = app 1.1.x,
// 1.2.x = app 1.2.x; `spec.namespace` is required up to app 1.1 and gone from 1.2; 0.x charts are
// annotation-only (no ImageUpdater resource); newer charts are not known to this tool yet.
import { SetupError } from '../errors.ts'

export interface ChartShape {
  chartVersion: string
  appMinor: '1.0' | '1.1' | '1.2'
  /** spec.namespace is required (app < 1.2) */
  specNamespace: boolean
  /** status.applicationsMatched/imagesManaged exist (app >= 1.2) */
  statusCounts: boolean
  /** applicationRefs[].useAnnotations exists (app >= 1.1) */
  useAnnotations: boolean
}

/** The newest chart checked against the upstream sources (argo-helm chart 1.2.4 = app v1.2.2). */
export const NEWEST_VERIFIED_CHART = '1.2.4'
const NEWEST_VERIFIED_PATCH = 4

export function chartShape(chartVersion: string): ChartShape {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(chartVersion.trim())
  if (!m) throw new SetupError(`CHART_VERSION "${chartVersion}" is not a chart version like 1.2.4`, 'set CHART_VERSION to an argocd-image-updater chart version, e.g. CHART_VERSION=1.2.4')
  const [major, minor] = [Number(m[1]), Number(m[2])]
  if (major === 0)
    throw new SetupError(
      `CHART_VERSION ${chartVersion} installs Image Updater 0.x, which is configured by annotations only; this setup writes the ImageUpdater resource of 1.x`,
      'set CHART_VERSION=1.2.4 (or any 1.0.x-1.2.x)',
    )
  const patch = Number(m[3])
  if (major !== 1 || minor > 2)
    throw new SetupError(`CHART_VERSION ${chartVersion} is newer than the charts this setup knows (1.0.x to 1.2.x)`, `set CHART_VERSION=${NEWEST_VERIFIED_CHART}`)
  // within 1.2, a patch after the newest verified one may carry a CRD or values this setup has not seen
  if (minor === 2 && patch > NEWEST_VERIFIED_PATCH)
    throw new SetupError(
      `CHART_VERSION ${chartVersion} is not a chart this setup has verified against upstream (the newest verified is ${NEWEST_VERIFIED_CHART}, app v1.2.2; a chart for app v1.3.0 is not verified yet)`,
      `set CHART_VERSION=${NEWEST_VERIFIED_CHART}`,
    )
  const appMinor = `1.${minor}` as ChartShape['appMinor']
  return { chartVersion, appMinor, specNamespace: minor < 2, statusCounts: minor >= 2, useAnnotations: minor >= 1 }
}
