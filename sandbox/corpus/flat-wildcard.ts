// Corpus shape "flat-wildcard": no root app; the operator applies clusters/home/argocd/*.yaml by hand.
// The app that runs it-tools syncs its folder with `include: '*.yaml'` and an `exclude:` brace glob
// (the secrets beside it belong to vault-eso); a multi-source Helm app reads values through `$values`;
// a Kustomize app runs a LoadBalancer Service (k3s servicelb) and PVCs on the default StorageClass;
// one manifest has CRLF line endings, one ConfigMap is written in flow style.
import { crlf, type CorpusShape } from './build.ts'

const REPO = 'https://github.com/meirongdev/homelab-ops.git'
const TAG = 'sha-51be0a7'

const files: Record<string, string> = {
  'README.md': '# homelab-ops\n\n`kubectl apply -f clusters/home/argocd/` after installing Argo CD.\n',
  'clusters/home/argocd/project.yaml': `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: home
  namespace: argocd
spec:
  sourceRepos: ['${REPO}', 'https://grafana.github.io/helm-charts']
  destinations: [{namespace: '*', server: 'https://kubernetes.default.svc'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
  namespaceResourceWhitelist: [{group: '*', kind: '*'}]
`,
  'clusters/home/argocd/personal-services.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: personal-services
  namespace: argocd
spec:
  project: home
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: clusters/home/services
    directory:
      include: '*.yaml'
      # Vault and ESO files in this folder belong to vault-eso.
      exclude: '{vault-*.yaml,*-external-secret.yaml}'
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
  'clusters/home/argocd/vault-eso.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: vault-eso
  namespace: argocd
spec:
  project: home
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: clusters/home/services
    directory:
      include: "{vault-eso-config.yaml,cloudflare-external-secret.yaml,grafana-external-secret.yaml,paperless-external-secret.yaml}"
  destination:
    server: https://kubernetes.default.svc
    namespace: external-secrets
  syncPolicy:
    automated:
      prune: true
`,
  'clusters/home/argocd/grafana.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: grafana
  namespace: argocd
spec:
  project: home
  sources:
    - repoURL: https://grafana.github.io/helm-charts
      chart: grafana
      targetRevision: 9.3.0
      helm:
        valueFiles:
          - $values/clusters/home/values/grafana.yaml
    - repoURL: ${REPO}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: monitoring
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`,
  'clusters/home/argocd/media.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: media
  namespace: argocd
spec:
  project: home
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: clusters/home/media
  destination:
    server: https://kubernetes.default.svc
    namespace: media
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
`,
  'clusters/home/argocd/paperless.yaml': `# paperless' namespace was made by hand (kubectl create ns paperless) for a restore.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: paperless
  namespace: argocd
spec:
  project: home
  source:
    repoURL: ${REPO}
    targetRevision: main
    path: clusters/home/paperless
    directory:
      include: '*.yaml'
      exclude: 'notes-*'
  destination:
    server: https://kubernetes.default.svc
    namespace: paperless
  syncPolicy:
    automated:
      prune: true
`,
  'clusters/home/values/grafana.yaml': `admin:
  existingSecret: grafana-admin
  userKey: admin-user
  passwordKey: admin-password
persistence:
  enabled: true
  storageClassName: local-path
`,
  'clusters/home/services/it-tools.yaml': `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
  namespace: personal-services
  labels:
    app: it-tools
spec:
  replicas: 1
  selector:
    matchLabels:
      app: it-tools
  template:
    metadata:
      labels:
        app: it-tools
    spec:
      containers:
        - name: it-tools
          image: 'ghcr.io/meirongdev/it-tools:${TAG}'
          ports:
            - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: it-tools
  namespace: personal-services
spec:
  selector:
    app: it-tools
  ports:
    - port: 80
      targetPort: 80
`,
  // Saved on Windows: CRLF line endings.
  'clusters/home/services/uptime-kuma.yaml': crlf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: uptime-kuma
  namespace: personal-services
spec:
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: uptime-kuma
  namespace: personal-services
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: uptime-kuma
  template:
    metadata:
      labels:
        app: uptime-kuma
    spec:
      containers:
        - name: uptime-kuma
          image: docker.io/louislam/uptime-kuma:1.23.16
          ports:
            - containerPort: 3001
          volumeMounts:
            - name: data
              mountPath: /app/data
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: uptime-kuma
---
apiVersion: v1
kind: Service
metadata:
  name: uptime-kuma
  namespace: personal-services
spec:
  selector:
    app: uptime-kuma
  ports:
    - port: 3001
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: uptime-kuma
  namespace: personal-services
  annotations:
    traefik.ingress.kubernetes.io/router.entrypoints: websecure
spec:
  ingressClassName: traefik
  rules:
    - host: status.home.example.net
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: uptime-kuma
                port:
                  number: 3001
`),
  'clusters/home/services/default-deny.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-same-namespace
  namespace: personal-services
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {}
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
`,
  'clusters/home/services/vault-eso-config.yaml': `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: "http://vault.vault.svc:8200"
      path: "secret"
      version: "v2"
      auth:
        tokenSecretRef: {name: vault-token, namespace: external-secrets, key: token}
