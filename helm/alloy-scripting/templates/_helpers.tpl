{{/*
Chart name, truncated to the 63 characters Kubernetes allows in names.
*/}}
{{- define "alloy-scripting.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name; the release name alone when it already contains the chart name.
*/}}
{{- define "alloy-scripting.fullname" -}}
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

{{/*
Chart name and version, for the chart label.
*/}}
{{- define "alloy-scripting.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "alloy-scripting.labels" -}}
helm.sh/chart: {{ include "alloy-scripting.chart" . }}
{{ include "alloy-scripting.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "alloy-scripting.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alloy-scripting.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the service account to use.
*/}}
{{- define "alloy-scripting.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "alloy-scripting.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret that holds ALLOY_MONGODB_URL.
*/}}
{{- define "alloy-scripting.mongodbSecretName" -}}
{{- default (include "alloy-scripting.fullname" .) .Values.mongodb.existingSecret }}
{{- end }}

{{/*
Name of the Secret that holds ALLOY_API_KEYS.
*/}}
{{- define "alloy-scripting.apiKeysSecretName" -}}
{{- default (include "alloy-scripting.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/*
Whether the chart makes its own Secret (some value is not taken from an existing Secret).
*/}}
{{- define "alloy-scripting.createSecret" -}}
{{- if or (not .Values.mongodb.existingSecret) (not .Values.auth.existingSecret) }}true{{- end }}
{{- end }}

{{/*
Replica floor, for the PodDisruptionBudget.
*/}}
{{- define "alloy-scripting.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}
