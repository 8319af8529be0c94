// Corpus shape "homelab-today": the owner's homelab as it is today, on two clusters. Argo CD runs
// in-cluster; a second k3s cluster `homelab` (https://10.10.0.5:6443) is registered by an Argo CD
// cluster Secret that an ExternalSecret makes from Vault, and most apps deploy there (some by server
// URL, some by name). A root app-of-apps (Directory, recurse, exclude) renders every Application under
// argocd/. The app to onboard, it-tools, is one of ~40 entries of a big Kustomize Application
// (nested kustomizations, ResourceQuota, LimitRange, PriorityClass, a claim of class `nfs-client` that
// nothing in the repo defines); several apps are their own Kustomize Applications with `images:`
// digest pins; a Directory Application without include list deploys squoosh to `homelab` by name.
// Vault runs on `homelab` (namespace vault); the ClusterSecretStore on the Argo CD cluster reaches it
// through a NodePort. Public charts (kube-prometheus-stack, Vault, ESO) are opaque; a PrometheusRule
// shows the Prometheus Operator is there. YAML with anchors, CRLF, flow style, Chinese comments.
import { crlf, type CorpusShape } from './build.ts'

const REPO = 'https://github.com/meirongdev/homelab.git'
const TAG = 'sha-7e41c2a'
export const HOMELAB_SERVER = 'https://10.10.0.5:6443'
export const HOMELAB_VAULT_URL = 'http://10.10.0.5:30820'
const IN_CLUSTER = 'https://kubernetes.default.svc'

/** How an Application names its destination cluster: by URL or by the cluster Secret's name. */
type Dest = { server: string } | { name: string }
const toHomelabByName: Dest = { name: 'homelab' }
const toHomelabByServer: Dest = { server: HOMELAB_SERVER }
const inCluster: Dest = { server: IN_CLUSTER }

function destinationLines(d: Dest, namespace: string): string {
  return 'server' in d ? `    server: ${d.server}\n    namespace: ${namespace}` : `    name: ${d.name}\n    namespace: ${namespace}`
}

