{{/* The namespace every namespaced object goes to. */}}
{{- define "rampart.namespace" -}}
{{- required "namespace.name is required" .Values.namespace.name -}}
{{- end -}}

{{/* Labels of one component: the same two the plain manifests carry (selectors use them). */}}
{{- define "rampart.labels" -}}
app.kubernetes.io/name: rampart
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{- define "rampart.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* A cluster-scoped object's name: the prefix, then the suffix given. */}}
{{- define "rampart.clusterName" -}}
{{ .root.Values.clusterResourcePrefix }}-{{ .suffix }}
{{- end -}}
