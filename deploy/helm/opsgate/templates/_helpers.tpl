{{/* Names and labels shared by every template of the chart. */}}

{{- define "opsgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opsgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "opsgate.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "opsgate.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "opsgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "opsgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "opsgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "opsgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opsgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "opsgate.keysSecret" -}}
{{- default (printf "%s-keys" (include "opsgate.fullname" .)) .Values.keys.existingSecret -}}
{{- end -}}

{{- define "opsgate.databaseSecret" -}}
{{- default (printf "%s-database" (include "opsgate.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{- define "opsgate.usesDatabase" -}}
{{- if or .Values.database.url .Values.database.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* What every preset may read: common kinds and pod logs (never secrets). */}}
{{- define "opsgate.readRules" -}}
- apiGroups: [""]
  resources: [pods, pods/log, services, endpoints, configmaps, events, namespaces, nodes, persistentvolumeclaims, persistentvolumes, replicationcontrollers, serviceaccounts, resourcequotas, limitranges]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, replicasets, statefulsets, daemonsets, controllerrevisions]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [get, list, watch]
- apiGroups: [argoproj.io]
  resources: [rollouts, analysisruns, analysistemplates, experiments]
  verbs: [get, list, watch]
{{- end -}}

{{/* What the operator presets may change: workloads and what they are made of. Secrets are
included because Helm keeps its releases in them. */}}
{{- define "opsgate.writeRules" -}}
- apiGroups: [""]
  resources: [pods, services, configmaps, secrets, persistentvolumeclaims, serviceaccounts]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods/exec, pods/eviction]
  verbs: [create]
- apiGroups: [apps]
  resources: [deployments, deployments/scale, replicasets, replicasets/scale, statefulsets, statefulsets/scale, daemonsets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [argoproj.io]
  resources: [rollouts, rollouts/status, analysisruns, experiments]
  verbs: [get, list, watch, create, update, patch, delete]
{{- end -}}

{{- define "opsgate.extraRules" -}}
{{- with .Values.rbac.extraRules }}
{{ toYaml . }}
{{- end -}}
{{- end -}}
