// Resource and application health the way Argo CD assesses it: gitops-engine's built-in checks
// (apps Deployment/StatefulSet/DaemonSet/ReplicaSet, core Service/PersistentVolumeClaim/Pod,
// networking Ingress, batch Job, autoscaling HorizontalPodAutoscaler) and the Lua checks Argo CD
// bundles for the custom kinds a homelab runs here (ESO ExternalSecret/ClusterSecretStore/SecretStore,
// batch CronJob, cert-manager Certificate/Issuer/ClusterIssuer). Every other kind, Argo CD's own
// Application included (its check was removed in Argo CD 1.8), has no health check: undefined here,
// and it does not count toward the app's health.
import type { KObject } from '../store.ts'

export type HealthStatusCode = 'Healthy' | 'Suspended' | 'Progressing' | 'Missing' | 'Degraded' | 'Unknown'
export interface HealthStatus { status: HealthStatusCode; message?: string }

/** From most to least healthy: an app takes the worst of its resources. */
export const HEALTH_ORDER: readonly HealthStatusCode[] = ['Healthy', 'Suspended', 'Progressing', 'Missing', 'Degraded', 'Unknown']

export const isWorse = (current: HealthStatusCode, next: HealthStatusCode) => HEALTH_ORDER.indexOf(next) > HEALTH_ORDER.indexOf(current)

const IGNORE_ANNOTATION = 'argocd.argoproj.io/ignore-healthcheck'
const h = (status: HealthStatusCode, message?: string): HealthStatus => (message ? { status, message } : { status })
const num = (v: unknown) => (typeof v === 'number' ? v : 0)
const condition = (o: KObject, type: string): any => (Array.isArray(o.status?.conditions) ? o.status.conditions.find((c: any) => c?.type === type) : undefined)

function deployment(o: KObject): HealthStatus {
  if (o.spec?.paused) return h('Suspended', 'Deployment is paused')
  const st = o.status ?? {}
  if ((o.metadata.generation ?? 0) > num(st.observedGeneration)) return h('Progressing', 'Waiting for rollout to finish: observed deployment generation less than desired generation')
  if (condition(o, 'Progressing')?.reason === 'ProgressDeadlineExceeded') return h('Degraded', `Deployment "${o.metadata.name}" exceeded its progress deadline`)
  const replicas = o.spec?.replicas ?? 1
  if (num(st.updatedReplicas) < replicas) return h('Progressing', `Waiting for rollout to finish: ${num(st.updatedReplicas)} out of ${replicas} new replicas have been updated...`)
  if (num(st.replicas) > num(st.updatedReplicas)) return h('Progressing', `Waiting for rollout to finish: ${num(st.replicas) - num(st.updatedReplicas)} old replicas are pending termination...`)
  if (num(st.availableReplicas) < num(st.updatedReplicas)) return h('Progressing', `Waiting for rollout to finish: ${num(st.availableReplicas)} of ${num(st.updatedReplicas)} updated replicas are available...`)
  return h('Healthy')
}

function statefulSet(o: KObject): HealthStatus {
  const st = o.status ?? {}
  if (num(st.observedGeneration) === 0 || (o.metadata.generation ?? 0) > num(st.observedGeneration)) return h('Progressing', 'Waiting for statefulset spec update to be observed...')
  const replicas = o.spec?.replicas ?? 1
  if (num(st.readyReplicas) < replicas) return h('Progressing', `Waiting for ${replicas - num(st.readyReplicas)} pods to be ready...`)
  const strategy = o.spec?.updateStrategy ?? { type: 'RollingUpdate' }
  if (strategy.type === 'RollingUpdate' && strategy.rollingUpdate) {
    const partition = strategy.rollingUpdate.partition
    if (typeof partition === 'number' && num(st.updatedReplicas) < replicas - partition)
      return h('Progressing', `Waiting for partitioned roll out to finish: ${num(st.updatedReplicas)} out of ${replicas - partition} new pods have been updated...`)
    return h('Healthy', `partitioned roll out complete: ${num(st.updatedReplicas)} new pods have been updated...`)
  }
  if (strategy.type === 'OnDelete') return h('Healthy', `statefulset has ${num(st.readyReplicas)} ready pods`)
  if (st.updateRevision !== st.currentRevision) return h('Progressing', `waiting for statefulset rolling update to complete ${num(st.updatedReplicas)} pods at revision ${st.updateRevision}...`)
  return h('Healthy', `statefulset rolling update complete ${num(st.currentReplicas)} pods at revision ${st.currentRevision}...`)
}

