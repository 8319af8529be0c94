// Argo CD's health assessment as the sandbox plays it (facts from gitops-engine's checks and Argo
// CD's bundled Lua checks), and the controllers that make a running homelab's resources Healthy:
// StatefulSet/DaemonSet/Job/CronJob status, k3s' local-path binding and load balancer addresses.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Store, type KObject } from '../sandbox/store.ts'
import { hasHealthCheck, resourceHealth, worstHealth } from '../sandbox/actors/health.ts'
import { localPathStorageClass, NODE_IP, outOfBandStorageClass, reconcileK3s, storageClassesOutOfBand } from '../sandbox/actors/k3s.ts'
import { reconcileStatefulWorkloads } from '../sandbox/actors/stateful-workloads.ts'
import { runVaultCli, VaultState } from '../sandbox/actors/vault.ts'

const obj = (apiVersion: string, kind: string, rest: Record<string, unknown> = {}, generation = 1): KObject => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'default', generation }, ...rest })

describe('Argo CD health', () => {
  it('a Deployment is Progressing while it rolls and Healthy when done', () => {
    const spec = { replicas: 2 }
    assert.equal(resourceHealth(obj('apps/v1', 'Deployment', { spec, status: { observedGeneration: 1 } }, 2))!.status, 'Progressing', 'generation not observed yet')
    assert.deepEqual(resourceHealth(obj('apps/v1', 'Deployment', { spec, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 1 } })), { status: 'Progressing', message: 'Waiting for rollout to finish: 1 out of 2 new replicas have been updated...' })
    assert.equal(resourceHealth(obj('apps/v1', 'Deployment', { spec, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 } }))!.status, 'Progressing', 'old replica pending termination')
    assert.equal(resourceHealth(obj('apps/v1', 'Deployment', { spec, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('apps/v1', 'Deployment', { spec, status: { observedGeneration: 1, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }] } }))!.status, 'Degraded')
    assert.equal(resourceHealth(obj('apps/v1', 'Deployment', { spec: { paused: true } }))!.status, 'Suspended')
  })

  it('StatefulSets and DaemonSets by their rollout status', () => {
    assert.equal(resourceHealth(obj('apps/v1', 'StatefulSet', { spec: { replicas: 1 }, status: {} }))!.status, 'Progressing', 'observedGeneration 0')
    assert.equal(resourceHealth(obj('apps/v1', 'StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1, currentRevision: 'a', updateRevision: 'b' } }))!.status, 'Progressing', 'rolling update')
    assert.equal(resourceHealth(obj('apps/v1', 'StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1, currentRevision: 'a', updateRevision: 'a' } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('apps/v1', 'DaemonSet', { status: { observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 0 } }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('apps/v1', 'DaemonSet', { status: { observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1 } }))!.status, 'Healthy')
  })

  it('claims by phase, Services and Ingresses by their load balancer address, Pods by phase, Jobs by condition', () => {
    assert.equal(resourceHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Lost' } }))!.status, 'Degraded')
    assert.equal(resourceHealth(obj('v1', 'Service', { spec: { type: 'ClusterIP' } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('networking.k8s.io/v1', 'Ingress', { status: { loadBalancer: {} } }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('v1', 'Pod', { spec: {}, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('v1', 'Pod', { spec: {}, status: { phase: 'Running', containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }] } }))!.status, 'Degraded')
    assert.equal(resourceHealth(obj('v1', 'Pod', { spec: {}, status: { phase: 'Pending' } }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('batch/v1', 'Job', { status: {} }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('batch/v1', 'Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('batch/v1', 'Job', { status: { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } }))!.status, 'Degraded')
  })

  it("ESO's Ready condition, CronJob's schedule; kinds without a check (Application included) do not count", () => {
    assert.equal(resourceHealth(obj('external-secrets.io/v1', 'ExternalSecret', { spec: {}, status: {} }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('external-secrets.io/v1', 'ExternalSecret', { spec: {}, status: { conditions: [{ type: 'Ready', status: 'False', message: 'no key' }] } }))!.status, 'Degraded')
    assert.equal(resourceHealth(obj('external-secrets.io/v1', 'ClusterSecretStore', { spec: {} }))!.status, 'Progressing')
    assert.equal(resourceHealth(obj('batch/v1', 'CronJob', { spec: {} }))!.status, 'Progressing', 'no status yet')
    assert.equal(resourceHealth(obj('batch/v1', 'CronJob', { spec: {}, status: {} }))!.status, 'Healthy')
    assert.equal(resourceHealth(obj('batch/v1', 'CronJob', { spec: { suspend: true }, status: {} }))!.status, 'Suspended')
    for (const [av, kind] of [['argoproj.io/v1alpha1', 'Application'], ['v1', 'ConfigMap'], ['gateway.networking.k8s.io/v1', 'HTTPRoute'], ['helm.cattle.io/v1', 'HelmChartConfig']]) {
      assert.equal(hasHealthCheck(av!, kind!), false, `${kind} has no check`)
      assert.equal(resourceHealth(obj(av!, kind!, { status: { health: { status: 'Degraded' } } })), undefined)
    }
    assert.equal(resourceHealth(undefined)!.status, 'Missing')
    assert.equal(resourceHealth({ ...obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Lost' } }), metadata: { name: 'x', annotations: { 'argocd.argoproj.io/ignore-healthcheck': 'true' } } }), undefined)
    assert.equal(worstHealth([{ status: 'Healthy' }, undefined, { status: 'Missing' }, { status: 'Progressing' }]).status, 'Missing')
    assert.equal(worstHealth([undefined]).status, 'Healthy')
  })
})

describe('controllers behind a healthy homelab', () => {
  it("k3s' local-path provisioner binds claims of a known (or the default) class to new volumes once a Pod mounts them; an unknown class stays Pending", () => {
    const store = new Store()
    store.create(localPathStorageClass(), 'k3s')
    store.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'named', namespace: 'default' }, spec: { storageClassName: 'local-path', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } }, 'test')
    store.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'defaulted', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }, 'test')
    store.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'nfs', namespace: 'default' }, spec: { storageClassName: 'nfs-client', accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } }, 'test')
    const claim = (name: string) => store.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'default', name })!
    // WaitForFirstConsumer: no Pod mounts them yet, so they wait (Argo CD shows them Progressing)
    assert.equal(reconcileK3s(store), true)
    for (const name of ['named', 'defaulted', 'nfs']) assert.equal(claim(name).status?.phase, 'Pending', name)
    assert.equal(store.list('v1', 'PersistentVolume').length, 0)
    const volumes = ['named', 'defaulted', 'nfs'].map((claimName) => ({ name: claimName, persistentVolumeClaim: { claimName } }))
    store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'user', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }], volumes } }, 'test')
    assert.equal(reconcileK3s(store), true)
    assert.equal(reconcileK3s(store), false, 'a second pass changes nothing')
    for (const name of ['named', 'defaulted']) {
      const pvc = claim(name)
      assert.equal(pvc.status?.phase, 'Bound', name)
      assert.equal(pvc.spec.storageClassName, 'local-path')
      const pv = store.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: pvc.spec.volumeName })!
      assert.equal(pv.status?.phase, 'Bound')
      assert.equal(pv.spec.claimRef.name, name)
      assert.equal(pv.spec.capacity.storage, pvc.spec.resources.requests.storage)
      assert.equal(resourceHealth(pvc)!.status, 'Healthy')
    }
    assert.equal(claim('nfs').status?.phase, 'Pending')
    assert.equal(resourceHealth(claim('nfs'))!.status, 'Progressing')
  })

  it('a storage class the claims name and nothing defines is taken as installed by hand: its claims bind at once (Immediate); local-path keeps its rules', () => {
    const pvc = (name: string, storageClassName?: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default' }, spec: { ...(storageClassName ? { storageClassName } : {}), accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } } })
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' }, spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'longhorn' } }] } }
    const definedByRepo = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'x' }
    assert.deepEqual(storageClassesOutOfBand([pvc('a', 'nfs-client'), pvc('b', 'local-path'), pvc('c'), pvc('d', 'fast'), definedByRepo, sts]), ['longhorn', 'nfs-client'])
    const store = new Store()
    store.create(localPathStorageClass(), 'k3s')
    store.create(outOfBandStorageClass('nfs-client'), 'k3s')
    store.create(pvc('shared', 'nfs-client'), 'test')
    store.create(pvc('local', 'local-path'), 'test')
    reconcileK3s(store)
    const claim = (name: string) => store.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'default', name })!
    assert.equal(claim('shared').status?.phase, 'Bound', 'no Pod mounts it, and it binds')
    assert.equal(store.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: claim('shared').spec.volumeName })?.spec.storageClassName, 'nfs-client')
    assert.equal(claim('local').status?.phase, 'Pending', 'local-path still waits for its first consumer')
  })

  it("the aggregator marks APIServices Available (local ones at once, a service's while it exists), and Argo CD's check reads it", () => {
    const store = new Store()
    const api = (name: string, service?: { namespace: string; name: string }) => ({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name }, spec: { group: name.split('.').slice(1).join('.'), version: 'v1beta1', groupPriorityMinimum: 100, versionPriority: 100, ...(service ? { service } : {}) } })
    store.create(api('v1beta1.local.example.com'), 'test')
    store.create(api('v1beta1.metrics.k8s.io', { namespace: 'kube-system', name: 'metrics-server' }), 'test')
    const get = (name: string) => store.get({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name })
    assert.deepEqual(resourceHealth(get('v1beta1.local.example.com')), { status: 'Progressing', message: 'Waiting to be processed' }, 'no check ran yet')
    assert.equal(reconcileK3s(store), true)
    assert.equal(resourceHealth(get('v1beta1.local.example.com'))!.status, 'Healthy')
    assert.deepEqual(resourceHealth(get('v1beta1.metrics.k8s.io')), { status: 'Progressing', message: 'ServiceNotFound: service/metrics-server in "kube-system" is not present' })
    store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'metrics-server', namespace: 'kube-system' }, spec: { ports: [{ port: 443 }] } }, 'test')
    reconcileK3s(store)
    assert.equal(resourceHealth(get('v1beta1.metrics.k8s.io'))!.status, 'Healthy')
    assert.equal(reconcileK3s(store), false, 'a second pass changes nothing')
    // no check for a kind Argo CD does not assess
    assert.equal(resourceHealth({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default' } } as any), undefined)
  })

  it('servicelb and Traefik give LoadBalancer Services and Ingresses the node address', () => {
    const store = new Store()
    store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } }, 'test')
    store.create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' }, spec: { rules: [{ host: 'a.example' }] } }, 'test')
    reconcileK3s(store)
    const svc = store.get({ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'lb' })!
    assert.equal(svc.status.loadBalancer.ingress[0].ip, NODE_IP)
    assert.equal(resourceHealth(svc)!.status, 'Healthy')
    assert.equal(resourceHealth(store.get({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'default', name: 'web' }))!.status, 'Healthy')
  })

  it('StatefulSets get ordinal pods and their claims, roll on a template change; DaemonSets, Jobs, CronJobs and HPAs report done', () => {
    const store = new Store()
    const template = (image: string) => ({ metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } })
    store.create({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('postgres:16.3'), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } }, 'test')
    store.create({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'exporter', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'e' } }, template: { metadata: { labels: { app: 'e' } }, spec: { containers: [{ name: 'e', image: 'node-exporter' }] } } } }, 'test')
    store.create({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: 'default' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } }, 'test')
    store.create({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'default' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } } } }, 'test')
    store.create({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default' }, spec: { minReplicas: 1, maxReplicas: 3, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } }, 'test')
    const get = (apiVersion: string, kind: string, name: string) => store.get({ apiVersion, kind, namespace: 'default', name })!
    for (const [av, kind, name] of [['apps/v1', 'StatefulSet', 'db'], ['apps/v1', 'DaemonSet', 'exporter'], ['batch/v1', 'Job', 'once'], ['batch/v1', 'CronJob', 'nightly'], ['autoscaling/v2', 'HorizontalPodAutoscaler', 'web']]) assert.notEqual(resourceHealth(get(av!, kind!, name!))!.status, 'Healthy', `${kind} not Healthy before its controller ran`)
    reconcileStatefulWorkloads(store)
    assert.equal(reconcileStatefulWorkloads(store), false, 'a second pass changes nothing')
    for (const [av, kind, name] of [['apps/v1', 'StatefulSet', 'db'], ['apps/v1', 'DaemonSet', 'exporter'], ['batch/v1', 'Job', 'once'], ['batch/v1', 'CronJob', 'nightly'], ['autoscaling/v2', 'HorizontalPodAutoscaler', 'web']]) assert.equal(resourceHealth(get(av!, kind!, name!))!.status, 'Healthy', kind)
    const pods = () => store.list('v1', 'Pod', 'default').map((p) => p.metadata.name).filter((n) => n.startsWith('db-')).sort()
    assert.deepEqual(pods(), ['db-0', 'db-1'])
    assert.deepEqual(store.list('v1', 'PersistentVolumeClaim', 'default').map((p) => p.metadata.name).sort(), ['data-db-0', 'data-db-1'])
    const sts = get('apps/v1', 'StatefulSet', 'db')
    store.update({ ...sts, metadata: { ...sts.metadata, resourceVersion: undefined }, spec: { ...sts.spec, template: template('postgres:16.4') } }, 'test')
    assert.equal(resourceHealth(get('apps/v1', 'StatefulSet', 'db'))!.status, 'Progressing', 'new generation not observed yet')
    reconcileStatefulWorkloads(store)
    assert.equal(resourceHealth(get('apps/v1', 'StatefulSet', 'db'))!.status, 'Healthy')
    const dbPods = store.list('v1', 'Pod', 'default').filter((p) => p.metadata.name.startsWith('db-'))
    assert.ok(dbPods.length > 0, 'the StatefulSet has pods')
    assert.ok(dbPods.every((p) => p.spec.containers[0].image === 'postgres:16.4'), 'pods rolled to the new template')
  })
})

