{{- /*
The pipelines this env renders, as a JSON list: each entry of .Values.pipelines merged over
.Values.pipelineDefaults, then under .Values.pipelineOverrides.<name> (the env file's, by name: Helm
replaces lists whole, so an env overrides one pipeline through this map). `enabled` is taken
explicitly (a merge does not let false override true); disabled pipelines are left out.
*/ -}}
{{- define "ci.pipelines" -}}
{{- $result := list -}}
{{- $overrides := .Values.pipelineOverrides | default dict -}}
{{- range $entry := .Values.pipelines -}}
{{- $override := get $overrides $entry.name | default dict -}}
{{- $merged := mustMergeOverwrite (deepCopy $.Values.pipelineDefaults) (deepCopy $entry) (deepCopy $override) -}}
{{- $enabled := $.Values.pipelineDefaults.enabled -}}
{{- if hasKey $entry "enabled" }}{{ $enabled = $entry.enabled }}{{ end -}}
{{- if hasKey $override "enabled" }}{{ $enabled = $override.enabled }}{{ end -}}
{{- $git := $merged.git -}}
{{- $_ := set $git "url" ($git.url | default $.Values.gitUrl) -}}
{{- $_ := set $git "revision" ($git.revision | default $.Values.gitRevision) -}}
{{- if $enabled -}}
{{- $result = append $result $merged -}}
{{- end -}}
{{- end -}}
{{- toJson $result -}}
{{- end -}}
