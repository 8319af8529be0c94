// Server-side printing pieces: ages as the API server writes them, the JSONPath subset of CRD
// printer columns, the Accept header that asks for a Table, and the Table of a custom kind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { humanDuration, jsonPathValues } from '../sandbox/apiserver/printing.ts'
import { tableOf, wantsTable } from '../sandbox/apiserver/table.ts'
import { Store } from '../sandbox/store.ts'
import { applicationCrd } from '../sandbox/actors/crds.ts'

test('ages read like kubectl prints them', () => {
  const s = 1000
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-500, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [192 * s, '3m12s'],
    [600 * s, '10m'],
    [179 * 60 * s, '179m'],
    [(3 * 60 + 20) * 60 * s, '3h20m'],
    [30 * 3600 * s, '30h'],
    [(3 * 24 + 5) * 3600 * s, '3d5h'],
    [40 * 24 * 3600 * s, '40d'],
    [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
    [9 * 365 * 24 * 3600 * s, '9y'],
  ]
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`)
})

test('JSONPath: fields, indexes, wildcards, filters; nothing for a missing path or an unsupported one', () => {
  const o = { status: { conditions: [{ type: 'Synced', status: 'False' }, { type: 'Ready', status: 'True', reason: 'SecretSynced' }], sync: { status: 'Synced' } }, list: [{ n: 1 }, { n: 2 }] }
  assert.deepEqual(jsonPathValues(o, '.status.sync.status'), ['Synced'])
  assert.deepEqual(jsonPathValues(o, '.status.conditions[?(@.type=="Ready")].reason'), ['SecretSynced'])
  assert.deepEqual(jsonPathValues(o, ".status.conditions[?(@.type!='Ready')].type"), ['Synced'])
  assert.deepEqual(jsonPathValues(o, '.list[*].n'), [1, 2])
  assert.deepEqual(jsonPathValues(o, '.list[-1].n'), [2])
  assert.deepEqual(jsonPathValues(o, "{.status['sync'].status}"), ['Synced'])
  assert.deepEqual(jsonPathValues(o, '.status.health.status'), [])
  assert.deepEqual(jsonPathValues(o, '.list[?(@.n>1)]'), [])
})

test('a Table is what kubectl asks for with as=Table;v=v1;g=meta.k8s.io, in any parameter order', () => {
  assert.ok(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'))
  assert.ok(wantsTable('application/json; g=meta.k8s.io; v=v1; as=Table'))
  assert.ok(!wantsTable('application/json'))
  assert.ok(!wantsTable('application/json;as=Table;v=v1beta1;g=meta.k8s.io'))
  assert.ok(!wantsTable(undefined))
})

test("a custom kind's Table: NAME and the CRD's printer columns, the row's metadata as PartialObjectMetadata", () => {
  const store = new Store()
  store.create(applicationCrd())
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } })
  const app = store.create({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'demo', namespace: 'argocd' }, spec: { project: 'homelab' } })
  app.status = { sync: { status: 'Synced', revision: 'abc' }, health: { status: 'Healthy' } }
  const type = store.typeOf('argoproj.io/v1alpha1', 'Application')!
  const t = tableOf(store, type, [app], { resourceVersion: '7', includeObject: null })
  assert.deepEqual(t.columnDefinitions.map((c) => [c.name, c.priority]), [['Name', 0], ['Sync Status', 0], ['Health Status', 0], ['Revision', 10], ['Project', 10]])
  assert.deepEqual(t.rows[0]!.cells, ['demo', 'Synced', 'Healthy', 'abc', 'homelab'])
  assert.deepEqual(t.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: app.metadata })
  assert.equal(t.metadata.resourceVersion, '7')
  assert.equal(tableOf(store, type, [app], { includeObject: 'None' }).rows[0]!.object, undefined)
  delete app.status.health
  assert.deepEqual(tableOf(store, type, [app], { includeObject: null }).rows[0]!.cells, ['demo', 'Synced', null, 'abc', 'homelab'])
})