function daemonSet(o: KObject): HealthStatus {
  const st = o.status ?? {}
  if ((o.metadata.generation ?? 0) > num(st.observedGeneration)) return h('Progressing', 'Waiting for rollout to finish: observed daemon set generation less than desired generation')
  if (o.spec?.updateStrategy?.type === 'OnDelete') return h('Healthy', `daemon set ${num(st.updatedNumberScheduled)} out of ${num(st.desiredNumberScheduled)} new pods have been updated`)
  if (num(st.updatedNumberScheduled) < num(st.desiredNumberScheduled)) return h('Progressing', `Waiting for daemon set "${o.metadata.name}" rollout to finish: ${num(st.updatedNumberScheduled)} out of ${num(st.desiredNumberScheduled)} new pods have been updated...`)
  if (num(st.numberAvailable) < num(st.desiredNumberScheduled)) return h('Progressing', `Waiting for daemon set "${o.metadata.name}" rollout to finish: ${num(st.numberAvailable)} of ${num(st.desiredNumberScheduled)} updated pods are available...`)
  return h('Healthy')
}

function replicaSet(o: KObject): HealthStatus {
  const st = o.status ?? {}
  if ((o.metadata.generation ?? 0) > num(st.observedGeneration)) return h('Progressing', 'Waiting for rollout to finish: observed replica set generation less than desired generation')
  const failure = condition(o, 'ReplicaFailure')
  if (failure?.status === 'True') return h('Degraded', failure.message)
  const replicas = o.spec?.replicas ?? 1
  if (num(st.availableReplicas) < replicas) return h('Progressing', `Waiting for rollout to finish: ${num(st.availableReplicas)} out of ${replicas} new replicas are available...`)
  return h('Healthy')
}

const hasLoadBalancerIngress = (o: KObject) => Array.isArray(o.status?.loadBalancer?.ingress) && o.status.loadBalancer.ingress.length > 0

function service(o: KObject): HealthStatus {
  if (o.spec?.type === 'LoadBalancer' && !hasLoadBalancerIngress(o)) return h('Progressing')
  return h('Healthy')
}

function ingress(o: KObject): HealthStatus {
  return h(hasLoadBalancerIngress(o) ? 'Healthy' : 'Progressing')
}

function pvc(o: KObject): HealthStatus {
  switch (o.status?.phase) {
    case 'Lost': return h('Degraded')
    case 'Pending': return h('Progressing')
    case 'Bound': return h('Healthy')
    default: return h('Unknown')
  }
}

function pod(o: KObject): HealthStatus {
  const restartPolicy = o.spec?.restartPolicy ?? 'Always'
  const statuses: any[] = o.status?.containerStatuses ?? []
  const message = o.status?.message
  if (restartPolicy === 'Always') {
    const bad = statuses.filter((c) => {
      const reason = String(c?.state?.waiting?.reason ?? '')
      return c?.state?.waiting && (reason.startsWith('Err') || reason.endsWith('Error') || reason.endsWith('BackOff'))
    })
    if (bad.length) return h('Degraded', bad.map((c) => c.state.waiting.message ?? '').join(', '))
  }
  switch (o.status?.phase) {
    case 'Pending': return h('Progressing', message)
    case 'Succeeded': return h('Healthy', message)
    case 'Failed': {
      if (message) return h('Degraded', message)
      for (const c of [...(o.status?.initContainerStatuses ?? []), ...statuses]) {
        const t = c?.state?.terminated
        if (t?.message) return h('Degraded', t.message)
        if (t?.reason === 'OOMKilled') return h('Degraded', 'OOMKilled')
        if (t && t.exitCode !== 0) return h('Degraded', `container "${c.name}" failed with exit code ${t.exitCode}`)
      }
      return h('Degraded')
    }
    case 'Running': {
      if (restartPolicy !== 'Always') return h('Progressing', message)
      if (condition(o, 'Ready')?.status === 'True') return h('Healthy', message)
      if (statuses.some((c) => c?.lastState?.terminated)) return h('Degraded', message)
      return h('Progressing', message)
    }
    default: return h('Unknown', message)
  }
}

function job(o: KObject): HealthStatus {
  let failed: string | undefined
  let complete = false
  let message: string | undefined
  for (const c of o.status?.conditions ?? []) {
    if (c?.type === 'Failed' && c.status === 'True') { failed = c.message ?? ''; complete = true }
    if (c?.type === 'Complete' && c.status === 'True') { complete = true; message = c.message }
  }
  if (!complete) return h('Progressing', message)
  if (failed !== undefined) return h('Degraded', failed)
  return h('Healthy', message)
}

const HPA_DEGRADED = [['AbleToScale', 'FailedGetScale'], ['AbleToScale', 'FailedUpdateScale'], ['ScalingActive', 'FailedGetResourceMetric'], ['ScalingActive', 'InvalidSelector']]
const HPA_HEALTHY = [['AbleToScale', 'SucceededRescale'], ['ScalingLimited', 'DesiredWithinRange'], ['ScalingLimited', 'TooFewReplicas'], ['ScalingLimited', 'TooManyReplicas']]

function hpa(o: KObject): HealthStatus {
  for (const c of o.status?.conditions ?? []) {
    if (HPA_DEGRADED.some(([t, r]) => c?.type === t && c?.reason === r)) return h('Degraded', c.message)
    if (HPA_HEALTHY.some(([t, r]) => c?.type === t && c?.reason === r)) return h('Healthy', c.message)
  }
  return h('Progressing', 'Waiting to Autoscale')
}

