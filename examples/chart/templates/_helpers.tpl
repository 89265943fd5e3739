{{/* Name of the gateway and of the chart's config object. */}}
{{- define "portkey-mini.gateway" -}}
{{- printf "%s-gateway" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "portkey-mini.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "portkey-mini.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "portkey-mini.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "portkey-mini.gateway" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
One env entry reading KEY of the config object. Call with
(dict "root" $ "name" ENV_NAME "key" KEY).
*/}}
{{- define "portkey-mini.keyRef" -}}
- name: {{ .name }}
  valueFrom:
    {{- if .root.Values.environment.secret }}
    secretKeyRef:
    {{- else }}
    configMapKeyRef:
    {{- end }}
      name: {{ include "portkey-mini.gateway" .root }}
      key: {{ .key }}
{{- end -}}
