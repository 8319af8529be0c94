// The kinds the sandbox's API server serves, seen through client-node: discovery of every built-in
// kind a homelab repo uses (group, version, scope, short names, verbs), and objects of built-in kinds
// and of model-backed custom kinds refused the way a real API server refuses them.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  StorageV1Api,
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1APIResourceList,
} from '@kubernetes/client-node'
import { startSandbox, type Sandbox } from '../sandbox/index.ts'
import { installedCrd } from '../sandbox/actors/crds.ts'
import { hasModel, modelModule } from '../sandbox/apiserver/model-schema.ts'
import { builtinTypes } from '../sandbox/apiserver/kinds.ts'
import { createRequire } from 'node:module'

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
import { sandboxRequest } from './helpers.ts'

async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: any }> {
  try {
    await call
  } catch (e: any) {
    return typeof e.body === 'string' ? JSON.parse(e.body) : e.body
  }
  assert.fail('the call was expected to fail')
}

describe('sandbox kinds', () => {
  let sb: Sandbox
  let kc: KubeConfig
  let objects: KubernetesObjectApi
  before(async () => {
    sb = await startSandbox({ repoDir: '/nonexistent', actors: false })
    kc = new KubeConfig()
    kc.loadFromFile(sb.kubeconfigPath)
    objects = KubernetesObjectApi.makeApiClient(kc)
  })
  after(async () => sb?.stop())

  it('discovery lists every built-in kind a homelab uses, as k3s v1.33 does', async () => {
    const lists: Record<string, V1APIResourceList> = {
      v1: await kc.makeApiClient(CoreV1Api).getAPIResources(),
      'apps/v1': await kc.makeApiClient(AppsV1Api).getAPIResources(),
      'batch/v1': await kc.makeApiClient(BatchV1Api).getAPIResources(),
      'rbac.authorization.k8s.io/v1': await kc.makeApiClient(RbacAuthorizationV1Api).getAPIResources(),
      'networking.k8s.io/v1': await kc.makeApiClient(NetworkingV1Api).getAPIResources(),
      'storage.k8s.io/v1': await kc.makeApiClient(StorageV1Api).getAPIResources(),
      'policy/v1': await kc.makeApiClient(PolicyV1Api).getAPIResources(),
      'autoscaling/v2': await kc.makeApiClient(AutoscalingV2Api).getAPIResources(),
      'apiextensions.k8s.io/v1': await kc.makeApiClient(ApiextensionsV1Api).getAPIResources(),
    }
    // [groupVersion, plural, kind, namespaced, shortNames]
    const expected: [string, string, string, boolean, string[]][] = [
      ['v1', 'namespaces', 'Namespace', false, ['ns']],
      ['v1', 'pods', 'Pod', true, ['po']],
      ['v1', 'services', 'Service', true, ['svc']],
      ['v1', 'configmaps', 'ConfigMap', true, ['cm']],
      ['v1', 'secrets', 'Secret', true, []],
      ['v1', 'serviceaccounts', 'ServiceAccount', true, ['sa']],
      ['v1', 'persistentvolumes', 'PersistentVolume', false, ['pv']],
      ['v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, ['pvc']],
      ['v1', 'endpoints', 'Endpoints', true, ['ep']],
      ['v1', 'events', 'Event', true, ['ev']],
      ['v1', 'replicationcontrollers', 'ReplicationController', true, ['rc']],
      ['apps/v1', 'deployments', 'Deployment', true, ['deploy']],
      ['apps/v1', 'statefulsets', 'StatefulSet', true, ['sts']],
      ['apps/v1', 'daemonsets', 'DaemonSet', true, ['ds']],
      ['apps/v1', 'replicasets', 'ReplicaSet', true, ['rs']],
      ['batch/v1', 'jobs', 'Job', true, []],
      ['batch/v1', 'cronjobs', 'CronJob', true, ['cj']],
      ['rbac.authorization.k8s.io/v1', 'roles', 'Role', true, []],
      ['rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', true, []],
      ['rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', false, []],
      ['rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', false, []],
      ['networking.k8s.io/v1', 'ingresses', 'Ingress', true, ['ing']],
      ['networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', true, ['netpol']],
      ['storage.k8s.io/v1', 'storageclasses', 'StorageClass', false, ['sc']],
      ['policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb']],
      ['autoscaling/v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa']],
      ['apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, ['crd', 'crds']],
    ]
    for (const [gv, plural, kind, namespaced, shortNames] of expected) {
      const r = lists[gv]!.resources.find((x) => x.name === plural)
      assert.ok(r, `${gv} ${plural} is served`)
      assert.equal(r.kind, kind)
      assert.equal(r.namespaced, namespaced, `${plural} scope`)
      assert.deepEqual(r.shortNames ?? [], shortNames, `${plural} short names`)
      for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) assert.ok(r.verbs.includes(verb), `${plural} allows ${verb}`)
    }
    assert.ok(!lists.v1.resources.find((x) => x.name === 'namespaces')!.verbs.includes('deletecollection'), 'namespaces cannot be deleted as a collection')
    assert.ok(lists.v1.resources.some((x) => x.name === 'persistentvolumeclaims/status'), 'pvc status subresource')
    assert.deepEqual(lists['apps/v1'].resources.find((x) => x.name === 'statefulsets')!.categories, ['all'])
    // the kinds Kubernetes puts in `all` (what `kubectl get all` lists), and no others
    const inAll = Object.values(lists).flatMap((l) => l.resources.filter((r) => r.categories?.includes('all')).map((r) => r.name))
    assert.deepEqual(inAll.sort(), ['cronjobs', 'daemonsets', 'deployments', 'horizontalpodautoscalers', 'jobs', 'pods', 'replicasets', 'replicationcontrollers', 'services', 'statefulsets'])
    // the scale subresources, whose kind kubectl scale reads from discovery
    const scales = Object.values(lists).flatMap((l) => l.resources.filter((r) => r.name.endsWith('/scale')))
    assert.deepEqual(scales.map((r) => r.name).sort(), ['deployments/scale', 'replicasets/scale', 'replicationcontrollers/scale', 'statefulsets/scale'])
    for (const r of scales) assert.deepEqual([r.group, r.version, r.kind, r.verbs], ['autoscaling', 'v1', 'Scale', ['get', 'patch', 'update']])
  })

  it('serves every built-in kind of Kubernetes 1.33 the model packages ship, in GA versions only, each with its upstream schema', async () => {
    // [apiVersion, plural, kind, namespaced, shortNames, verbs] as `kubectl api-resources -o wide` shows them on k3s v1.33
    const expected: [string, string, string, boolean, string[], string[]][] = [
      ['v1', 'resourcequotas', 'ResourceQuota', true, ['quota'], ALL_VERBS],
      ['v1', 'limitranges', 'LimitRange', true, ['limits'], ALL_VERBS],
      ['v1', 'nodes', 'Node', false, ['no'], ALL_VERBS],
      ['v1', 'podtemplates', 'PodTemplate', true, [], ALL_VERBS],
      ['v1', 'bindings', 'Binding', true, [], ['create']],
      ['v1', 'componentstatuses', 'ComponentStatus', false, ['cs'], ['get', 'list']],
      ['scheduling.k8s.io/v1', 'priorityclasses', 'PriorityClass', false, ['pc'], ALL_VERBS],
      ['coordination.k8s.io/v1', 'leases', 'Lease', true, [], ALL_VERBS],
      ['node.k8s.io/v1', 'runtimeclasses', 'RuntimeClass', false, [], ALL_VERBS],
      ['discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', true, [], ALL_VERBS],
      ['events.k8s.io/v1', 'events', 'Event', true, ['ev'], ALL_VERBS],
      ['networking.k8s.io/v1', 'ingressclasses', 'IngressClass', false, [], ALL_VERBS],
      ['networking.k8s.io/v1', 'servicecidrs', 'ServiceCIDR', false, [], ALL_VERBS],
      ['storage.k8s.io/v1', 'csidrivers', 'CSIDriver', false, [], ALL_VERBS],
      ['storage.k8s.io/v1', 'csistoragecapacities', 'CSIStorageCapacity', true, [], ALL_VERBS],
      ['storage.k8s.io/v1', 'volumeattachments', 'VolumeAttachment', false, [], ALL_VERBS],
      ['apps/v1', 'controllerrevisions', 'ControllerRevision', true, [], ALL_VERBS],
      ['admissionregistration.k8s.io/v1', 'validatingadmissionpolicies', 'ValidatingAdmissionPolicy', false, [], ALL_VERBS],
      ['admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false, [], ALL_VERBS],
      ['certificates.k8s.io/v1', 'certificatesigningrequests', 'CertificateSigningRequest', false, ['csr'], ALL_VERBS],
      ['flowcontrol.apiserver.k8s.io/v1', 'flowschemas', 'FlowSchema', false, [], ALL_VERBS],
      ['flowcontrol.apiserver.k8s.io/v1', 'prioritylevelconfigurations', 'PriorityLevelConfiguration', false, [], ALL_VERBS],
      ['apiregistration.k8s.io/v1', 'apiservices', 'APIService', false, [], ALL_VERBS],
      ['authorization.k8s.io/v1', 'subjectaccessreviews', 'SubjectAccessReview', false, [], ['create']],
      ['authorization.k8s.io/v1', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', true, [], ['create']],
      ['authentication.k8s.io/v1', 'tokenreviews', 'TokenReview', false, [], ['create']],
    ]
    const lists = new Map<string, V1APIResourceList>()
    for (const [apiVersion, plural, kind, namespaced, shortNames, verbs] of expected) {
      if (!lists.has(apiVersion)) lists.set(apiVersion, JSON.parse((await sandboxRequest(sb, apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`, { admin: true })).body))
      const r = lists.get(apiVersion)!.resources.find((x) => x.name === plural)
      assert.ok(r, `${apiVersion} ${plural} is served`)
      assert.deepEqual([r.kind, r.namespaced, r.shortNames ?? [], [...r.verbs].sort()], [kind, namespaced, shortNames, [...verbs].sort()], `${apiVersion} ${plural}`)
    }
    assert.ok(lists.get('v1')!.resources.some((r) => r.name === 'resourcequotas/status'), 'the status subresource where the OpenAPI paths have one')
    // Every group-version Kubernetes 1.33 serves by default; no beta (off by default since 1.24, or removed).
    const groups = JSON.parse((await sandboxRequest(sb, '/apis', { admin: true })).body).groups as { name: string; versions: { version: string }[]; preferredVersion: { version: string } }[]
    for (const g of ['admissionregistration.k8s.io', 'apiregistration.k8s.io', 'apps', 'authentication.k8s.io', 'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'flowcontrol.apiserver.k8s.io', 'networking.k8s.io', 'node.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io'])
      assert.ok(groups.some((x) => x.name === g), `group ${g}`)
    assert.deepEqual(groups.flatMap((g) => g.versions.map((v) => v.version)).filter((v) => !/^v\d+$/.test(v)), [])
    assert.equal(groups.find((g) => g.name === 'autoscaling')!.preferredVersion.version, 'v2')
    // Each from the model packages: every built-in type has the upstream schema the sandbox validates with.
    const types = builtinTypes()
    assert.ok(types.length >= 55, `${types.length} built-in kinds`)
    const resolve = createRequire(import.meta.url).resolve
    for (const t of types) assert.doesNotThrow(() => resolve(modelModule(t)!), `${t.kind} has a model`)
    await objects.create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'homelab-important' }, value: 100000 } as any)
    await objects.create({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'defaults', namespace: 'default' }, spec: { limits: [{ type: 'Container', default: { memory: '256Mi' } }] } } as any)
    const quota = await statusOf(objects.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default' }, spec: { hard: 'lots' } } as any))
    assert.deepEqual([quota.code, quota.reason], [400, 'BadRequest'], 'the ResourceQuota schema refuses a string for spec.hard')
    assert.equal(sb.store.get({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', name: 'homelab-important' })?.value, 100000)
  })

  it('an unknown kind answers as a real API server does: 404 from discovery and from the resource path', async () => {
    for (const path of ['/apis/widgets.example.com', '/apis/widgets.example.com/v1', '/apis/policy/v1beta1', '/api/v1/namespaces/default/widgets', '/apis/apps/v1/widgets', '/apis/widgets.example.com/v1/namespaces/default/widgets/w']) {
      const reply = await sandboxRequest(sb, path, { admin: true })
      const status = JSON.parse(reply.body)
      assert.deepEqual([reply.status, status.kind, status.reason, status.message], [404, 'Status', 'NotFound', 'the server could not find the requested resource'], path)
    }
    // client-node's object API finds kinds through discovery: a kind the group-version lacks is not served
    await assert.rejects(objects.create({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' } } as any), /Unrecognized API version and kind: v1 Widget/)
    const missing: any = await objects.create({ apiVersion: 'widgets.example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' } } as any).then(() => assert.fail('created'), (e) => e)
    assert.equal(missing.code, 404)
  })

  it('a CRD installed for a rendered ESO or Argo CD kind carries the upstream short names and categories, and discovery lists them', async () => {
    const { crd } = installedCrd('external-secrets.io', 'SecretStore', ['v1'], () => false)
    assert.deepEqual([crd.spec.names.shortNames, crd.spec.names.categories], [['ss'], ['external-secrets']])
    sb.store.create(crd, 'kubectl-client-side-apply')
    sb.store.create(installedCrd('argoproj.io', 'ApplicationSet', ['v1alpha1'], () => false).crd, 'kubectl-client-side-apply')
    const eso = await kc.makeApiClient(CustomObjectsApi).getAPIResources({ group: 'external-secrets.io', version: 'v1' })
    const ss = eso.resources.find((r) => r.name === 'secretstores')
    assert.deepEqual([ss?.shortNames, ss?.categories], [['ss'], ['external-secrets']])
    const argo = await kc.makeApiClient(CustomObjectsApi).getAPIResources({ group: 'argoproj.io', version: 'v1alpha1' })
    const appsets = argo.resources.find((r) => r.name === 'applicationsets')
    assert.deepEqual([appsets?.shortNames, appsets?.categories ?? []], [['appset', 'appsets'], []])
    const { crd: other } = installedCrd('helm.cattle.io', 'HelmChart', ['v1'], () => false)
    assert.equal(other.spec.names.shortNames, undefined, 'kinds without upstream short names get none')
  })

  it('serves the scale subresource of a CRD that declares one, at its specReplicasPath', async () => {
    sb.store.create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'rollouts.argoproj.io' },
      spec: {
        group: 'argoproj.io',
        names: { kind: 'Rollout', plural: 'rollouts', singular: 'rollout', listKind: 'RolloutList' },
        scope: 'Namespaced',
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }, subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.HPAReplicas', labelSelectorPath: '.status.selector' } } }],
      },
    })
    const custom = kc.makeApiClient(CustomObjectsApi)
    const where = { group: 'argoproj.io', version: 'v1alpha1', namespace: 'default', plural: 'rollouts', name: 'web' }
    await custom.createNamespacedCustomObject({ ...where, body: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3 } } })
    const argo = await custom.getAPIResources({ group: 'argoproj.io', version: 'v1alpha1' })
    assert.deepEqual(argo.resources.find((r) => r.name === 'rollouts/scale')?.kind, 'Scale')
    const scale: any = await custom.getNamespacedCustomObjectScale(where)
    assert.deepEqual([scale.kind, scale.spec, scale.status], ['Scale', { replicas: 3 }, { replicas: 0, selector: '' }])
    await custom.patchNamespacedCustomObjectScale({ ...where, body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const web = sb.store.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', namespace: 'default', name: 'web' })!
    assert.equal(web.spec.replicas, 1)
  })

  it('stores a StatefulSet, PVC, CronJob and PodDisruptionBudget an app renders', async () => {
    await objects.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } as any)
    await objects.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'db' } } } } as any)
    await objects.create({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup', namespace: 'default' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } } } } as any)
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPersistentVolumeClaim({ namespace: 'default' })
    assert.deepEqual(list.items.map((p) => p.metadata?.name), ['data'])
  })

  it('refuses a Deployment its OpenAPI schema refuses: 422 Invalid with one cause per field', async () => {
    const st = await statusOf(objects.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad', namespace: 'default' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ image: 'nginx' }] } } } } as any))
    assert.equal(st.code, 422)
    assert.equal(st.reason, 'Invalid')
    assert.equal(st.message, 'Deployment.apps "bad" is invalid: spec.template.spec.containers[0].name: Required value')
    assert.deepEqual(st.details.causes, [{ reason: 'FieldValueRequired', field: 'spec.template.spec.containers[0].name', message: 'Required value' }])
    const missingSpec = await statusOf(objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'default' }, subjects: [] } as any))
    assert.equal(missingSpec.code, 422)
    assert.match(missingSpec.message, /RoleBinding\.rbac\.authorization\.k8s\.io "rb" is invalid: roleRef: Required value/)
  })

  it('refuses a value of the wrong JSON type with 400, as the decoder does', async () => {
    const st = await statusOf(objects.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'typed', namespace: 'default' }, spec: { replicas: 'two', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } } as any))
    assert.equal(st.code, 400)
    assert.equal(st.reason, 'BadRequest')
    assert.match(st.message, /cannot unmarshal string into Go struct field spec\.replicas of type int64/)
  })

  it('fieldValidation: Strict refuses an unknown field of a built-in kind, Warn (the default) and Ignore drop it', async () => {
    const admin = { admin: true } as const
    const path = '/api/v1/namespaces/default/configmaps'
    const cm = (name: string, extra: Record<string, unknown>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labelz: { a: 'b' } }, data: { k: 'v' }, ...extra })
    const strict = await sandboxRequest(sb, `${path}?fieldValidation=Strict`, admin, { method: 'POST', body: cm('strict', { spec: {} }) })
    assert.equal(strict.status, 400)
    assert.equal(JSON.parse(strict.body).message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "metadata.labelz", unknown field "spec"')
    // no fieldValidation: Warn, as a real server defaults to
    const warned = await sandboxRequest(sb, path, admin, { method: 'POST', body: cm('warned', { spec: {} }) })
    assert.equal(warned.status, 201)
    assert.deepEqual(warned.warnings, ['299 - "unknown field \\"metadata.labelz\\""', '299 - "unknown field \\"spec\\""'])
    const stored = sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'warned' })!
    assert.deepEqual([stored.spec, stored.metadata.labelz, stored.data], [undefined, undefined, { k: 'v' }])
    const ignored = await sandboxRequest(sb, `${path}?fieldValidation=Ignore`, admin, { method: 'POST', body: cm('ignored', { spec: {} }) })
    assert.deepEqual([ignored.status, ignored.warnings], [201, []])
    // PUT decodes like a create; a merge patch is refused on `patch`, showing the patched object
    const put = await sandboxRequest(sb, `${path}/warned?fieldValidation=Strict`, admin, { method: 'PUT', body: cm('warned', { extra: 1 }) })
    assert.equal(put.status, 400)
    assert.match(JSON.parse(put.body).message, /strict decoding error: unknown field "metadata.labelz", unknown field "extra"$/)
    const merge = await sandboxRequest(sb, `${path}/warned?fieldValidation=Strict`, admin, { method: 'PATCH', contentType: 'application/merge-patch+json', body: '{"datta":{"x":"y"}}' })
    const refused = JSON.parse(merge.body)
    assert.deepEqual([merge.status, refused.reason, refused.details.causes[0].field], [422, 'Invalid', 'patch'])
    assert.match(refused.message, /^ "" is invalid: patch: Invalid value: "\{\\"apiVersion\\":\\"v1\\",\\"data\\":\{\\"k\\":\\"v\\"\},\\"datta\\":.*": strict decoding error: unknown field "datta"$/)
    // a server-side apply refuses it whatever the directive: a 500 with no reason
    const applied = await sandboxRequest(sb, `${path}/warned?fieldManager=test&fieldValidation=Ignore`, admin, { method: 'PATCH', contentType: 'application/apply-patch+yaml', body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warned\nspec: {}\n' })
    const failed = JSON.parse(applied.body)
    assert.deepEqual([applied.status, failed.reason, failed.message], [500, undefined, 'failed to create typed patch object (default/warned; /v1, Kind=ConfigMap): .spec: field not declared in schema'])
    // a field only the sandbox's own writes could store is not the client's typo
    sb.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'odd', namespace: 'default' }, spec: { x: 1 } })
    const odd = await sandboxRequest(sb, `${path}/odd?fieldValidation=Strict`, admin, { method: 'PATCH', contentType: 'application/merge-patch+json', body: '{"data":{"b":"2"}}' })
    assert.deepEqual([odd.status, odd.warnings], [200, []])
    // an unknown directive is refused
    const bogus = await sandboxRequest(sb, `${path}?fieldValidation=strict`, admin, { method: 'POST', body: cm('bogus', {}) })
    assert.equal(bogus.status, 422)
    assert.equal(JSON.parse(bogus.body).message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"')
  })

  it('validates custom kinds of an installed CRD against the real schema its package ships', async () => {
    const { crd, schemaFrom } = installedCrd('gateway.networking.k8s.io', 'ReferenceGrant', ['v1beta1'], (pkg, v) => hasModel(pkg, 'gateway.networking.k8s.io', v, 'ReferenceGrant'))
    assert.equal(schemaFrom, '@kubernetes-models/gateway-api')
    // Installed the way the seeder does (client-node would drop the x-kubernetes-* keys of a raw CRD body).
    sb.store.create(crd, 'kubectl-client-side-apply')
    // (client-node's KubernetesObjectApi only sends apiVersion/kind/metadata of kinds it has no model for)
    const custom = kc.makeApiClient(CustomObjectsApi)
    const grant = (spec: unknown) => custom.createNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1beta1', namespace: 'default', plural: 'referencegrants', body: { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'g', namespace: 'default' }, spec } })
    const st = await statusOf(grant({ from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'gateway' }] }))
    assert.equal(st.code, 422)
    assert.equal(st.message, 'ReferenceGrant.gateway.networking.k8s.io "g" is invalid: spec.to: Required value')
    const created: any = await grant({ from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'gateway' }], to: [{ group: '', kind: 'Service' }] })
    assert.deepEqual(created.spec.to, [{ group: '', kind: 'Service' }])
    const { crd: open, schemaFrom: none } = installedCrd('helm.cattle.io', 'HelmChartConfig', ['v1'], () => false)
    assert.equal(none, undefined, 'no package ships the k3s HelmChartConfig schema')
    sb.store.create(open, 'kubectl-client-side-apply')
    const config: any = await custom.createNamespacedCustomObject({ group: 'helm.cattle.io', version: 'v1', namespace: 'kube-system', plural: 'helmchartconfigs', body: { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { valuesContent: 'a: 1', anything: { goes: true } } } })
    assert.deepEqual(config.spec.anything, { goes: true }, 'a permissive schema keeps every field')
  })
})
