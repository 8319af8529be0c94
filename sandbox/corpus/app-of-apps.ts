// Corpus shape "app-of-apps": a root Application (applied by hand from bootstrap/) renders the
// child Applications in argocd/apps; children mix Directory apps with brace-glob includes, a
// Kustomize app (RBAC, configMapGenerator, a Gateway API HTTPRoute), a plain Directory app whose
// namespace the operator made by hand (StatefulSet with volumeClaimTemplates, CronJob, NetworkPolicy,
// PodDisruptionBudget), infrastructure (Gateway, ReferenceGrant, k3s HelmChartConfig) and a public
// Helm chart. ExternalSecrets for three namespaces sit in one `kind: List` file with YAML anchors.
import type { CorpusShape } from './build.ts'

const REPO = 'https://github.com/meirongdev/k3s-homelab'
const TAG = 'sha-9c1e2d4'

const files: Record<string, string> = {
  'README.md': '# k3s-homelab\n\nBootstrap: `kubectl apply -f bootstrap/` once; the root app does the rest.\n',
  'bootstrap/project.yaml': `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: homelab
  namespace: argocd
spec:
  description: Everything in the homelab
  sourceRepos:
    - ${REPO}
    - https://prometheus-community.github.io/helm-charts
  destinations:
    - namespace: '*'
      server: https://kubernetes.default.svc
  clusterResourceWhitelist:
    - group: '*'
      kind: '*'
`,
  'bootstrap/root.yaml': `# The only Application applied by hand; it owns every file in argocd/apps.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: argocd/apps
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated: { prune: true, selfHeal: true }
`,
  'argocd/apps/personal-services.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: personal-services
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "10"
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: apps/personal
    directory:
      include: '{it-tools.yaml,notes.yaml}'
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
`,
  'argocd/apps/vault-eso.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: vault-eso
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "5"
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: apps/personal
    directory:
      include: '{cluster-secret-store.yaml,external-secrets.yaml}'
  destination:
    server: https://kubernetes.default.svc
    namespace: external-secrets
  syncPolicy:
    automated:
      prune: true
`,
  'argocd/apps/homepage.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: homepage
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: apps/homepage
  destination:
    server: https://kubernetes.default.svc
    namespace: homepage
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions: [CreateNamespace=true]
`,
  'argocd/apps/gateway.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: gateway
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: infra/gateway
    directory:
      include: '{gateway.yaml,routes.yaml,traefik-config.yaml}'
  destination:
    server: https://kubernetes.default.svc
    namespace: gateway
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
`,
  'argocd/apps/database.yaml': `# The database namespace was created by hand before Argo CD ran here (it holds a hand-made backup secret).
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: database
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: apps/database
  destination:
    server: https://kubernetes.default.svc
    namespace: database
  syncPolicy:
    automated:
      prune: true
`,
  'argocd/apps/monitoring.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: kube-prometheus-stack
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: https://prometheus-community.github.io/helm-charts
    chart: kube-prometheus-stack
    targetRevision: 75.15.1
    helm:
      releaseName: kps
      valuesObject:
        grafana:
          admin:
            existingSecret: grafana-admin
        prometheus:
          prometheusSpec:
            retention: 15d
  destination:
    server: https://kubernetes.default.svc
    namespace: monitoring
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
      - ServerSideApply=true
`,
  'apps/personal/it-tools.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
  namespace: personal-services
  labels:
    app.kubernetes.io/name: it-tools
spec:
  replicas: 1
  revisionHistoryLimit: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: it-tools
  template:
    metadata:
      labels:
        app.kubernetes.io/name: it-tools
    spec:
      containers:
        - name: it-tools
          image: ghcr.io/meirongdev/it-tools:${TAG}
          ports:
            - name: http
              containerPort: 80
          readinessProbe:
            httpGet: { path: /, port: http }
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
`,
  'apps/personal/notes.yaml': `# A note-taking app with its data on k3s local-path storage.
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes-data
  namespace: personal-services
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources:
    requests:
      storage: 2Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: notes
  namespace: personal-services
  labels: &labels
    app.kubernetes.io/name: notes
    app.kubernetes.io/part-of: personal-services
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app.kubernetes.io/name: notes
  template:
    metadata:
      labels: *labels
    spec:
      containers:
        - name: notes
          image: ghcr.io/meirongdev/notes:v0.4.1
          envFrom:
            - secretRef:
                name: notes-env
          volumeMounts:
            - name: data
              mountPath: /data
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: notes-data
---
apiVersion: v1
kind: Service
metadata:
  name: notes
  namespace: personal-services
spec:
  selector:
    app.kubernetes.io/name: notes
  ports:
    - port: 8080
      targetPort: 8080
`,
  'apps/personal/cluster-secret-store.yaml': `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: http://vault.vault.svc:8200
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          namespace: external-secrets
          key: token
`,
  'apps/personal/external-secrets.yaml': `# Every secret the homelab reads from Vault, in one list (anchors keep the store reference in one place).
apiVersion: v1
kind: List
items:
  - apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    metadata:
      name: notes-env
      namespace: personal-services
    spec:
      refreshInterval: 1h
      secretStoreRef: &store
        kind: ClusterSecretStore
        name: vault-backend
      target:
        name: notes-env
      data:
        - secretKey: NOTES_SECRET_KEY
          remoteRef:
            key: secret/homelab/notes
            property: secret-key
  - apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    metadata:
      name: grafana-admin
      namespace: monitoring
    spec:
      refreshInterval: 1h
      secretStoreRef: *store
      target:
        name: grafana-admin
      data:
        - secretKey: admin-user
          remoteRef: { key: secret/homelab/grafana, property: admin-user }
        - secretKey: admin-password
          remoteRef: { key: secret/homelab/grafana, property: admin-password }
  - apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    metadata:
      name: postgres-credentials
      namespace: database
    spec:
      refreshInterval: 24h
      secretStoreRef: *store
      target:
        name: postgres-credentials
      dataFrom:
        - extract:
            key: secret/homelab/postgres
`,
  'apps/homepage/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: homepage
labels:
  - pairs:
      app.kubernetes.io/part-of: homepage
resources:
  - rbac.yaml
  - deployment.yaml
  - httproute.yaml
configMapGenerator:
  - name: homepage-settings
    literals:
      - title=Homelab
      - theme=dark
`,
  'apps/homepage/rbac.yaml': `apiVersion: v1
kind: ServiceAccount
metadata:
  name: homepage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: homepage
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, nodes]
    verbs: [get, list]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses]
    verbs: [get, list]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [httproutes, gateways]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: homepage
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: homepage
subjects:
  - kind: ServiceAccount
    name: homepage
    namespace: homepage
