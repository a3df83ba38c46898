{{/* The chart's name, or nameOverride. */}}
{{- define "distroless-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: fullnameOverride, else the release name when it already holds the
chart's name (helm install distroless-operator ... gives distroless-operator), else
RELEASE-CHART. Truncated to 63 characters (a DNS label).
*/}}
{{- define "distroless-operator.fullname" -}}
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

{{- define "distroless-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* What selects the operator's Pods. */}}
{{- define "distroless-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "distroless-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Every object's labels. */}}
{{- define "distroless-operator.labels" -}}
helm.sh/chart: {{ include "distroless-operator.chart" . }}
{{ include "distroless-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: distroless-operator
{{- end }}

{{/*
Exactly what the operator's code calls (config/rbac/role.yaml; a test checks they are
the same): held by a ClusterRole, or by a Role in each watched namespace.
*/}}
{{- define "distroless-operator.rules" -}}
- apiGroups: [distroless.dev]
  resources: [distrolessapps]
  verbs: [list, watch]
- apiGroups: [distroless.dev]
  resources: [distrolessapps/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* The manager's arguments, from the values. */}}
{{- define "distroless-operator.args" -}}
- run
- --leader-elect={{ .Values.leaderElection.enabled }}
- --metrics-addr=:8080
- --health-addr=:8081
{{- with .Values.watchNamespaces }}
- --namespaces={{ join "," . }}
{{- end }}
{{- with .Values.selector }}
- --selector={{ . }}
- --lease-name={{ required "leaseName is required when selector is set: each shard needs a Lease of its own (--lease-name)" $.Values.leaseName }}
{{- else }}
{{- with .Values.leaseName }}
- --lease-name={{ . }}
{{- end }}
{{- end }}
{{- with .Values.logLevel }}
- --log-level={{ . }}
{{- end }}
{{- with .Values.workers }}
- --workers={{ . }}
{{- end }}
{{- end }}
