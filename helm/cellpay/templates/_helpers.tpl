{{/*
Names and labels. Selector labels are the minimal set that identifies one workload
(name, instance, component) and never change for the life of a release; everything else,
including cellpay.io/cell, goes on metadata only.
*/}}

{{- define "cellpay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name; short enough that "<prefix>-relay-cell-999" fits in 63. */}}
{{- define "cellpay.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "cellpay.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cellpay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object of the release. */}}
{{- define "cellpay.commonLabels" -}}
helm.sh/chart: {{ include "cellpay.chart" . }}
app.kubernetes.io/name: {{ include "cellpay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cellpay
cellpay.io/region: {{ .Values.region.name }}
{{- end -}}

{{/* Selects every pod of the release (NetworkPolicy default deny, ServiceMonitor). */}}
{{- define "cellpay.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "cellpay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Selector labels of one component. Call with (dict "root" $ "component" "gateway").
The component names the workload (gateway, cell-1, relay-cell-1, migrate-cell-1).
*/}}
{{- define "cellpay.selectorLabels" -}}
{{ include "cellpay.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Full labels of one component's objects and pods. Call with
(dict "root" $ "component" "cell-1" "cell" "cell-1" "role" "primary"); cell and role are optional.
*/}}
{{- define "cellpay.labels" -}}
{{ include "cellpay.commonLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- if .cell }}
cellpay.io/cell: {{ .cell }}
{{- end }}
{{- if .role }}
cellpay.io/role: {{ .role }}
{{- end }}
{{- end -}}

{{/*
Labels of pod templates: like cellpay.labels, without the chart and app versions, so that a new
chart version alone does not restart every pod (deploy/rollout holds back cells by image only).
Same arguments as cellpay.labels.
*/}}
{{- define "cellpay.podLabels" -}}
{{ include "cellpay.selectorLabels" . }}
app.kubernetes.io/part-of: cellpay
cellpay.io/region: {{ .root.Values.region.name }}
{{- if .cell }}
cellpay.io/cell: {{ .cell }}
{{- end }}
{{- if .role }}
cellpay.io/role: {{ .role }}
{{- end }}
{{- end -}}

{{- define "cellpay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cellpay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image tag the chart deploys by default: image.tag, else the chart's appVersion. */}}
{{- define "cellpay.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/*
The image reference of one component. Call with (dict "root" $ "heldBack" true|false): a held-back
component runs rollout.previousImageTag during a staged rollout; a digest pins everything else.
*/}}
{{- define "cellpay.image" -}}
{{- $values := .root.Values -}}
{{- if .heldBack -}}
{{- printf "%s:%s" $values.image.repository $values.rollout.previousImageTag -}}
{{- else if $values.image.digest -}}
{{- printf "%s@%s" $values.image.repository $values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $values.image.repository (include "cellpay.imageTag" .root) -}}
{{- end -}}
{{- end -}}

{{/*
Pod-level security: non-root, no service account token, runtime default seccomp. The service
account is set by each workload: hooks run before the chart's ServiceAccount exists.
*/}}
{{- define "cellpay.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Container-level security: read-only root filesystem, no privileges. */}}
{{- define "cellpay.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* Environment every process shares. */}}
{{- define "cellpay.commonEnv" -}}
- name: CELLPAY_SLOT_COUNT
  value: {{ .Values.slotCount | quote }}
- name: CELLPAY_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.globalZone.existingSecret }}
      key: {{ .Values.globalZone.redisUrlKey }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: NODE_ENV
  value: production
{{- end -}}

{{/* Liveness and readiness on the ops port (docs/processes.md): cheap, answered from memory. */}}
{{- define "cellpay.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: ops }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /healthz, port: ops }
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: ops }
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
{{- end -}}

{{/* A writable /tmp for a read-only root filesystem. */}}
{{- define "cellpay.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{/*
Expands a cell's slot list (integers and "a-b" inclusive ranges) into a JSON list of integers.
Call with the cell; the range bounds are checked by cellpay.validate.
*/}}
{{- define "cellpay.cellSlots" -}}
{{- $slots := list -}}
{{- range .slots -}}
{{- if kindIs "string" . -}}
{{- $bounds := splitList "-" . -}}
{{- $low := index $bounds 0 | atoi -}}
{{- $high := index $bounds 1 | atoi -}}
{{- if gt $low $high -}}
{{- fail (printf "cell slot range %q runs backwards (low end above high end)" .) -}}
{{- end -}}
{{- range $slot := untilStep $low (add $high 1 | int) 1 -}}
{{- $slots = append $slots $slot -}}
{{- end -}}
{{- else -}}
{{- $slots = append $slots (int .) -}}
{{- end -}}
{{- end -}}
{{- toJson $slots -}}
{{- end -}}

{{/*
The cells this region runs: a JSON list of {cell, role} where role is "primary" (home region)
or "standby" (standby region), in the order of the cell map.
*/}}
{{- define "cellpay.regionCells" -}}
{{- $region := .Values.region.name -}}
{{- $cells := list -}}
{{- range .Values.cells -}}
{{- if eq .homeRegion $region -}}
{{- $cells = append $cells (dict "cell" . "role" "primary") -}}
{{- else if eq .standbyRegion $region -}}
{{- $cells = append $cells (dict "cell" . "role" "standby") -}}
{{- end -}}
{{- end -}}
{{- toJson $cells -}}
{{- end -}}

{{/* NetworkPolicy egress rules to a list of {cidr, port} endpoints. */}}
{{- define "cellpay.egressTo" -}}
{{- range . }}
- to:
    - ipBlock:
        cidr: {{ .cidr }}
  ports:
    - { port: {{ .port }}, protocol: TCP }
{{- end }}
{{- end -}}