`,
  'apps/homepage/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: homepage
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: homepage
  template:
    metadata:
      labels:
        app.kubernetes.io/name: homepage
    spec:
      serviceAccountName: homepage
      containers:
        - name: homepage
          image: ghcr.io/gethomepage/homepage:v1.4.6
          ports:
            - containerPort: 3000
              name: http
          envFrom:
            - configMapRef:
                name: homepage-settings
---
apiVersion: v1
kind: Service
metadata:
  name: homepage
spec:
  selector:
    app.kubernetes.io/name: homepage
  ports:
    - name: http
      port: 3000
      targetPort: http
`,
  'apps/homepage/httproute.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: homepage
spec:
  parentRefs:
    - name: homelab
      namespace: gateway
      sectionName: web
  hostnames: [home.lab.internal]
  rules:
    - matches:
        - path: { type: PathPrefix, value: / }
      backendRefs:
        - name: homepage
          port: 3000
`,
  'apps/database/postgres.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: postgres-config
data:
  postgresql.conf: |
    max_connections = 50
    shared_buffers = 128MB
---
apiVersion: v1
kind: Service
metadata:
  name: postgres
spec:
  clusterIP: None
  selector:
    app.kubernetes.io/name: postgres
  ports:
    - name: postgres
      port: 5432
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  serviceName: postgres
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: postgres
  template:
    metadata:
      labels:
        app.kubernetes.io/name: postgres
    spec:
      containers:
        - name: postgres
          image: docker.io/library/postgres:16.4
          envFrom:
            - secretRef:
                name: postgres-credentials
          ports:
            - containerPort: 5432
              name: postgres
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        storageClassName: local-path
        resources:
          requests:
            storage: 10Gi
`,
  'apps/database/policies.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: postgres-from-apps
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: postgres
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: personal-services
      ports:
        - port: 5432
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: postgres
spec:
  maxUnavailable: 0
  selector:
    matchLabels:
      app.kubernetes.io/name: postgres
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: backup
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [postgres-credentials]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: backup
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: backup }
subjects:
  - { kind: ServiceAccount, name: backup, namespace: database }
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: backup
`,
  'apps/database/backup.yaml': `apiVersion: batch/v1
kind: CronJob
metadata:
  name: postgres-backup
spec:
  schedule: "30 3 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: backup
          restartPolicy: OnFailure
          containers:
            - name: dump
              image: docker.io/library/postgres:16.4
              command: ["/bin/sh", "-c", "pg_dumpall -h postgres > /backup/all.sql"]
`,
  'infra/gateway/gateway.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: homelab
  namespace: gateway
spec:
  gatewayClassName: traefik
  listeners:
    - name: web
      protocol: HTTP
      port: 8000
      allowedRoutes:
        namespaces:
          from: All
`,
  'infra/gateway/routes.yaml': `# it-tools is served through the shared gateway; the grant lets this route reach its Service.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: it-tools
  namespace: gateway
spec:
  parentRefs:
    - name: homelab
      sectionName: web
  hostnames: ["tools.lab.internal"]
  rules:
    - backendRefs:
        - name: it-tools
          namespace: personal-services
          port: 80
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: gateway-routes
  namespace: personal-services
spec:
  from:
    - group: gateway.networking.k8s.io
      kind: HTTPRoute
      namespace: gateway
  to:
    - group: ""
      kind: Service
`,
  'infra/gateway/traefik-config.yaml': `# k3s ships Traefik as a HelmChart; this turns on its Gateway API provider.
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    providers:
      kubernetesGateway: {enabled: true}
    gateway:
      enabled: false
`,
  'infra/gateway/README.md': 'Gateway API objects: the CRDs were installed by hand (standard channel v1.2).\n',
}

export const appOfApps: CorpusShape = {
  name: 'app-of-apps',
  shape: 'root Application over argocd/apps (automated, selfHeal); Directory, Kustomize and Helm children; Gateway API; operator-made namespace',
  repoUrl: REPO,
  imageTag: TAG,
  files,
  settings: {
    GITHUB_USERNAME: 'meirongdev',
    APPPROJECT_FILE: 'bootstrap/project.yaml',
    APPLICATIONS_DIR: 'argocd/apps',
    PERSONAL_SERVICES_APP_FILE: 'argocd/apps/personal-services.yaml',
    VAULT_ESO_APP_FILE: 'argocd/apps/vault-eso.yaml',
    MANIFESTS_DIR: 'apps/personal',
    VALUES_DIR: 'values',
  },
  needs: ['app-of-apps'],
}
