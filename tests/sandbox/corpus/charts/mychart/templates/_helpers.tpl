{{/* Source: the Helm documentation, Chart Template Guide (`mychart`), https://helm.sh/docs/chart_template_guide/ (helm/helm-www, Apache-2.0) */}}
{{- define "mychart.labels" }}
  labels:
    generator: helm
    date: {{ now | htmlDate }}
{{- end }}