`,
  'clusters/home/services/cloudflare-external-secret.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: cloudflare-api-token
  namespace: external-secrets
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: cloudflare-api-token
  data:
    - secretKey: api-token
      remoteRef:
        key: secret/home/cloudflare
        property: api-token
`,
  'clusters/home/services/grafana-external-secret.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: grafana-admin
  namespace: monitoring
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: grafana-admin
    template:
      data:
        admin-user: admin
        admin-password: "{{ .password }}"
  data:
    - secretKey: password
      remoteRef:
        key: secret/home/grafana
        property: password
`,
  'clusters/home/services/paperless-external-secret.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: paperless-env
  namespace: paperless
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: paperless-env
  dataFrom:
    - extract:
        key: secret/home/paperless
`,
  'clusters/home/media/kustomization.yaml': `namespace: media
commonLabels:
  app.kubernetes.io/part-of: media
resources:
  - jellyfin.yaml
  - storage.yaml
`,
  'clusters/home/media/jellyfin.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: jellyfin
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {app: jellyfin}
  template:
    metadata:
      labels: {app: jellyfin}
    spec:
      securityContext: {fsGroup: 1000}
      containers:
        - name: jellyfin
          image: docker.io/jellyfin/jellyfin:10.10.7
          ports: [{name: http, containerPort: 8096}]
          volumeMounts:
            - {name: config, mountPath: /config}
            - {name: media, mountPath: /media, readOnly: true}
      volumes:
        - name: config
          persistentVolumeClaim: {claimName: jellyfin-config}
        - name: media
          persistentVolumeClaim: {claimName: media-library}
---
apiVersion: v1
kind: Service
metadata:
  name: jellyfin
spec:
  type: LoadBalancer
  selector: {app: jellyfin}
  ports:
    - {name: http, port: 8096, targetPort: http}
`,
  'clusters/home/media/storage.yaml': `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: jellyfin-config
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: media-library
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources: {requests: {storage: 200Gi}}
`,
  'clusters/home/paperless/paperless.yaml': `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis
spec:
  serviceName: redis
  replicas: 1
  selector:
    matchLabels: &redis {app: redis}
  template:
    metadata:
      labels: *redis
    spec:
      containers:
        - name: redis
          image: docker.io/library/redis:7.4-alpine
          ports: [{containerPort: 6379}]
---
apiVersion: v1
kind: Service
metadata:
  name: redis
spec:
  clusterIP: None
  selector: {app: redis}
  ports: [{port: 6379}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: paperless
spec:
  replicas: 1
  selector:
    matchLabels: &paperless {app: paperless}
  template:
    metadata:
      labels: *paperless
    spec:
      containers:
        - name: paperless
          image: ghcr.io/paperless-ngx/paperless-ngx:2.17.1
          envFrom:
            - configMapRef: {name: paperless-config}
            - secretRef: {name: paperless-env}
          ports: [{containerPort: 8000}]
`,
  'clusters/home/paperless/config.yaml': `{apiVersion: v1, kind: ConfigMap, metadata: {name: paperless-config}, data: {PAPERLESS_REDIS: "redis://redis:6379", PAPERLESS_TIME_ZONE: Europe/Berlin, PAPERLESS_OCR_LANGUAGE: deu+eng}}
`,
  'clusters/home/paperless/notes-restore.md': 'Restored from backup on 2024-11-02; namespace created by hand.\n',
}

export const flatWildcard: CorpusShape = {
  name: 'flat-wildcard',
  shape: "Applications applied by hand; include '*.yaml' with exclude; multi-source Helm with $values; CRLF; flow style; LoadBalancer Service",
  repoUrl: REPO,
  imageTag: TAG,
  files,
  settings: {
    GITHUB_USERNAME: 'meirongdev',
    APPPROJECT_FILE: 'clusters/home/argocd/project.yaml',
    APPLICATIONS_DIR: 'clusters/home/argocd',
    PERSONAL_SERVICES_APP_FILE: 'clusters/home/argocd/personal-services.yaml',
    VAULT_ESO_APP_FILE: 'clusters/home/argocd/vault-eso.yaml',
    MANIFESTS_DIR: 'clusters/home/services',
    VALUES_DIR: 'clusters/home/values',
  },
  needs: ['wildcard-include'],
}
