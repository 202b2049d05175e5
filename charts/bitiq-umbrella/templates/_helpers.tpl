{{- define "umbrella.labels" -}}
bitiq.io/env: {{ .Values.env }}
app.kubernetes.io/part-of: bitiq-umbrella
{{- end -}}

{{- define "umbrella.syncPolicy" -}}
syncPolicy:
  automated:
    prune: true
    selfHeal: true
  syncOptions:
    - CreateNamespace=true
{{- end -}}