/** An Application of this repo, in the owner's usual form (finalizer, ServerSideApply, CreateNamespace). */
function app(o: { name: string; path: string; namespace: string; dest: Dest; extraSource?: string; comment?: string; wave?: number; selfHeal?: boolean }): string {
  return `${o.comment ? `# ${o.comment}\n` : ''}apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${o.name}
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io${o.wave !== undefined ? `\n  annotations:\n    argocd.argoproj.io/sync-wave: "${o.wave}"` : ''}
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: ${o.path}${o.extraSource ?? ''}
  destination:
${destinationLines(o.dest, o.namespace)}
  syncPolicy:
    automated:
      prune: true
      selfHeal: ${o.selfHeal ?? true}
    syncOptions:
      - CreateNamespace=true
      - ServerSideApply=true
`
}

/** A chart from a public Helm repository (opaque to the sandbox: no network). */
function chartApp(o: { name: string; repo: string; chart: string; version: string; namespace: string; dest: Dest; values: string; comment?: string }): string {
  return `${o.comment ? `# ${o.comment}\n` : ''}apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${o.name}
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: homelab
  source:
    repoURL: ${o.repo}
    chart: ${o.chart}
    targetRevision: ${o.version}
    helm:
      releaseName: ${o.name}
      valuesObject:
${o.values.replace(/^/gm, '        ')}
  destination:
${destinationLines(o.dest, o.namespace)}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
      - ServerSideApply=true
`
}

/** One small web app: a Deployment and its Service, in the owner's block style with a label anchor. */
function webApp(o: { name: string; namespace: string; image: string; port: number; comment?: string; priority?: string; claim?: string; env?: Record<string, string> }): string {
  const env = Object.entries(o.env ?? {})
  return `${o.comment ? `# ${o.comment}\n` : ''}apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
  labels: &labels
    app.kubernetes.io/name: ${o.name}
    app.kubernetes.io/part-of: homelab
spec:
  replicas: 1
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: ${o.name}
  template:
    metadata:
      labels: *labels
    spec:${o.priority ? `\n      priorityClassName: ${o.priority}` : ''}
      containers:
        - name: ${o.name}
          image: ${o.image}
          ports:
            - name: http
              containerPort: ${o.port}${env.length ? `\n          env:\n${env.map(([k, v]) => `            - { name: ${k}, value: "${v}" }`).join('\n')}` : ''}
          resources:
            requests: { cpu: 10m, memory: 32Mi }
            limits: { memory: 256Mi }${o.claim ? `\n          volumeMounts:\n            - name: data\n              mountPath: /data\n      volumes:\n        - name: data\n          persistentVolumeClaim:\n            claimName: ${o.claim}` : ''}
---
apiVersion: v1
kind: Service
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
  labels:
    app.kubernetes.io/name: ${o.name}
spec:
  selector:
    app.kubernetes.io/name: ${o.name}
  ports:
    - name: http
      port: 80
      targetPort: http
`
}

/** The personal services of the big tree: [name, image, port, comment]. */
const PERSONAL: [string, string, number, string][] = [
  ['excalidraw', 'docker.io/excalidraw/excalidraw:latest', 80, '白板'],
  ['drawio', 'docker.io/jgraph/drawio:26.2.2', 8080, 'diagrams'],
  ['cyberchef', 'ghcr.io/gchq/cyberchef:10.19.4', 80, '编码/解码工具'],
  ['stirling-pdf', 'docker.io/frooodle/s-pdf:0.46.2', 8080, 'PDF 工具'],
  ['memos', 'docker.io/neosmemo/memos:0.24.4', 5230, '备忘录'],
  ['shlink', 'ghcr.io/shlinkio/shlink:4.4.6', 8080, 'short links'],
  ['privatebin', 'docker.io/privatebin/nginx-fpm-alpine:1.7.6', 8080, '临时粘贴板'],
  ['microbin', 'docker.io/danielszabo99/microbin:2.0.4', 8080, 'file sharing'],
  ['searxng', 'docker.io/searxng/searxng:2025.3.8-a38e5d8', 8080, '元搜索'],
  ['wallabag', 'docker.io/wallabag/wallabag:2.6.10', 80, 'read later'],
  ['kiwix', 'ghcr.io/kiwix/kiwix-serve:3.7.0', 8080, '离线维基'],
  ['omni-tools', 'docker.io/iib0011/omni-tools:0.4.0', 80, 'more tools'],
  ['convertx', 'ghcr.io/c4illin/convertx:v0.12.1', 3000, '格式转换'],
  ['pairdrop', 'ghcr.io/schlagmichdoch/pairdrop:v1.11.2', 3000, 'local sharing'],
  ['dashdot', 'docker.io/mauricenino/dashdot:6.0.0', 3001, '主机状态'],
  ['glance', 'docker.io/glanceapp/glance:v0.8.3', 8080, 'start page'],
  ['rss-bridge', 'docker.io/rssbridge/rss-bridge:2025-01-26', 80, 'RSS 桥'],
  ['openspeedtest', 'docker.io/openspeedtest/latest:v2.0.6', 3000, '测速'],
  ['librespeed', 'ghcr.io/librespeed/speedtest:5.4.1', 80, 'speed test'],
  ['mazanoke', 'ghcr.io/civilblur/mazanoke:v1.1.5', 80, '图片压缩'],
  ['bentopdf', 'docker.io/bentopdf/bentopdf:v1.2.0', 8080, 'pdf in the browser'],
  ['web-check', 'docker.io/lissy93/web-check:latest', 3000, '网站检查'],
]

const DEV_TOOLS: [string, string, number][] = [
  ['code-server', 'ghcr.io/coder/code-server:4.99.4', 8080],
  ['hoppscotch', 'docker.io/hoppscotch/hoppscotch:2025.3.2', 3000],
  ['regex101', 'docker.io/loopsun/regex101:v1.0', 80],
]

const FAMILY: [string, string, number][] = [
  ['mealie', 'ghcr.io/mealie-recipes/mealie:v2.8.0', 9000],
  ['actual', 'docker.io/actualbudget/actual-server:25.4.0', 5006],
]

function bigTree(): Record<string, string> {
  const f: Record<string, string> = {}
  const base = 'k8s/homelab-apps'
  f[`${base}/kustomization.yaml`] = `# 个人服务总入口：一个 Kustomize 应用部署到 homelab 集群。
# 新服务：在 personal-services/ 加一个文件，再在下面列出。
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
  - pairs:
      app.kubernetes.io/managed-by: argocd
resources:
  - namespaces.yaml
  - platform/priority-classes.yaml
  - platform/quotas.yaml
  - platform/limit-ranges.yaml
  - storage/shared-data.yaml
  - personal-services/it-tools.yaml
${PERSONAL.map(([n]) => `  - personal-services/${n}.yaml`).join('\n')}
  - personal-services/filebrowser.yaml
  - personal-services/homepage-config.yaml
  # 子目录各有自己的 kustomization
  - dev-tools
  - family
  - network/ingresses.yaml
  - network/policies.yaml
`
  f[`${base}/namespaces.yaml`] = ['personal-services', 'dev-tools', 'family'].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n  labels: { homelab/tier: apps }\n`).join('---\n')
  f[`${base}/platform/priority-classes.yaml`] = `# 优先级：基础服务先于个人服务
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: homelab-important
value: 100000
globalDefault: false
description: apps the family notices when they are down
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: homelab-best-effort
value: 1000
preemptionPolicy: Never
description: tools nobody misses for an hour
`
  f[`${base}/platform/quotas.yaml`] = crlf(`# 每个命名空间的配额（小主机，内存紧张）
apiVersion: v1
kind: ResourceQuota
metadata:
  name: apps-quota
  namespace: personal-services
spec:
  hard:
    requests.cpu: "4"
    requests.memory: 8Gi
    limits.memory: 16Gi
    persistentvolumeclaims: "10"
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: apps-quota
  namespace: dev-tools
spec:
  hard: { requests.cpu: "2", requests.memory: 4Gi, limits.memory: 8Gi }
`)
  f[`${base}/platform/limit-ranges.yaml`] = `# 没写 resources 的容器用这些默认值（下限就是默认请求）
apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: personal-services
spec:
  limits:
    - type: Container
      default:
        memory: 256Mi
      defaultRequest: &requests
        cpu: 10m
        memory: 32Mi
      min: *requests
---
apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: family
spec:
  limits:
    - type: Container
      default: {memory: 512Mi}
      defaultRequest: {cpu: 10m, memory: 64Mi}
`
  f[`${base}/storage/shared-data.yaml`] = `# nfs-client 由 nfs-subdir-external-provisioner 提供，很早以前手工装的（不在这个仓库里）。
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: shared-data
  namespace: personal-services
spec:
  accessModes: [ReadWriteMany]
  storageClassName: nfs-client
  resources:
    requests:
      storage: 50Gi
`
  f[`${base}/personal-services/it-tools.yaml`] = `# it-tools：开发者工具箱（镜像由 CI 按提交构建）
apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
  namespace: personal-services
  labels:
    app.kubernetes.io/name: it-tools
    app.kubernetes.io/part-of: homelab
spec:
  replicas: 1
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: it-tools
  template:
    metadata:
      labels:
        app.kubernetes.io/name: it-tools
    spec:
      priorityClassName: homelab-best-effort
      containers:
        - name: it-tools
          image: ghcr.io/meirongdev/it-tools:${TAG}
          ports:
            - name: http
              containerPort: 80
          readinessProbe:
            httpGet: { path: /, port: http }
          resources:
            requests: { cpu: 10m, memory: 32Mi }
            limits: { memory: 128Mi }
---
apiVersion: v1
kind: Service
metadata:
  name: it-tools
  namespace: personal-services
spec:
  selector:
    app.kubernetes.io/name: it-tools
  ports:
    - name: http
      port: 80
      targetPort: http
`
  for (const [i, [name, image, port, comment]] of PERSONAL.entries()) {
    const text = webApp({ name, namespace: 'personal-services', image, port, comment, priority: i % 3 === 0 ? 'homelab-important' : 'homelab-best-effort' })
    f[`${base}/personal-services/${name}.yaml`] = i % 5 === 2 ? crlf(text) : text
  }
  f[`${base}/personal-services/filebrowser.yaml`] = webApp({ name: 'filebrowser', namespace: 'personal-services', image: 'docker.io/filebrowser/filebrowser:v2.32.0', port: 80, comment: '共享文件（NFS）', priority: 'homelab-important', claim: 'shared-data' })
  f[`${base}/personal-services/homepage-config.yaml`] = `apiVersion: v1
kind: ConfigMap
metadata: {name: homepage-links, namespace: personal-services}
data:
  links.yaml: |
    - 工具:
        - it-tools: {href: "https://tools.home.arpa"}
        - cyberchef: {href: "https://chef.home.arpa"}
`
  f[`${base}/dev-tools/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: dev-tools
resources:
${DEV_TOOLS.map(([n]) => `  - ${n}.yaml`).join('\n')}
  - rbac.yaml
`
  for (const [name, image, port] of DEV_TOOLS) f[`${base}/dev-tools/${name}.yaml`] = webApp({ name, namespace: 'dev-tools', image, port })
  f[`${base}/dev-tools/rbac.yaml`] = `apiVersion: v1
kind: ServiceAccount
metadata: {name: code-server}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: code-server}
rules:
  - {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: code-server}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: code-server}
subjects: [{kind: ServiceAccount, name: code-server, namespace: dev-tools}]
`
  f[`${base}/family/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: family
resources:
${FAMILY.map(([n]) => `  - ${n}.yaml`).join('\n')}
  - pdb.yaml
`
  for (const [name, image, port] of FAMILY) f[`${base}/family/${name}.yaml`] = webApp({ name, namespace: 'family', image, port, comment: '家里人在用，别随便重启', priority: 'homelab-important' })
  f[`${base}/family/pdb.yaml`] = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: mealie
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: mealie
`
  f[`${base}/network/ingresses.yaml`] = `# Traefik (k3s 自带) 的 Ingress
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: tools
  namespace: personal-services
spec:
  ingressClassName: traefik
  rules:
${['it-tools', 'cyberchef', 'excalidraw', 'stirling-pdf', 'filebrowser'].map((n) => `    - host: ${n}.home.arpa
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: ${n}, port: { name: http } } } }`).join('\n')}
`
  f[`${base}/network/policies.yaml`] = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: same-namespace-and-traefik
  namespace: personal-services
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {}
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: kube-system}
`
  return f
}

/** Apps that are their own Kustomize Applications, each pinned by digest: [name, image, tag, digest, port]. */
const PINNED: [string, string, string, string, number][] = [
  ['vaultwarden', 'docker.io/vaultwarden/server', '1.33.2', 'sha256:87edb99945da91bd7504ac1435495595af2e89ad2c7adc151ae5bf091ec8baf2', 80],
  ['miniflux', 'docker.io/miniflux/miniflux', '2.2.8', 'sha256:1a9f0d8b2b5e1c4c38e6a7e0c96c79e42b0b1f1b3c1b2e4dbd8e7a5c9e3f1d20', 8080],
  ['linkding', 'docker.io/sissbruecker/linkding', '1.39.1', 'sha256:5c2b0a0e8d0b9ff16fa1e4b5a73ac0a9d4c2e1e44a41b9f3e0d87c6f7b2a9e11', 9090],
  ['audiobookshelf', 'ghcr.io/advplyr/audiobookshelf', '2.20.0', 'sha256:e0c3d7e1a1f5b3c6d2e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0', 80],
]

function pinnedApps(): Record<string, string> {
  const f: Record<string, string> = {}
  for (const [i, [name, image, tag, digest, port]] of PINNED.entries()) {
    const dir = `k8s/apps/${name}`
    f[`${dir}/kustomization.yaml`] = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${name}
resources:
  - deployment.yaml
images:
  # 钉死在这个 digest：${tag} 之后的版本有数据迁移问题，不要回滚，也不要自动升级。
  # Pinned by digest on purpose. Do not roll back past this pin (the database was migrated).
  - name: ${image}
    newTag: ${tag}
    digest: ${digest}
`
    const text = webApp({ name, namespace: name, image: `${image}:${tag}`, port, claim: `${name}-data` }) + `---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}-data
  namespace: ${name}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources: { requests: { storage: 2Gi } }
`
    f[`${dir}/deployment.yaml`] = i === 1 ? crlf(text) : text
    f[`argocd/apps/services/${name}.yaml`] = app({ name, path: dir, namespace: name, dest: i % 2 === 0 ? toHomelabByServer : toHomelabByName, extraSource: '\n    kustomize:\n      commonAnnotations:\n        homelab/owner: mei' })
  }
  return f
}

/** Plain Directory apps on homelab: [name, image, port, dest]. */
const PLAIN: [string, string, number, Dest][] = [
  ['adguard', 'docker.io/adguard/adguardhome:v0.107.59', 3000, toHomelabByServer],
  ['syncthing', 'docker.io/syncthing/syncthing:1.29.3', 8384, toHomelabByName],
  ['navidrome', 'docker.io/deluan/navidrome:0.55.2', 4533, toHomelabByServer],
  ['jellyfin', 'docker.io/jellyfin/jellyfin:10.10.7', 8096, toHomelabByName],
  ['qbittorrent', 'lscr.io/linuxserver/qbittorrent:5.0.4', 8080, toHomelabByServer],
  ['calibre-web', 'lscr.io/linuxserver/calibre-web:0.6.24', 8083, toHomelabByName],
  ['paperless', 'ghcr.io/paperless-ngx/paperless-ngx:2.15.3', 8000, toHomelabByServer],
  ['freshrss', 'docker.io/freshrss/freshrss:1.26.1', 80, toHomelabByName],
  ['gitea', 'docker.io/gitea/gitea:1.23.7', 3000, toHomelabByServer],
  ['uptime-kuma', 'docker.io/louislam/uptime-kuma:1.23.16', 3001, toHomelabByName],
  ['mosquitto', 'docker.io/library/eclipse-mosquitto:2.0.21', 1883, toHomelabByName],
  ['n8n', 'docker.io/n8nio/n8n:1.91.2', 5678, toHomelabByServer],
  ['ntfy', 'docker.io/binwiederhier/ntfy:v2.11.0', 80, toHomelabByName],
  ['home-assistant', 'ghcr.io/home-assistant/home-assistant:2025.4.4', 8123, toHomelabByServer],
]

function plainApps(): Record<string, string> {
  const f: Record<string, string> = {}
  for (const [i, [name, image, port, dest]] of PLAIN.entries()) {
    f[`k8s/apps/${name}/${name}.yaml`] = webApp({ name, namespace: name, image, port })
    const text = app({ name, path: `k8s/apps/${name}`, namespace: name, dest })
    f[`argocd/apps/services/${name}.yaml`] = i % 4 === 3 ? crlf(text) : text
  }
  return f
}

const files: Record<string, string> = {
  'README.md': `# homelab

两台 k3s：控制面（跑 Argo CD）和 homelab（跑应用，10.10.0.5）。

- \`kubectl apply -f bootstrap/\` 一次，root 应用负责其余的一切。
- Vault 跑在 homelab 上，NodePort 30820；控制面的 ESO 通过它取密钥。
- nfs-client 存储类是手工装的（nfs-subdir-external-provisioner），不在仓库里。
`,
  'bootstrap/project.yaml': `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: homelab
  namespace: argocd
spec:
  description: 家庭实验室
  sourceRepos:
    - ${REPO}
    - https://prometheus-community.github.io/helm-charts
    - https://helm.releases.hashicorp.com
    - https://charts.external-secrets.io
  destinations:
    - { namespace: '*', server: ${IN_CLUSTER} }
    - { namespace: '*', server: ${HOMELAB_SERVER} }
    - { namespace: '*', name: homelab }
  clusterResourceWhitelist:
    - { group: '*', kind: '*' }
`,
  'bootstrap/root.yaml': `# 根应用：递归同步 argocd/ 下的一切（archive/ 里是停用的应用）。
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: argocd
    directory:
      recurse: true
      exclude: '{archive/*,*.md}'
  destination:
    server: ${IN_CLUSTER}
    namespace: argocd
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
  'argocd/README.md': 'Every Application of the homelab; `archive/` holds apps switched off (excluded by the root app).\n',
  'argocd/archive/jellyseerr.yaml': app({ name: 'jellyseerr', path: 'k8s/archive/jellyseerr', namespace: 'jellyseerr', dest: toHomelabByName, comment: '停用：不再需要（root 应用排除了 archive/）' }),
  // The remote cluster, registered with Argo CD: the Secret is made by ESO from Vault.
  'argocd/clusters/homelab.yaml': `# homelab 集群注册到 Argo CD：Secret 由 ESO 从 Vault 生成（证书和 token 不进 git）。
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: cluster-homelab
  namespace: argocd
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: cluster-homelab
    creationPolicy: Owner
    template:
      metadata:
        labels:
          argocd.argoproj.io/secret-type: cluster
      data:
        name: homelab
        server: ${HOMELAB_SERVER}
        config: |
          {"bearerToken": "{{ .token }}", "tlsClientConfig": {"insecure": false, "caData": "{{ .ca }}"}}
  data:
    - secretKey: token
      remoteRef: { key: secret/argocd/clusters/homelab, property: token }
    - secretKey: ca
      remoteRef: { key: secret/argocd/clusters/homelab, property: ca }
`,
  'argocd/apps/infra/external-secrets.yaml': chartApp({ name: 'external-secrets', repo: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.16.2', namespace: 'external-secrets', dest: inCluster, values: 'installCRDs: true\n', comment: '控制面上的 ESO' }),
  'argocd/apps/infra/eso-config.yaml': app({ name: 'eso-config', path: 'infra/eso', namespace: 'external-secrets', dest: inCluster, wave: -1 }),
  'argocd/apps/infra/vault.yaml': chartApp({ name: 'vault', repo: 'https://helm.releases.hashicorp.com', chart: 'vault', version: '0.30.0', namespace: 'vault', dest: toHomelabByServer, comment: 'Vault 在 homelab 上；控制面经 NodePort 30820 访问', values: `server:
  dataStorage: { storageClass: local-path, size: 5Gi }
  service:
    type: NodePort
    nodePort: 30820
ui:
  enabled: true
` }),
  'argocd/apps/infra/kube-prometheus-stack.yaml': chartApp({ name: 'kube-prometheus-stack', repo: 'https://prometheus-community.github.io/helm-charts', chart: 'kube-prometheus-stack', version: '75.15.1', namespace: 'monitoring', dest: inCluster, values: `grafana:
  admin: { existingSecret: grafana-admin }
prometheus:
  prometheusSpec:
    retention: 15d
    ruleSelectorNilUsesHelmValues: false
` }),
  'argocd/apps/infra/monitoring-rules.yaml': app({ name: 'monitoring-rules', path: 'infra/monitoring', namespace: 'monitoring', dest: inCluster }),
  'argocd/apps/infra/cloudflared.yaml': app({ name: 'cloudflared', path: 'infra/cloudflared', namespace: 'cloudflared', dest: inCluster }),
  'argocd/apps/infra/node-tuning.yaml': app({ name: 'node-tuning', path: 'infra/node-tuning', namespace: 'kube-system', dest: toHomelabByName, comment: 'homelab 节点的 sysctl 调整' }),
  'argocd/apps/services/homelab-apps.yaml': app({ name: 'homelab-apps', path: 'k8s/homelab-apps', namespace: 'personal-services', dest: toHomelabByName, comment: '个人服务：一个大的 Kustomize 树', wave: 10 }),
  'argocd/apps/services/tools.yaml': app({ name: 'tools', path: 'k8s/tools', namespace: 'tools', dest: toHomelabByName, comment: '小工具：整个目录（没有 include 列表）' }),
  'argocd/apps/services/database.yaml': app({ name: 'database', path: 'k8s/database', namespace: 'database', dest: toHomelabByServer, selfHeal: false }),
  'argocd/apps/services/grafana-secrets.yaml': app({ name: 'grafana-secrets', path: 'infra/grafana-secrets', namespace: 'monitoring', dest: inCluster }),
  ...pinnedApps(),
  ...plainApps(),
  ...bigTree(),
  'infra/eso/cluster-secret-store.yaml': `# 控制面的 ESO 通过 homelab 的 NodePort 访问 Vault
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: ${HOMELAB_VAULT_URL}
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          namespace: external-secrets
          key: token
`,
  'infra/monitoring/argocd-rules.yaml': `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: argocd
  namespace: monitoring
  labels:
    release: kube-prometheus-stack
spec:
  groups:
    - name: argocd
      rules:
        - alert: ArgoAppOutOfSync
          expr: argocd_app_info{sync_status!="Synced"} == 1
          for: 30m
          labels: {severity: warning}
          annotations:
            summary: '{{ $labels.name }} 未同步超过 30 分钟'
`,
  'infra/grafana-secrets/grafana-admin.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: grafana-admin
  namespace: monitoring
spec:
  refreshInterval: 1h
  secretStoreRef: {kind: ClusterSecretStore, name: vault-backend}
  target: {name: grafana-admin}
  data:
    - {secretKey: admin-user, remoteRef: {key: secret/homelab/grafana, property: admin-user}}
    - {secretKey: admin-password, remoteRef: {key: secret/homelab/grafana, property: admin-password}}
`,
  'infra/cloudflared/cloudflared.yaml': crlf(`# Cloudflare Tunnel：对外只开这一个口
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: tunnel-token
  namespace: cloudflared
spec:
  refreshInterval: 1h
  secretStoreRef: &store
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: tunnel-token
  data:
    - secretKey: token
      remoteRef:
        key: secret/homelab/cloudflared
        property: token
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cloudflared
  namespace: cloudflared
spec:
  replicas: 2
  selector:
    matchLabels: {app: cloudflared}
  template:
    metadata:
      labels: {app: cloudflared}
    spec:
      containers:
        - name: cloudflared
          image: docker.io/cloudflare/cloudflared:2025.4.0
          args: [tunnel, --no-autoupdate, run]
          env:
            - name: TUNNEL_TOKEN
              valueFrom:
                secretKeyRef: {name: tunnel-token, key: token}
`),
  'infra/node-tuning/sysctl.yaml': `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: sysctl-inotify
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: sysctl-inotify}
  template:
    metadata:
      labels: {app: sysctl-inotify}
    spec:
      initContainers:
        - name: sysctl
          image: docker.io/library/busybox:1.37
          command: [sh, -c, "sysctl -w fs.inotify.max_user_watches=524288"]
          securityContext: {privileged: true}
      containers:
        - name: pause
          image: registry.k8s.io/pause:3.10
`,
  'k8s/tools/squoosh.yaml': `# squoosh：图片压缩（Docker Hub 镜像，版本号标签）
apiVersion: apps/v1
kind: Deployment
metadata:
  name: squoosh
  namespace: tools
  labels:
    app: squoosh
spec:
  replicas: 1
  selector:
    matchLabels:
      app: squoosh
  template:
    metadata:
      labels:
        app: squoosh
    spec:
      containers:
        - name: squoosh
          image: dko0/squoosh:1.12.0
          ports:
            - containerPort: 8080
              name: http
---
apiVersion: v1
kind: Service
metadata:
  name: squoosh
  namespace: tools
spec:
  selector:
    app: squoosh
  ports:
    - name: http
      port: 80
      targetPort: http
`,
  'k8s/tools/jsoncrack.yaml': webApp({ name: 'jsoncrack', namespace: 'tools', image: 'docker.io/shokohsc/jsoncrack:v3.2.0', port: 8080, comment: 'JSON 可视化' }),
  'k8s/archive/jellyseerr/jellyseerr.yaml': webApp({ name: 'jellyseerr', namespace: 'jellyseerr', image: 'docker.io/fallenbagel/jellyseerr:2.5.2', port: 5055, comment: '停用' }),
  'k8s/tools/notes.txt': '这个目录没有 include 列表：里面的每个 YAML 都会被同步。\n',
  'k8s/database/postgres.yaml': `apiVersion: v1
kind: Service
metadata:
  name: postgres
  namespace: database
spec:
  clusterIP: None
  selector: {app.kubernetes.io/name: postgres}
  ports: [{name: postgres, port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: database
spec:
  serviceName: postgres
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: postgres}
  template:
    metadata:
      labels: {app.kubernetes.io/name: postgres}
    spec:
      containers:
        - name: postgres
          image: docker.io/library/postgres:16.8
          # homelab 集群没有 ESO：密码在手工建的 Secret 里
          envFrom: [{secretRef: {name: postgres-local, optional: true}}]
          ports: [{containerPort: 5432, name: postgres}]
          volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: local-path
        resources: {requests: {storage: 10Gi}}
`,
}

export const homelabToday: CorpusShape = {
  name: 'homelab-today',
  shape: 'two clusters (Argo CD in-cluster, apps on `homelab` by server URL and by name, cluster Secret from an ExternalSecret, Vault on homelab via NodePort); root app-of-apps (recurse + exclude); it-tools in a ~40-entry Kustomize tree; digest-pinned Kustomize apps; Directory app without include; ResourceQuota/LimitRange/PriorityClass; nfs-client claim',
  repoUrl: REPO,
  imageTag: TAG,
  files,
  settings: {
    GITHUB_USERNAME: 'meirongdev',
    APP_NAME: 'it-tools',
    APP_NAMESPACE: 'personal-services',
  },
  needs: ['app-of-apps', 'multi-cluster', 'repo-model'],
  clusters: { homelab: HOMELAB_SERVER },
  vault: { cluster: 'homelab', url: HOMELAB_VAULT_URL },
  onboard: ['it-tools', 'squoosh'],
  storageClassesOutOfBand: ['nfs-client'],
}