/** The Lua checks' common shape: the Ready condition decides, no Ready condition means Progressing. */
const readyCondition = (waiting: string) => (o: KObject): HealthStatus => {
  for (const c of o.status?.conditions ?? []) {
    if (c?.type === 'Ready' && c.status === 'False') return h('Degraded', c.message)
    if (c?.type === 'Ready' && c.status === 'True') return h('Healthy', c.message)
  }
  return h('Progressing', waiting)
}

function externalSecret(o: KObject): HealthStatus {
  for (const c of o.status?.conditions ?? []) {
    // With refreshPolicy OnChange, a Ready condition older than the last refresh is stale.
    if (c?.type === 'Ready' && (o.spec?.refreshPolicy !== 'OnChange' || String(c.lastTransitionTime ?? '') >= String(o.status?.refreshTime ?? ''))) {
      if (c.status === 'False') return h('Degraded', c.message)
      if (c.status === 'True') return h('Healthy', c.message)
    }
  }
  return h('Progressing', 'Waiting for ExternalSecret')
}

function certificate(o: KObject): HealthStatus {
  const issuing = condition(o, 'Issuing')
  if (issuing?.status === 'True') return h('Progressing', issuing.message)
  return readyCondition('Waiting for certificate')(o)
}

function cronJob(o: KObject): HealthStatus {
  if (o.spec?.suspend === true) return h('Suspended', 'CronJob is Suspended')
  const st = o.status
  if (!st) return h('Progressing', 'Waiting for CronJob')
  if (!st.lastScheduleTime) return h('Healthy', 'CronJob has not been scheduled yet')
  if (!st.lastSuccessfulTime) return h('Healthy', 'The Cronjob never completed succesfully. It may not be healthy')
  if (Array.isArray(st.active) && st.active.length > 0) return h('Healthy', 'The job is running. Its last execution may not have been successful')
  if (st.lastSuccessfulTime < st.lastScheduleTime) return h('Degraded', 'CronJob has not completed its last execution successfully')
  return h('Healthy', 'CronJob has completed its last execution successfully')
}

/** gitops-engine's APIService check: its Available condition, else waiting. */
function apiService(o: KObject): HealthStatus {
  const available = (o.status?.conditions ?? []).find((c: any) => c?.type === 'Available')
  if (!available) return h('Progressing', 'Waiting to be processed')
  return h(available.status === 'True' ? 'Healthy' : 'Progressing', `${available.reason ?? ''}: ${available.message ?? ''}`)
}

const CHECKS: Record<string, (o: KObject) => HealthStatus> = {
  'apiregistration.k8s.io/APIService': apiService,
  'apps/Deployment': deployment,
  'apps/StatefulSet': statefulSet,
  'apps/DaemonSet': daemonSet,
  'apps/ReplicaSet': replicaSet,
  '/Service': service,
  '/PersistentVolumeClaim': pvc,
  '/Pod': pod,
  'networking.k8s.io/Ingress': ingress,
  'batch/Job': job,
  'autoscaling/HorizontalPodAutoscaler': hpa,
  'batch/CronJob': cronJob,
  'external-secrets.io/ExternalSecret': externalSecret,
  'external-secrets.io/ClusterSecretStore': readyCondition('Waiting for ClusterSecretStore'),
  'external-secrets.io/SecretStore': readyCondition('Waiting for SecretStore'),
  'cert-manager.io/Certificate': certificate,
  'cert-manager.io/Issuer': readyCondition('Initializing issuer'),
  'cert-manager.io/ClusterIssuer': readyCondition('Initializing ClusterIssuer'),
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '')

/** Whether Argo CD has a health check for this kind. */
export function hasHealthCheck(apiVersion: string, kind: string): boolean {
  return `${groupOf(apiVersion)}/${kind}` in CHECKS
}

/**
 * The health of one live resource; `undefined` when Argo CD does not assess it (no check for the
 * kind, or `argocd.argoproj.io/ignore-healthcheck: "true"`). A resource the app wants that is not
 * live is `Missing`.
 */
export function resourceHealth(live: KObject | undefined): HealthStatus | undefined {
  if (!live) return h('Missing')
  if (live.metadata.annotations?.[IGNORE_ANNOTATION] === 'true') return undefined
  if (live.metadata.deletionTimestamp) return h('Progressing', 'Pending deletion')
  const check = CHECKS[`${groupOf(live.apiVersion)}/${live.kind}`]
  return check ? check(live) : undefined
}

/** An app's health: the worst of its resources' (Healthy when none is assessed). */
export function worstHealth(healths: (HealthStatus | undefined)[]): HealthStatus {
  let worst: HealthStatus = { status: 'Healthy' }
  for (const one of healths) if (one && isWorse(worst.status, one.status)) worst = one
  return worst
}