describe("Vault's kv delete, metadata delete and list", () => {
  const vault = new VaultState()
  const run = (...args: string[]) => runVaultCli(vault, ['vault', 'kv', ...args], Buffer.alloc(0))
  it('lists keys and folders, deletes softly and for good, with the CLI output and exit codes', () => {
    assert.equal(run('put', 'secret/homelab/a', 'x=1').exitCode, 0)
    assert.equal(run('put', 'secret/homelab/sub/b', 'y=2').exitCode, 0)
    assert.deepEqual(run('list', 'secret/homelab'), { stdout: 'Keys\n----\na\nsub/\n', stderr: '', exitCode: 0 })
    assert.deepEqual(JSON.parse(run('list', '-format=json', 'secret').stdout), ['homelab/'])
    assert.deepEqual(run('list', 'secret/nothing'), { stdout: '', stderr: 'No value found at secret/metadata/nothing/\n', exitCode: 2 })
    assert.deepEqual(run('delete', 'secret/homelab/a'), { stdout: 'Success! Data deleted (if it existed) at: secret/data/homelab/a\n', stderr: '', exitCode: 0 })
    assert.equal(run('get', '-field=x', 'secret/homelab/a').exitCode, 2, 'a deleted version is not read')
    assert.match(run('list', 'secret/homelab').stdout, /^a$/m, 'its metadata is still listed')
    assert.equal(run('metadata', 'delete', '-mount=secret', 'homelab/a').stdout, 'Success! Data deleted (if it existed) at: secret/metadata/homelab/a\n')
    assert.doesNotMatch(run('list', 'secret/homelab').stdout, /^a$/m)
    assert.equal(run('delete').exitCode, 1, 'usage error')
    vault.podToken = undefined
    assert.equal(run('delete', 'secret/homelab/sub/b').exitCode, 2, 'logged out: permission denied')
  })
})
