{{/* The cluster's name in the mesh: required here so a wiring mistake shows (the real chart defaults it). */}}
{{- define "istiod.clusterName" -}}
{{- required "global.multiCluster.clusterName is required (the cluster's name in the mesh)" .Values.global.multiCluster.clusterName -}}
{{- end -}}
{{- define "istiod.rev" -}}
{{- .Values.revision | default "default" -}}
{{- end -}}
{{- define "istiod.labels" -}}
app: istiod
istio.io/rev: {{ include "istiod.rev" . }}
install.operator.istio.io/owning-resource: unknown
operator.istio.io/component: Pilot
app.kubernetes.io/name: istiod
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: istio
app.kubernetes.io/version: {{ .Chart.AppVersion }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
