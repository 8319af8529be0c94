// Real kubectl (the binary on PATH, as an operator types it) against a freshly started sandbox with
// its actors on the sample repo: over HTTPS with the k3s-shaped kubeconfig, server-side printed
// tables, discovery, server-side apply, delete, exec (stdin, exit codes), logs, wait and get -w;
// and the ways in that must fail: no credentials, a wrong CA.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPki } from '../sandbox/apiserver/pki.ts'
import { kubeconfigYaml, startSandbox, TOKEN_CONTEXT_NAME, type Sandbox } from '../sandbox/index.ts'
import type { KObject } from '../sandbox/store.ts'
import { createSampleRepo, type SampleRepo } from '../sandbox/sample-repo.ts'

const KUBECTL = 'kubectl'

interface Result {
  code: number
  stdout: string
  stderr: string
}

describe('kubectl against the sandbox', () => {
  let sb: Sandbox
  let repo: SampleRepo
  let scratch: string

  /** One kubectl command with the sandbox's kubeconfig (or another), its own cache, a bounded run time. */
  function kubectl(args: string[], opts: { input?: string; kubeconfig?: string; timeoutMs?: number } = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(KUBECTL, ['--kubeconfig', opts.kubeconfig ?? sb.kubeconfigPath, '--cache-dir', join(scratch, 'cache'), ...args], {
        env: { PATH: process.env.PATH, HOME: scratch, LANG: 'C.UTF-8' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr })
      })
      child.stdin.end(opts.input ?? '')
    })
  }

  const ok = (r: Result, what: string) => assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}`)
  /** The table kubectl printed, as rows of cells split on runs of 2+ spaces. */
  const rows = (out: string) =>
    out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/))

  before(async () => {
    const found = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' })
    assert.equal(found.status, 0, `kubectl must be on PATH for these tests (install kubectl 1.32+): ${found.error?.message ?? found.stderr}`)
    scratch = mkdtempSync(join(tmpdir(), 'sandbox-kubectl-'))
    repo = createSampleRepo()
    sb = await startSandbox({ repoDir: repo.dir, controllerDelayMs: 10 })
    await sb.actors.settle()
  })
  after(async () => {
    await sb?.stop()
    rmSync(scratch, { recursive: true, force: true })
    if (repo) rmSync(repo.root, { recursive: true, force: true })
  })

  it('get applications -A: the Applications with the CRD printer columns, Synced and Healthy', async () => {
    const r = await kubectl(['get', 'applications', '-A'])
    ok(r, 'get applications -A')
    const [header, ...apps] = rows(r.stdout)
    assert.deepEqual(header, ['NAMESPACE', 'NAME', 'SYNC STATUS', 'HEALTH STATUS'])
    for (const name of ['personal-services', 'vault-eso']) assert.deepEqual(apps.find((row) => row[1] === name), ['argocd', name, 'Synced', 'Healthy'])
    const wide = await kubectl(['get', 'applications', '-n', 'argocd', 'personal-services', '-o', 'wide'])
    ok(wide, 'get application -o wide')
    assert.deepEqual(rows(wide.stdout)[0], ['NAME', 'SYNC STATUS', 'HEALTH STATUS', 'REVISION', 'PROJECT'])
  })

  it('get pods, namespaces and services -A print the columns kubectl shows for built-ins', async () => {
    const pods = await kubectl(['get', 'pods', '-A'])
    ok(pods, 'get pods -A')
    assert.deepEqual(rows(pods.stdout)[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])
    assert.deepEqual(rows(pods.stdout).find((row) => row[1] === 'vault-0')?.slice(0, 5), ['vault', 'vault-0', '1/1', 'Running', '0'])
    const ns = await kubectl(['get', 'ns', 'vault'])
    ok(ns, 'get ns')
    assert.deepEqual(rows(ns.stdout).map((row) => row.slice(0, 2)), [['NAME', 'STATUS'], ['vault', 'Active']])
  })

  it('get pvc -A', async () => {
    sb.store.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'kubectl-data', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local-path', resources: { requests: { storage: '1Gi' } } },
    })
    await sb.actors.settle()
    // local-path waits for the first Pod that mounts the claim
    const waiting = await kubectl(['get', 'pvc', '-n', 'default', 'kubectl-data', '--no-headers'])
    ok(waiting, 'get pvc')
    assert.deepEqual(rows(waiting.stdout)[0]?.slice(0, 2), ['kubectl-data', 'Pending'], waiting.stdout)
    sb.store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kubectl-data-user', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'kubectl-data' } }] },
    })
    await sb.actors.settle()
    const r = await kubectl(['get', 'pvc', '-A'])
    ok(r, 'get pvc -A')
    assert.deepEqual(rows(r.stdout)[0].slice(0, 3), ['NAMESPACE', 'NAME', 'STATUS'])
    assert.deepEqual(rows(r.stdout).find((row) => row[1] === 'kubectl-data')?.slice(0, 3), ['default', 'kubectl-data', 'Bound'], r.stdout)
  })

  it('api-resources lists the built-in and the CRD kinds', async () => {
    const r = await kubectl(['api-resources'])
    ok(r, 'api-resources')
    const byName = new Map(rows(r.stdout).map((row) => [row[0], row]))
    assert.deepEqual(byName.get('applications')?.slice(-3), ['argoproj.io/v1alpha1', 'true', 'Application'])
    assert.deepEqual(byName.get('namespaces'), ['namespaces', 'ns', 'v1', 'false', 'Namespace'])
    assert.ok(byName.has('externalsecrets') && byName.has('pods') && byName.has('deployments'))
  })

  it('short names and categories as the upstream CRDs declare them: get app, appproj, es, css; get all', async () => {
    const apps = await kubectl(['get', 'app', '-A', '-o', 'name'])
    ok(apps, 'get app -A')
    assert.ok(apps.stdout.split('\n').includes('application.argoproj.io/vault-eso'), apps.stdout)
    ok(await kubectl(['get', 'apps', '-n', 'argocd', 'vault-eso']), 'get apps (the second short name)')
    const projects = await kubectl(['get', 'appproj', '-A', '-o', 'name'])
    ok(projects, 'get appproj -A')
    assert.match(projects.stdout, /^appproject\.argoproj\.io\//m)
    const es = await kubectl(['get', 'es', '-A'])
    ok(es, 'get es -A')
    assert.ok(rows(es.stdout).length > 1, es.stdout)
    ok(await kubectl(['get', 'css']), 'get css')
    const byName = new Map(rows((await kubectl(['api-resources'])).stdout).map((row) => [row[0], row]))
    assert.deepEqual(byName.get('applications')?.slice(0, 2), ['applications', 'app,apps'])
    assert.deepEqual(byName.get('appprojects')?.slice(0, 2), ['appprojects', 'appproj,appprojs'])
    assert.deepEqual(byName.get('externalsecrets')?.slice(0, 2), ['externalsecrets', 'es'])
    assert.deepEqual(byName.get('clustersecretstores')?.slice(0, 2), ['clustersecretstores', 'css'])
    // ESO's kinds are in its own category, as its CRDs declare; `all` stays the built-ins'
    const eso = await kubectl(['get', 'external-secrets', '-A', '-o', 'name'])
    ok(eso, 'get external-secrets (the category)')
    assert.match(eso.stdout, /^externalsecret\.external-secrets\.io\//m)
    assert.match(eso.stdout, /^clustersecretstore\.external-secrets\.io\//m)
    const all = await kubectl(['get', 'all', '-n', 'personal-services', '-o', 'name'])
    ok(all, 'get all -n personal-services')
    assert.match(all.stdout, /^deployment\.apps\/it-tools$/m)
    assert.match(all.stdout, /^service\/it-tools$/m)
    assert.match(all.stdout, /^pod\/it-tools-/m)
    assert.doesNotMatch(all.stdout, /externalsecret|configmap/)
  })

  it('scale deployment/x --replicas=2 goes through the scale subresource: spec.replicas and the pods follow', async () => {
    // a Deployment no Application manages (Argo CD's selfHeal would scale an app's back, as it does on a real cluster)
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'scaled' }
    const labels = { app: 'scaled' }
    sb.store.create({ ...ref, metadata: { name: 'scaled', namespace: 'default' }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } })
    await sb.actors.settle()
    const scaled = await kubectl(['scale', 'deployment/scaled', '-n', 'default', '--replicas=2'])
    ok(scaled, 'scale')
    assert.equal(scaled.stdout.trim(), 'deployment.apps/scaled scaled')
    const live = sb.store.get(ref)!
    assert.equal(live.spec.replicas, 2)
    const scaleEntry = (live.metadata.managedFields as { manager: string; subresource?: string; fieldsV1: unknown }[]).find((m) => m.subresource === 'scale')
    assert.deepEqual([scaleEntry?.manager, scaleEntry?.fieldsV1], ['kubectl', { 'f:spec': { 'f:replicas': {} } }])
    await sb.actors.settle()
    const scale = await kubectl(['get', '--raw', '/apis/apps/v1/namespaces/default/deployments/scaled/scale'])
    ok(scale, 'get the Scale')
    const body = JSON.parse(scale.stdout)
    assert.deepEqual([body.apiVersion, body.kind, body.spec, body.status], ['autoscaling/v1', 'Scale', { replicas: 2 }, { replicas: 2, selector: 'app=scaled' }])
    assert.equal(body.metadata.resourceVersion, sb.store.get(ref)!.metadata.resourceVersion)
    const stale = await kubectl(['scale', 'deployment/scaled', '-n', 'default', '--replicas=3', '--current-replicas=1'])
    assert.equal(stale.code, 1, 'the --current-replicas precondition fails')
    assert.match(stale.stderr, /Expected replicas to be 1, was 2/)
    const negative = await kubectl(['patch', 'deployment/scaled', '-n', 'default', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":-1}}'])
    assert.equal(negative.code, 1)
    assert.match(negative.stderr, /The Scale "scaled" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0/)
    await sb.actors.settle()
    const pods = await kubectl(['get', 'pods', '-n', 'default', '-l', 'app=scaled', '-o', 'name'])
    assert.equal(pods.stdout.trim().split('\n').length, 2, pods.stdout)
    const db = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' }
    sb.store.create({ ...db, metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'postgres' }] } } } })
    const dry = await kubectl(['scale', 'statefulset/db', '-n', 'default', '--replicas=0', '--dry-run=server'])
    ok(dry, 'scale a StatefulSet, server dry run')
    assert.equal(sb.store.get(db)!.spec.replicas, 1, 'a dry run changes nothing')
    ok(await kubectl(['scale', 'statefulset/db', '-n', 'default', '--replicas=0']), 'scale a StatefulSet')
    assert.equal(sb.store.get(db)!.spec.replicas, 0)
  })

  it('exec -n vault vault-0 -- vault status: the output and exit code 0', async () => {
    const r = await kubectl(['exec', '-n', 'vault', 'vault-0', '--', 'vault', 'status'])
    ok(r, 'exec vault status')
    assert.match(r.stdout, /^Sealed\s+false$/m)
  })

  it('exec -i: stdin reaches the command (closed by the v5 close signal), a failure gives its exit code', async () => {
    const put = await kubectl(['exec', '-i', '-n', 'vault', 'vault-0', '--', 'vault', 'kv', 'put', 'secret/kubectl-test', 'value=-'], { input: 'from-stdin' })
    ok(put, 'exec -i vault kv put')
    const got = await kubectl(['exec', '-n', 'vault', 'vault-0', '--', 'vault', 'kv', 'get', '-field=value', 'secret/kubectl-test'])
    ok(got, 'exec vault kv get')
    assert.equal(got.stdout, 'from-stdin')
    const missing = await kubectl(['exec', '-i', '-n', 'vault', 'vault-0', '--', 'vault', 'kv', 'get', 'secret/no-such-key'], { input: 'ignored' })
    assert.equal(missing.code, 2, missing.stderr)
    assert.match(missing.stderr, /No value found at secret\/data\/no-such-key/)
    assert.match(missing.stderr, /command terminated with exit code 2/)
  })

  it('kubectl create (protobuf) is refused with the way around it, and that way works', async () => {
    const created = await kubectl(['create', 'configmap', 'made-by-create', '-n', 'default', '--from-literal=a=1'])
    assert.notEqual(created.code, 0)
    assert.match(created.stderr, /reads JSON request bodies only.*--dry-run=client -o yaml \| kubectl apply -f -/)
    const yaml = await kubectl(['create', 'configmap', 'made-by-create', '-n', 'default', '--from-literal=a=1', '--dry-run=client', '-o', 'yaml'])
    ok(yaml, 'create --dry-run=client')
    ok(await kubectl(['apply', '-f', '-'], { input: yaml.stdout }), 'apply of the dry-run output')
    assert.equal(sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'made-by-create' })?.data?.a, '1')
  })

  it('apply --server-side a manifest, get -o yaml shows it, delete it', async () => {
    const file = join(scratch, 'cm.yaml')
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubectl-made\n  namespace: default\ndata:\n  greeting: hello\n')
    const applied = await kubectl(['apply', '--server-side', '-f', file])
    ok(applied, 'apply --server-side')
    assert.equal(applied.stdout.trim(), 'configmap/kubectl-made serverside-applied')
    assert.equal(applied.stderr, '', 'no validation or openapi warnings')
    const yaml = await kubectl(['get', 'configmap', '-n', 'default', 'kubectl-made', '-o', 'yaml'])
    ok(yaml, 'get -o yaml')
    assert.match(yaml.stdout, /^data:\n {2}greeting: hello$/m)
    assert.match(yaml.stdout, /^ {2}uid: [0-9a-f-]{36}$/m)
    const owner = sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'kubectl-made' })?.metadata.managedFields as { manager: string; operation: string }[]
    assert.deepEqual(owner.map((m) => [m.manager, m.operation]), [['kubectl', 'Apply']])
    const deleted = await kubectl(['delete', '-f', file])
    ok(deleted, 'delete')
    assert.equal(deleted.stdout.trim(), 'configmap "kubectl-made" deleted')
    const gone = await kubectl(['get', 'configmap', '-n', 'default', 'kubectl-made'])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /NotFound.*configmaps "kubectl-made" not found/)
  })

  it('a manifest with a typo in a field name is refused as a real server refuses it (fieldValidation), or warned about and dropped', async () => {
    const file = join(scratch, 'typo.yaml')
    const manifest = (extra: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typo\n  namespace: default\nspec:\n  replicaz: 2\n  selector:\n    matchLabels: {app: typo}\n  template:\n    metadata:\n      labels: {app: typo}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n${extra}`
    writeFileSync(file, manifest('        imagePullPolicyy: Always\n'))
    // kubectl apply sends fieldValidation=Strict: a create fails in the decoder (400)
    const created = await kubectl(['apply', '-f', file])
    assert.equal(created.code, 1)
    assert.equal(
      created.stderr.trim(),
      'Error from server (BadRequest): error when creating "' + file + '": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaz", unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
    )
    assert.equal(sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'typo' }), undefined)
    // a server-side apply fails in the typed apply, whatever the directive
    const ssa = await kubectl(['apply', '--server-side', '-f', file])
    assert.equal(ssa.code, 1)
    assert.match(ssa.stderr, /^Error from server: failed to create typed patch object \(default\/typo; apps\/v1, Kind=Deployment\): errors:\n {2}\.spec\.replicaz: field not declared in schema\n {2}\.spec\.template\.spec\.containers\[name="c"\]\.imagePullPolicyy: field not declared in schema$/m)
    // --validate=warn: created, a warning per field, the fields dropped
    const warned = await kubectl(['apply', '--validate=warn', '-f', file])
    ok(warned, 'apply --validate=warn')
    assert.equal(warned.stdout.trim(), 'deployment.apps/typo created')
    assert.equal(warned.stderr, 'Warning: unknown field "spec.replicaz"\nWarning: unknown field "spec.template.spec.containers[0].imagePullPolicyy"\n')
    const live = sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'typo' })!
    assert.equal(live.spec.replicaz, undefined)
    assert.equal(live.spec.template.spec.containers[0].imagePullPolicyy, undefined)
    // an apply to the existing object is a strategic merge patch: refused with 422 on the patch
    writeFileSync(file, manifest('        imagePullPolicyy: Never\n'))
    const patched = await kubectl(['apply', '-f', file])
    assert.equal(patched.code, 1)
    assert.match(patched.stderr, /^The request is invalid: patch: Invalid value: "map\[.*imagePullPolicyy:Never.*\]": strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolicyy", unknown field "spec\.replicaz"$/m)
    // --validate=false (Ignore): dropped without a word
    const ignored = await kubectl(['apply', '--validate=false', '-f', file])
    ok(ignored, 'apply --validate=false')
    assert.equal(ignored.stderr, '')
    ok(await kubectl(['delete', '-f', file]), 'delete')
    // an unknown directive is refused like the API server refuses it
    const cm = join(scratch, 'cm.json')
    writeFileSync(cm, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'directive' }, data: { a: '1' } }))
    const bogus = await kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps?fieldValidation=Bogus', '-f', cm])
    assert.equal(bogus.code, 1)
    assert.match(bogus.stderr, /The CreateOptions "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"/)
  })

  it('describe a pod and an Application', async () => {
    const pod = await kubectl(['describe', 'pod', '-n', 'vault', 'vault-0'])
    ok(pod, 'describe pod')
    assert.match(pod.stdout, /^Name:\s+vault-0\nNamespace:\s+vault$/m)
    assert.match(pod.stdout, /^Status:\s+Running$/m)
    const app = await kubectl(['describe', 'application', '-n', 'argocd', 'vault-eso'])
    ok(app, 'describe application')
    assert.match(app.stdout, /^Kind:\s+Application$/m)
    assert.match(app.stdout, /^\s+Health:\n\s+Status:\s+Healthy$/m)
  })

  it('describe a ConfigMap and a Deployment: their Events, found by a field selector on involvedObject; get events prints the Event columns', async () => {
    const cm = sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'homepage', name: 'homepage' })!
    const deploy = sb.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'personal-services', name: 'it-tools' })!
    const at = new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, 'Z')
    const event = (namespace: string, name: string, involved: KObject, reason: string, message: string, type = 'Normal') =>
      sb.store.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, namespace, name: involved.metadata.name, uid: involved.metadata.uid },
        reason,
        message,
        type,
        source: { component: 'deployment-controller' },
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      })
    event('homepage', 'homepage.1', cm, 'Checked', 'looked at by a test')
    event('homepage', 'homepage.2', { ...cm, metadata: { ...cm.metadata, name: 'another', uid: 'x' } }, 'Other', 'about another ConfigMap', 'Warning')
    event('personal-services', 'it-tools.1', deploy, 'ScalingReplicaSet', 'Scaled up replica set it-tools-abc to 1')
    const described = await kubectl(['describe', 'configmap', '-n', 'homepage', 'homepage'])
    ok(described, 'describe configmap')
    assert.match(described.stdout, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n\s+----.*\n\s+Normal\s+Checked\s+2m(\d+s)?\s+deployment-controller\s+looked at by a test\n?$/m)
    assert.doesNotMatch(described.stdout, /another ConfigMap/)
    const deployment = await kubectl(['describe', 'deployment', '-n', 'personal-services', 'it-tools'])
    ok(deployment, 'describe deployment')
    assert.match(deployment.stdout, /^Name:\s+it-tools$/m)
    assert.match(deployment.stdout, /^\s+Normal\s+ScalingReplicaSet\s+2m(\d+s)?\s+deployment-controller\s+Scaled up replica set it-tools-abc to 1$/m)
    const events = await kubectl(['get', 'events', '-n', 'homepage'])
    ok(events, 'get events')
    const [header, ...lines] = rows(events.stdout)
    assert.deepEqual(header, ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'])
    assert.deepEqual(lines.map((l) => l.slice(1)), [
      ['Normal', 'Checked', 'configmap/homepage', 'looked at by a test'],
      ['Warning', 'Other', 'configmap/another', 'about another ConfigMap'],
    ])
    for (const l of lines) assert.match(l[0]!, /^2m(\d+s)?$/)
  })

  it('logs of a pod, with --tail', async () => {
    sb.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } })
    sb.pods.registerLogs('default', 'talker', () => 'first line\nsecond line\n')
    const all = await kubectl(['logs', '-n', 'default', 'talker'])
    ok(all, 'logs')
    assert.equal(all.stdout, 'first line\nsecond line\n')
    const tail = await kubectl(['logs', '-n', 'default', 'talker', '--tail=1'])
    assert.equal(tail.stdout, 'second line\n')
  })

  it('wait --for=condition=Ready returns when the condition turns true, and times out while it does not', async () => {
    ok(await kubectl(['wait', '--for=condition=Ready', 'pod/vault-0', '-n', 'vault', '--timeout=10s']), 'wait on a Ready pod')
    sb.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'slow', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } })
    const notYet = await kubectl(['wait', '--for=condition=Ready', 'pod/slow', '-n', 'default', '--timeout=1s'])
    assert.notEqual(notYet.code, 0)
    assert.match(notYet.stderr, /timed out waiting for the condition on pods\/slow/)
    const waiting = kubectl(['wait', '--for=condition=Ready', 'pod/slow', '-n', 'default', '--timeout=15s'])
    setTimeout(() => {
      const pod = sb.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'slow' })!
      sb.store.update({ ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } })
    }, 700)
    const r = await waiting
    ok(r, 'wait until Ready')
    assert.equal(r.stdout.trim(), 'pod/slow condition met')
  })

  it('get -w prints the change it watched', async () => {
    sb.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched', namespace: 'default' }, data: { a: '1' } })
    const child = spawn(KUBECTL, ['--kubeconfig', sb.kubeconfigPath, '--cache-dir', join(scratch, 'cache'), 'get', 'configmap', 'watched', '-n', 'default', '-w'], {
      env: { PATH: process.env.PATH, HOME: scratch },
    })
    let out = ''
    const seen = (re: RegExp, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kubectl get -w did not print ${re} within ${ms} ms; printed:\n${out}`)), ms)
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer)
            child.stdout.off('data', check)
            resolve()
          }
        }
        child.stdout.on('data', (d) => {
          out += d
          check()
        })
        check()
      })
    try {
      const watchesBefore = sb.stats().requests['WATCH configmaps'] ?? 0
      await seen(/^watched\s+1\s+\S+$/m, 10_000)
      // kubectl prints the object it GOT, then watches from resourceVersion 0 and skips the first
      // event (the object as it is): a change that lands before its watch is up would be that event
      // and never printed, on a real API server too. So change it only once the watch is there.
      const watchUntil = Date.now() + 20_000
      while ((sb.stats().requests['WATCH configmaps'] ?? 0) === watchesBefore) {
        assert.ok(Date.now() < watchUntil, `kubectl get -w never started its watch; printed:\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      await new Promise((r) => setTimeout(r, 200))
      const cm = sb.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'watched' })!
      sb.store.update({ ...cm, data: { a: '1', b: '2' } })
      await seen(/^watched\s+2\s+\S+$/m, 10_000)
      assert.equal(out.match(/^NAME\s+DATA\s+AGE$/gm)?.length, 1, 'one header')
    } finally {
      child.kill()
    }
  })

  it('the token user (context sandbox-token) gets in; no credentials get 401; a wrong CA is refused', async () => {
    const viaToken = await kubectl(['--context', TOKEN_CONTEXT_NAME, 'get', 'ns', 'default', '-o', 'name'])
    ok(viaToken, 'token user')
    assert.equal(viaToken.stdout.trim(), 'namespace/default')

    const anonymous = join(scratch, 'anonymous.kubeconfig')
    writeFileSync(anonymous, kubeconfigYaml(sb.url, sb.pki, 'not-a-valid-token').replace(/^ {4}client-(certificate|key)-data: .*\n/gm, '').replace('current-context: sandbox\n', `current-context: ${TOKEN_CONTEXT_NAME}\n`))
    const refused = await kubectl(['get', 'ns'], { kubeconfig: anonymous })
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /You must be logged in to the server \(Unauthorized\)/)

    const wrongCa = join(scratch, 'wrong-ca.kubeconfig')
    writeFileSync(wrongCa, kubeconfigYaml(sb.url, { ...sb.pki, caPem: createPki().caPem }, sb.token))
    const untrusted = await kubectl(['get', 'ns'], { kubeconfig: wrongCa })
    assert.equal(untrusted.code, 1)
    assert.match(untrusted.stderr, /x509: certificate signed by unknown authority/)
  })
})
