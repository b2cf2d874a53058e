{{/* The chart's name, overridable. */}}
{{- define "rag-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "rag-app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rag-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rag-app.labels" -}}
helm.sh/chart: {{ include "rag-app.chart" . }}
{{ include "rag-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Every pod of the release (the NetworkPolicy's selector). */}}
{{- define "rag-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rag-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The server's pods only: what the Deployment, Service, HPA, PDB and spread count.
     Jobs and CronJobs carry another component, so they are never counted as replicas. */}}
{{- define "rag-app.serverSelectorLabels" -}}
{{ include "rag-app.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "rag-app.serviceAccountName" -}}
{{- .Values.serviceAccount.name }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "rag-app.image" -}}
{{- $repository := required "image.repository is required" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The pod's and container's security settings, shared by the Deployment and the Job. */}}
{{- define "rag-app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "rag-app.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The ingestion workers: their own name, so the API's Service, PDB and HPA never select them. */}}
{{- define "rag-app.workerName" -}}
{{- printf "%s-worker" (include "rag-app.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rag-app.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "rag-app.name" . }}-worker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "rag-app.workerLabels" -}}
helm.sh/chart: {{ include "rag-app.chart" . }}
{{ include "rag-app.workerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
