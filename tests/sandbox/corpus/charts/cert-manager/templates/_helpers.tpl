{{/* Source: after jetstack cert-manager deploy/charts/cert-manager (v1.16), https://github.com/cert-manager/cert-manager, Apache-2.0, templates/_helpers.tpl (abridged) */}}
{{- define "cert-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cert-manager.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cert-manager.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{- define "cert-manager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that should be added on each resource */}}
{{- define "labels" -}}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "cert-manager.chart" . }}
{{- if .Values.global.commonLabels }}
{{ toYaml .Values.global.commonLabels }}
{{- end }}
{{- end -}}

{{- define "webhook.fullname" -}}
{{- printf "%s-webhook" (include "cert-manager.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cainjector.fullname" -}}
{{- printf "%s-cainjector" (include "cert-manager.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "startupapicheck.fullname" -}}
{{- printf "%s-startupapicheck" (include "cert-manager.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image of a component: its repository and the chart's appVersion as tag */}}
{{- define "image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* Labels of a component's pods: name, instance and component */}}
{{- define "component.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end -}}
