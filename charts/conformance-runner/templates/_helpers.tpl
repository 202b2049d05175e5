{{/* CronJob names longer than 52 characters are rejected: the controller appends 11 to name each Job. */}}
{{- define "runner.name" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped objects, and Roles in namespaces shared with other installs, carry the release's namespace. */}}
{{- define "runner.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "runner.name" .) | trunc 253 | trimSuffix "-" -}}
{{- end -}}

{{- define "runner.labels" -}}
app.kubernetes.io/name: conformance-runner
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: bitiq-conformance
{{- end -}}

{{- define "runner.claim" -}}
{{- .Values.reports.existingClaim | default (printf "%s-reports" (include "runner.name" .)) -}}
{{- end -}}

{{/* The suite's command line after `pytest`: the image's ENTRYPOINT options, then the values. */}}
{{- define "runner.args" -}}
- -p
- no:cacheprovider
- --report-dir=/reports
- -m
- {{ .Values.markers | quote }}
- --env={{ .Values.env }}
{{- with .Values.baseDomain }}
- --base-domain={{ . }}
{{- end }}
{{- if .Values.registryAuthSecret }}
- --registry-auth=/var/run/secrets/bitiq/registry/config.json
{{- end }}
{{- range .Values.skipChecks }}
- --skip-check={{ . }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The Job spec shared by the CronJob and the on-demand Job. */}}
{{- define "runner.jobSpec" -}}
# A failed run is a verdict (a blocking check failed), not a crash to retry.
backoffLimit: 0
activeDeadlineSeconds: {{ .Values.activeDeadlineSeconds }}
template:
  metadata:
    labels:
      {{- include "runner.labels" . | nindent 6 }}
  spec:
    restartPolicy: Never
    serviceAccountName: {{ include "runner.name" . }}
    # The default token volume would carry a token valid for an hour or more; the projected volume
    # below mounts one of tokenExpirationSeconds, and nothing else the pod does not read.
    automountServiceAccountToken: false
    enableServiceLinks: false
    securityContext:
      {{- toYaml (merge (dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault")) .Values.podSecurityContext) | nindent 6 }}
    containers:
      - name: suite
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
        imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
        # pytest's own exit status ends the pod (so a failing gate is a failed Job); the last line
        # of the log is the gate's one-line summary. A gate.json left by an earlier run must not
        # stand in for this one's when the suite cannot start.
        command:
          - /bin/sh
          - -c
          - |
            rm -f /reports/gate.json
            pytest "$@"
            status=$?
            python -m fixtures.reporting /reports/gate.json
            exit "$status"
          - conformance-runner
        args:
          {{- include "runner.args" . | nindent 10 }}
        securityContext:
          allowPrivilegeEscalation: false
          runAsNonRoot: true
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
        resources:
          {{- toYaml .Values.resources | nindent 10 }}
        volumeMounts:
          # The in-cluster configuration of the Kubernetes client reads token, ca.crt and namespace here.
          - name: kube-api-access
            mountPath: /var/run/secrets/kubernetes.io/serviceaccount
            readOnly: true
          - name: tmp
            mountPath: /tmp
          - name: reports
            mountPath: /reports
          {{- if .Values.registryAuthSecret }}
          - name: registry-auth
            mountPath: /var/run/secrets/bitiq/registry
            readOnly: true
          {{- end }}
    volumes:
      - name: kube-api-access
        projected:
          sources:
            - serviceAccountToken:
                path: token
                expirationSeconds: {{ .Values.tokenExpirationSeconds }}
            - configMap:
                # Published in every namespace by the kube-controller-manager.
                name: kube-root-ca.crt
                items:
                  - key: ca.crt
                    path: ca.crt
            - downwardAPI:
                items:
                  - path: namespace
                    fieldRef:
                      apiVersion: v1
                      fieldPath: metadata.namespace
      # The root filesystem is read-only: the git probe's clones and HOME (/tmp in the image) go here.
      - name: tmp
        emptyDir: {}
      - name: reports
        persistentVolumeClaim:
          claimName: {{ include "runner.claim" . }}
      {{- if .Values.registryAuthSecret }}
      - name: registry-auth
        secret:
          secretName: {{ .Values.registryAuthSecret }}
          items:
            - key: .dockerconfigjson
              path: config.json
      {{- end }}
{{- end -}}
