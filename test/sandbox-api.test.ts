// The sandbox's API server, exercised through the real @kubernetes/client-node (no actors).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import {
  ApiextensionsV1Api,
  ApisApi,
  CoreApi,
  CoreV1Api,
  CustomObjectsApi,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  Watch,
  setHeaderOptions,
  type KubernetesObject,
  type V1Status,
} from '@kubernetes/client-node'
import { WebSocket } from 'ws'
import { startSandbox, TOKEN_CONTEXT_NAME, type Sandbox } from '../sandbox/index.ts'
import { sandboxRequest } from './helpers.ts'

const NS = 'default'

/** The Status object a failed client-node call carried (its body may arrive as text or parsed). */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: any; kind: string }> {
  try {
    await call
  } catch (e: any) {
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body
    assert.equal(body.code, e.code, 'HTTP code and Status.code agree')
    return body
  }
  assert.fail('the call was expected to fail')
}

const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.dev' },
  spec: {
    group: 'example.dev',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['refs'],
                properties: {
                  refs: { type: 'array', minItems: 1, items: { type: 'object', required: ['namePattern'], properties: { namePattern: { type: 'string' }, useAnnotations: { type: 'boolean' } } } },
                  size: { type: 'integer' },
                  // client-node's typed models spell x-kubernetes-preserve-unknown-fields like this
                  extra: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                },
              },
              status: { type: 'object', properties: { matched: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
}

const widget = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'example.dev/v1alpha1', kind: 'Widget', metadata: { name, namespace: NS }, spec })

describe('sandbox API server through @kubernetes/client-node', () => {
  let sb: Sandbox
  let kc: KubeConfig
  let core: CoreV1Api
  let objects: KubernetesObjectApi

  before(async () => {
    // CPU time, not wall time: the start (a new CA and certificates included) is cheap however busy the machine is
    const cpu0 = process.cpuUsage()
    sb = await startSandbox({ repoDir: tmpdir(), actors: false })
    const cpu = process.cpuUsage(cpu0)
    assert.ok((cpu.user + cpu.system) / 1000 < 300, `started with ${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU`)
    kc = new KubeConfig()
    kc.loadFromFile(sb.kubeconfigPath)
    core = kc.makeApiClient(CoreV1Api)
    objects = KubernetesObjectApi.makeApiClient(kc)
  })
  after(async () => {
    const dir = dirname(sb.kubeconfigPath)
    await sb.stop()
    assert.equal(existsSync(dir), false, 'stop() removes its temp dir')
  })

  it('serves discovery and version', async () => {
    assert.equal(kc.getCurrentContext(), 'sandbox')
    const versions = await kc.makeApiClient(CoreApi).getAPIVersions()
    assert.deepEqual(versions.versions, ['v1'])
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions()
    const names = groups.groups.map((g) => g.name)
    assert.ok(names.includes('apps') && names.includes('apiextensions.k8s.io'))
    const resources = await core.getAPIResources()
    const pods = resources.resources.find((r) => r.name === 'pods')
    assert.equal(pods?.namespaced, true)
    assert.ok(pods?.verbs.includes('watch'))
    assert.ok(resources.resources.some((r) => r.name === 'pods/exec'))
    assert.equal(resources.resources.find((r) => r.name === 'namespaces')?.namespaced, false)
    const version = await kc.makeApiClient(VersionApi).getCode()
    assert.equal(version.major, '1')
  })

  it('creates, reads, replaces, lists and deletes a ConfigMap', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'crud' }, data: { a: '1' } } })
    assert.ok(created.metadata?.uid)
    assert.ok(created.metadata?.creationTimestamp instanceof Date)
    const rv1 = Number(created.metadata?.resourceVersion)
    const read = await core.readNamespacedConfigMap({ name: 'crud', namespace: NS })
    assert.deepEqual(read.data, { a: '1' })
    read.data = { a: '2' }
    const replaced = await core.replaceNamespacedConfigMap({ name: 'crud', namespace: NS, body: read })
    assert.ok(Number(replaced.metadata?.resourceVersion) > rv1)
    assert.equal(replaced.metadata?.uid, created.metadata?.uid)
    const listed = await core.listNamespacedConfigMap({ namespace: NS })
    assert.ok(listed.items.some((c) => c.metadata?.name === 'crud' && c.data?.a === '2'))
    await core.deleteNamespacedConfigMap({ name: 'crud', namespace: NS })
    const gone = await statusOf(core.readNamespacedConfigMap({ name: 'crud', namespace: NS }))
    assert.equal(gone.reason, 'NotFound')
  })

  it('filters lists by label and field selectors', async () => {
    for (const [name, labels] of [['sel-a', { app: 'web', tier: 'front' }], ['sel-b', { app: 'web', tier: 'db' }], ['sel-c', { app: 'other' }]] as const) {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { ...labels } } } })
    }
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedConfigMap({ namespace: NS, labelSelector, fieldSelector })).items.map((c) => c.metadata!.name).filter((n) => n!.startsWith('sel-')).sort()
    assert.deepEqual(await names('app=web'), ['sel-a', 'sel-b'])
    assert.deepEqual(await names('app=web,tier!=db'), ['sel-a'])
    assert.deepEqual(await names('tier'), ['sel-a', 'sel-b'])
    assert.deepEqual(await names('app in (other,none)'), ['sel-c'])
    assert.deepEqual(await names(undefined, 'metadata.name=sel-b'), ['sel-b'])
    const all = await core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.namespace=kube-system' })
    assert.equal(all.items.length, 0)
    // only the field labels the API server registers for the kind: a ConfigMap has none of its own
    const unsupported = await statusOf(core.listNamespacedConfigMap({ namespace: NS, fieldSelector: 'data.key=x' }))
    assert.equal(unsupported.code, 400)
    assert.equal(unsupported.message, 'Unable to find "/v1, Resource=configmaps" that match label selector "", field selector "data.key=x": field label not supported: data.key')
    // an Event's involvedObject and source (its component) are
    await core.createNamespacedEvent({ namespace: NS, body: { metadata: { name: 'sel-ev' }, involvedObject: { kind: 'ConfigMap', name: 'sel-a', namespace: NS }, reason: 'Tested', type: 'Warning', source: { component: 'sandbox-test' } } })
    const events = await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=sel-a,source=sandbox-test,type=Warning' })
    assert.deepEqual(events.items.map((e) => e.metadata!.name), ['sel-ev'])
  })

  it('answers with real Status errors: 404, 409 AlreadyExists, 409 Conflict, 404 for a missing namespace', async () => {
    const notFound = await statusOf(core.readNamespacedSecret({ name: 'nope', namespace: NS }))
    assert.equal(notFound.kind, 'Status')
    assert.equal(notFound.code, 404)
    assert.equal(notFound.details.name, 'nope')
    assert.equal(notFound.message, 'secrets "nope" not found')
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'dup' } } })
    const exists = await statusOf(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'dup' } } }))
    assert.equal(exists.code, 409)
    assert.equal(exists.reason, 'AlreadyExists')
    const stale = await core.readNamespacedConfigMap({ name: 'dup', namespace: NS })
    await core.replaceNamespacedConfigMap({ name: 'dup', namespace: NS, body: { ...stale, data: { x: '1' } } })
    const conflict = await statusOf(core.replaceNamespacedConfigMap({ name: 'dup', namespace: NS, body: { ...stale, data: { x: '2' } } }))
    assert.equal(conflict.code, 409)
    assert.equal(conflict.reason, 'Conflict')
    const noNs = await statusOf(core.createNamespacedConfigMap({ namespace: 'missing-ns', body: { metadata: { name: 'x' } } }))
    assert.equal(noNs.code, 404)
    assert.match(noNs.message, /namespaces "missing-ns" not found/)
  })

  it('serves a custom kind only while its CRD exists, validating and pruning against its schema', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi)
    const refused = await statusOf(custom.createNamespacedCustomObject({ group: 'example.dev', version: 'v1alpha1', namespace: NS, plural: 'widgets', body: widget('early', { refs: [{ namePattern: 'a' }] }) }))
    assert.equal(refused.code, 404)
    await assert.rejects(objects.create(widget('early', { refs: [{ namePattern: 'a' }] })), /Widget|example\.dev/)

    const crds = kc.makeApiClient(ApiextensionsV1Api)
    const crd = await crds.createCustomResourceDefinition({ body: widgetCrd as any })
    assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
    const groupVersion = await objects.list('example.dev/v1alpha1', 'Widget', NS)
    assert.equal(groupVersion.items.length, 0)

    const invalid = await statusOf(objects.create(widget('bad', { refs: [], size: 'big' })))
    assert.equal(invalid.code, 422)
    assert.equal(invalid.reason, 'Invalid')
    const fields = invalid.details.causes.map((c: { field: string }) => c.field).sort()
    assert.deepEqual(fields, ['spec.refs', 'spec.size'])
    const missing = await statusOf(objects.create(widget('bad', { refs: [{ useAnnotations: true }] })))
    assert.deepEqual(missing.details.causes, [{ field: 'spec.refs[0].namePattern', reason: 'FieldValueRequired', message: 'Required value' }])
    const noSpec = await statusOf(objects.create(widget('bad', {})))
    assert.equal(noSpec.details.causes[0].field, 'spec.refs')

    const made = (await objects.create(widget('good', { refs: [{ namePattern: 'x', junk: true }], unknown: 1, extra: { kept: { deep: 1 } } }))) as any
    assert.deepEqual(made.spec, { refs: [{ namePattern: 'x' }], extra: { kept: { deep: 1 } } }, 'unknown fields pruned, preserved subtree kept')
    assert.equal(made.metadata.generation, 1)

    await crds.deleteCustomResourceDefinition({ name: 'widgets.example.dev' })
    const after = await statusOf(custom.getNamespacedCustomObject({ group: 'example.dev', version: 'v1alpha1', namespace: NS, plural: 'widgets', name: 'good' }))
    assert.equal(after.code, 404)
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions()
    assert.ok(!groups.groups.some((g) => g.name === 'example.dev'), 'the group leaves discovery with its CRD')
  })

  it('keeps status behind the /status subresource, and bumps generation only for spec changes', async () => {
    const crds = kc.makeApiClient(ApiextensionsV1Api)
    await crds.createCustomResourceDefinition({ body: { ...widgetCrd, metadata: { name: 'widgets.example.dev' } } as any })
    const custom = kc.makeApiClient(CustomObjectsApi)
    const at = { group: 'example.dev', version: 'v1alpha1', namespace: NS, plural: 'widgets', name: 'stat' }
    await objects.create({ ...widget('stat', { refs: [{ namePattern: 'a' }] }), status: { matched: 9 } } as KubernetesObject)
    const created = (await custom.getNamespacedCustomObject(at)) as any
    assert.equal(created.status, undefined, 'status on create is ignored when status is a subresource')
    const withStatus = (await custom.patchNamespacedCustomObjectStatus({ ...at, body: { status: { matched: 2 }, spec: { size: 5 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as any
    assert.deepEqual(withStatus.status, { matched: 2 })
    assert.equal(withStatus.spec.size, undefined, 'a /status write changes nothing but status')
    assert.equal(withStatus.metadata.generation, 1)
    const specChange = (await custom.patchNamespacedCustomObject({ ...at, body: { spec: { size: 5 }, status: { matched: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as any
    assert.equal(specChange.spec.size, 5)
    assert.deepEqual(specChange.status, { matched: 2 }, 'a main-resource write keeps the status')
    assert.equal(specChange.metadata.generation, 2)
    await crds.deleteCustomResourceDefinition({ name: 'widgets.example.dev' })
  })

  it('deletes with finalizers in two steps, and a namespace with its contents', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } })
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['example.dev/hold'] } } })
    await core.deleteNamespacedConfigMap({ name: 'held', namespace: 'doomed' })
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace: 'doomed' })
    assert.ok(held.metadata?.deletionTimestamp, 'a finalizer keeps the object, marked for deletion')
    await core.patchNamespacedConfigMap({ name: 'held', namespace: 'doomed', body: [{ op: 'remove', path: '/metadata/finalizers' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))
    assert.equal((await statusOf(core.readNamespacedConfigMap({ name: 'held', namespace: 'doomed' }))).code, 404)
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 's' }, stringData: { k: 'v' } } })
    const secret = await core.readNamespacedSecret({ name: 's', namespace: 'doomed' })
    assert.deepEqual(secret.data, { k: Buffer.from('v').toString('base64') }, 'stringData is stored as base64 data')
    await core.deleteNamespace({ name: 'doomed' })
    assert.equal((await statusOf(core.readNamespacedSecret({ name: 's', namespace: 'doomed' }))).code, 404)
  })

  it('applies merge patches and JSON patches', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'patched', labels: { keep: 'me', drop: 'me' } }, data: { a: '1', b: '2' } } })
    const merged = await core.patchNamespacedConfigMap(
      { name: 'patched', namespace: NS, body: { metadata: { labels: { drop: null } }, data: { b: null, c: '3' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )
    assert.deepEqual(merged.metadata?.labels, { keep: 'me' })
    assert.deepEqual(merged.data, { a: '1', c: '3' })
    const jsonPatched = await core.patchNamespacedConfigMap(
      { name: 'patched', namespace: NS, body: [{ op: 'replace', path: '/data/a', value: 'one' }, { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } }, { op: 'remove', path: '/data/c' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )
    assert.deepEqual(jsonPatched.data, { a: 'one' })
    assert.deepEqual(jsonPatched.metadata?.annotations, { 'x/y': 'z' })
    const badTest = await statusOf(
      core.patchNamespacedConfigMap({ name: 'patched', namespace: NS, body: [{ op: 'test', path: '/data/a', value: 'nope' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
    )
    assert.equal(badTest.code, 422)
  })

  it('does server-side apply: create, no-op, update, conflict, force, and removal of dropped fields', async () => {
    const cm = (data: Record<string, string>, labels?: Record<string, string>): KubernetesObject & { data: Record<string, string> } => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: NS, ...(labels ? { labels } : {}) },
      data,
    })
    const apply = (obj: KubernetesObject, manager: string, force?: boolean) => objects.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply)
    const created = (await apply(cm({ a: '1', b: '2' }, { owner: 'tool' }), 'tool')) as any
    assert.deepEqual(created.data, { a: '1', b: '2' })
    const entry = created.metadata.managedFields.find((m: any) => m.manager === 'tool')
    assert.equal(entry.operation, 'Apply')
    assert.deepEqual(entry.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:owner': {} } }, 'f:data': { 'f:a': {}, 'f:b': {} } })

    const again = (await apply(cm({ a: '1', b: '2' }, { owner: 'tool' }), 'tool')) as any
    assert.equal(again.metadata.resourceVersion, created.metadata.resourceVersion, 'a no-op apply writes nothing')

    const conflict = await statusOf(apply(cm({ a: 'other' }), 'intruder'))
    assert.equal(conflict.code, 409)
    assert.equal(conflict.reason, 'Conflict')
    assert.deepEqual(conflict.details.causes, [{ reason: 'FieldManagerConflict', field: '.data.a', message: 'conflict with "tool": .data.a' }])
    const shared = (await apply(cm({ b: '2', c: '3' }), 'intruder')) as any
    assert.deepEqual(shared.data, { a: '1', b: '2', c: '3' }, 'same value is shared, new field added without conflict')

    // An apply states the manager's whole intent: intruder now omits c (removed, nobody else owns it).
    const forced = (await apply(cm({ a: 'other' }), 'intruder', true)) as any
    assert.deepEqual(forced.data, { a: 'other', b: '2' })
    const toolFields = forced.metadata.managedFields.find((m: any) => m.manager === 'tool').fieldsV1
    assert.equal(toolFields['f:data']['f:a'], undefined, 'forcing takes the field from its old owner')

    // tool stops applying b and the label: both go, since nobody else owns them; intruder's a stays.
    const dropped = (await apply(cm({}), 'tool')) as any
    assert.deepEqual(dropped.data, { a: 'other' })
    assert.equal(dropped.metadata.labels, undefined)
    const emptied = (await apply(cm({}), 'intruder')) as any
    assert.deepEqual(emptied.data ?? {}, {})

    const noManager = await statusOf(objects.patch(cm({ a: '1' }), undefined, undefined, undefined, undefined, PatchStrategy.ServerSideApply))
    assert.equal(noManager.code, 422)
  })

  it('honours dryRun=All without writing', async () => {
    const before = sb.stats().mutatingTotal
    const dry = await core.createNamespacedConfigMap({ namespace: NS, dryRun: 'All', body: { metadata: { name: 'dry' }, data: { a: '1' } } })
    assert.equal(dry.metadata?.name, 'dry')
    assert.equal((await statusOf(core.readNamespacedConfigMap({ name: 'dry', namespace: NS }))).code, 404)
    assert.equal(sb.stats().mutatingTotal, before + 1)
  })

  it('streams watch events promptly, and resumes after a resourceVersion', async () => {
    const events: string[] = []
    let seen: () => void = () => {}
    const arrived = new Promise<void>((r) => (seen = r))
    const listed = await core.listNamespacedConfigMap({ namespace: NS })
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: listed.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj) => {
        events.push(`${type} ${obj.metadata.name}`)
        if (obj.metadata.name === 'watched') seen()
      },
      () => {},
    )
    const t0 = Date.now()
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'watched' } } })
    await Promise.race([arrived, new Promise((_, rej) => setTimeout(() => rej(new Error('no watch event within 500 ms')), 500))])
    assert.ok(Date.now() - t0 < 500)
    assert.deepEqual(events, ['ADDED watched'], 'only events after the listed resourceVersion')
    controller.abort()
  })

  it('ends watches on the dropWatchesAfterMs fault and on timeoutSeconds', async () => {
    const ended = (query: Record<string, string | number>) =>
      new Promise<number>((resolve) => {
        const t0 = Date.now()
        void new Watch(kc).watch(`/api/v1/namespaces/${NS}/configmaps`, query, () => {}, () => resolve(Date.now() - t0))
      })
    sb.faults.dropWatchesAfterMs(100)
    const dropped = await ended({})
    assert.ok(dropped >= 90 && dropped < 1000, `dropped after ${dropped} ms`)
    sb.faults.dropWatchesAfterMs(-1)
    const timedOut = await ended({ timeoutSeconds: 1 })
    assert.ok(timedOut >= 900 && timedOut < 2000, `timed out after ${timedOut} ms`)
  })

  it('runs pods/exec with all of stdin, reports exit status, and records command lines', async () => {
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'shell' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } })
    const received: Buffer[] = []
    const runtime = podRuntime(sb)
    runtime.registerExec(NS, 'shell', async (command, stdin) => {
      received.push(stdin)
      if (command[0] === 'fail') return { stdout: '', stderr: 'boom\n', exitCode: 2 }
      return { stdout: `got ${stdin.length} bytes\n`, stderr: '', exitCode: 0 }
    })
    const big = Buffer.alloc(300_000, 'x')
    const ok = await execute(kc, 'shell', ['cat', '-'], Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]))
    assert.equal(ok.stdout, 'got 300000 bytes\n')
    assert.equal(ok.status.status, 'Success')
    assert.equal(received[0]!.length, 300_000)

    const failed = await execute(kc, 'shell', ['fail', 'now'])
    assert.equal(failed.stderr, 'boom\n')
    assert.equal(failed.status.status, 'Failure')
    assert.equal(failed.status.reason, 'NonZeroExitCode')
    assert.deepEqual(failed.status.details?.causes, [{ reason: 'ExitCode', message: '2' }])
    assert.equal(received[1]!.length, 0, 'without stdin the command runs at once')

    const stats = sb.stats()
    assert.deepEqual(stats.execCommands.slice(-2), [['cat', '-'], ['fail', 'now']])
    assert.ok(stats.requests['POST pods/exec']! >= 2)
  })

  it('answers exec on a pod without a handler with a Failure status, and on a missing pod with 404', async () => {
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'empty' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } })
    const r = await execute(kc, 'empty', ['vault', 'status'])
    assert.equal(r.status.status, 'Failure')
    assert.equal(r.status.reason, 'InternalError')
    await assert.rejects(execute(kc, 'no-such-pod', ['true']), (e: { message?: string }) => /404/.test(String(e.message)))
  })

  it('speaks v4.channel.k8s.io too: output and exit status, stdin ending with the connection', async () => {
    const url = (cmd: string[], stdin: boolean) => `${sb.url.replace('https', 'wss')}/api/v1/namespaces/${NS}/pods/shell/exec?${cmd.map((c) => `command=${c}`).join('&')}&stdout=true&stderr=true&stdin=${stdin}`
    const tls = { ca: sb.pki.caPem, cert: sb.pki.client.certPem, key: sb.pki.client.keyPem }
    const frames: Buffer[] = []
    const ws = new WebSocket(url(['v4', 'run'], false), ['v4.channel.k8s.io'], tls)
    ws.on('message', (d: Buffer) => frames.push(d))
    await new Promise((r) => ws.on('close', r))
    assert.equal(ws.protocol, 'v4.channel.k8s.io')
    assert.deepEqual(frames.map((f) => f[0]), [1, 3])
    assert.equal(frames[0]!.subarray(1).toString(), 'got 0 bytes\n')
    assert.deepEqual(JSON.parse(frames[1]!.subarray(1).toString()), { metadata: {}, status: 'Success' })

    const withStdin = new WebSocket(url(['v4', 'stdin'], true), ['v4.channel.k8s.io'], { ca: sb.pki.caPem, headers: { Authorization: `Bearer ${sb.token}` } })
    await new Promise((r) => withStdin.on('open', r))
    withStdin.send(Buffer.concat([Buffer.from([0]), Buffer.from('abc')]))
    withStdin.close()
    await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(sb.stats().execCommands.slice(-1), [['v4', 'stdin']])
  })

  it('serves pods/log with tailLines', async () => {
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'logger' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } })
    podRuntime(sb).registerLogs(NS, 'logger', () => 'one\ntwo\nthree\n')
    assert.equal(await core.readNamespacedPodLog({ name: 'logger', namespace: NS }), 'one\ntwo\nthree\n')
    assert.equal(await core.readNamespacedPodLog({ name: 'logger', namespace: NS, tailLines: 2, sinceSeconds: 60 }), 'two\nthree\n')
    assert.equal((await statusOf(core.readNamespacedPodLog({ name: 'ghost', namespace: NS }))).code, 404)
  })

  it('counts requests by verb and resource, mutating ones and their bodies, also over HTTPS', async () => {
    sb.resetStats()
    await core.listNamespacedConfigMap({ namespace: NS })
    await core.readNamespacedConfigMap({ name: 'patched', namespace: NS })
    await core.patchNamespacedConfigMap({ name: 'patched', namespace: NS, body: { data: { marker: 'in-body' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const s = sb.stats()
    assert.deepEqual(s.requests, { 'LIST configmaps': 1, 'GET configmaps': 1, 'PATCH configmaps': 1 })
    assert.deepEqual(s.mutating, { 'PATCH configmaps': 1 })
    assert.equal(s.mutatingTotal, 1)
    assert.equal(s.requestBodies.length, 1)
    assert.match(s.requestBodies[0]!, /in-body/)
    const overHttps = await sandboxRequest(sb, '/sandbox/stats', { admin: true })
    // the stats request itself came over one more TLS connection
    assert.deepEqual(JSON.parse(overHttps.body), { ...s, tlsConnections: s.tlsConnections + 1 })
  })

  it('injects 500s, 403s, latency and a conflict on the next write', async () => {
    sb.faults.fail500Next(1, '/configmaps')
    const failed = await statusOf(core.readNamespacedConfigMap({ name: 'patched', namespace: NS }))
    assert.equal(failed.code, 500)
    assert.equal(failed.reason, 'InternalError')
    await core.readNamespacedConfigMap({ name: 'patched', namespace: NS })

    sb.faults.fail500Next(1, '/secrets')
    await core.readNamespacedConfigMap({ name: 'patched', namespace: NS }) // does not match: not consumed
    assert.equal((await statusOf(core.listNamespacedSecret({ namespace: NS }))).code, 500)

    sb.faults.forbidNext(1)
    assert.equal((await statusOf(core.listNamespacedPod({ namespace: NS }))).reason, 'Forbidden')

    sb.faults.latencyMs = 150
    const t0 = Date.now()
    await core.readNamespacedConfigMap({ name: 'patched', namespace: NS })
    assert.ok(Date.now() - t0 >= 140)
    sb.faults.latencyMs = 0

    sb.faults.conflictNextWrite()
    await core.readNamespacedConfigMap({ name: 'patched', namespace: NS }) // reads are not writes
    const conflict = await statusOf(core.patchNamespacedConfigMap({ name: 'patched', namespace: NS, body: { data: { z: '1' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)))
    assert.equal(conflict.code, 409)
    assert.equal(conflict.reason, 'Conflict')
    const retried = await core.patchNamespacedConfigMap({ name: 'patched', namespace: NS, body: { data: { z: '1' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    assert.equal(retried.data?.z, '1')
  })

  it('answers anonymous requests, a wrong token and a certificate of another CA with 401 and a Status, everywhere', async () => {
    const { createPki } = await import('../sandbox/apiserver/pki.ts')
    const foreign = createPki()
    for (const path of ['/api/v1/namespaces', '/version', '/healthz', '/sandbox/stats']) {
      for (const as of [{ anonymous: true } as const, { token: 'not-the-token' }]) {
        const r = await sandboxRequest(sb, path, as)
        assert.equal(r.status, 401, `${path} as ${JSON.stringify(as)}`)
        assert.deepEqual(JSON.parse(r.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 })
      }
    }
    const foreignCert = await sandboxRequest({ ...sb, pki: { ...sb.pki, client: foreign.client } }, '/api/v1/namespaces', { admin: true })
    assert.equal(foreignCert.status, 401)
    assert.equal((await sandboxRequest(sb, '/api/v1/namespaces', { admin: true })).status, 200)
    assert.equal((await sandboxRequest(sb, '/api/v1/namespaces', { token: sb.token })).status, 200)
  })

  it('serves HTTPS only, with a certificate for 127.0.0.1, localhost and ::1 that a client trusting another CA refuses', async () => {
    const { X509Certificate } = await import('node:crypto')
    const { createPki } = await import('../sandbox/apiserver/pki.ts')
    const served = new X509Certificate(sb.pki.server.certPem)
    assert.ok(served.checkIP('127.0.0.1') && served.checkIP('::1') && served.checkHost('localhost'))
    assert.ok(served.verify(new X509Certificate(sb.pki.caPem).publicKey))
    assert.match(new X509Certificate(sb.pki.client.certPem).subject, /O=system:masters\nCN=sandbox-admin/)
    await assert.rejects(sandboxRequest(sb, '/version', { admin: true }, { ca: createPki().caPem }), /self-signed|unable to verify|certificate/i)
    const { request } = await import('node:http')
    const plain = await new Promise<string>((resolve) => {
      const req = request(sb.url.replace('https:', 'http:') + '/version', (res) => resolve(`HTTP ${res.statusCode}`))
      req.on('error', (e) => resolve(e.message))
      req.end()
    })
    // no HTTP answer at all (a plain-HTTP server would answer, 401 included)
    assert.doesNotMatch(plain, /^HTTP \d/)
  })
})

describe('startSandbox', () => {
  it('writes the kubeconfig into a given dir and leaves the dir but not the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-api-test-'))
    try {
      const sb = await startSandbox({ repoDir: dir, dir, actors: false })
      assert.equal(sb.kubeconfigPath, join(dir, 'kubeconfig'))
      const kc = new KubeConfig()
      kc.loadFromFile(sb.kubeconfigPath)
      assert.equal(kc.getCurrentCluster()?.server, sb.url)
      assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false)
      assert.ok(kc.getCurrentCluster()?.caData && kc.getCurrentUser()?.certData && kc.getCurrentUser()?.keyData, 'CA and client pair inline, as k3s writes them')
      assert.match(sb.url, /^https:\/\/127\.0\.0\.1:\d+$/)
      kc.setCurrentContext(TOKEN_CONTEXT_NAME)
      assert.equal(kc.getCurrentUser()?.token, sb.token)
      assert.ok(Array.isArray((await kc.makeApiClient(CoreV1Api).listNamespace()).items), 'the token user is let in')
      const kcWatch = new KubeConfig()
      kcWatch.loadFromFile(sb.kubeconfigPath)
      const watchEnded = new Promise<void>((resolve) => void new Watch(kcWatch).watch('/api/v1/namespaces', {}, () => {}, () => resolve()))
      await new Promise((r) => setTimeout(r, 50))
      await sb.stop()
      await watchEnded
      assert.equal(existsSync(sb.kubeconfigPath), false)
      assert.equal(existsSync(dir), true)
      await assert.rejects(sandboxRequest(sb, '/version', { admin: true }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** The PodRuntime the sandbox hands its actors. */
function podRuntime(sb: Sandbox) {
  return sb.pods
}

async function execute(kc: KubeConfig, pod: string, command: string[], stdin?: Readable): Promise<{ stdout: string; stderr: string; status: V1Status }> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(chunk.toString())
        cb()
      },
    })
  return new Promise((resolve, reject) => {
    new Exec(kc)
      .exec(NS, pod, 'main', command, sink((s) => (stdout += s)), sink((s) => (stderr += s)), stdin ?? null, false, (status) => {
        // The status arrives after stdout/stderr frames; let the sinks flush first.
        setImmediate(() => resolve({ stdout, stderr, status }))
      })
      .catch(reject)
  })
}
