{{/* Names, labels and shared pod settings of the ACS chart. */}}

{{- define "acs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "acs.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Resource name of one component: acs.component (dict "root" $ "component" "gateway") */}}
{{- define "acs.component" -}}
{{- printf "%s-%s" (include "acs.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "acs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "acs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: acs
{{- end -}}

{{- define "acs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acs.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "acs.componentLabels" -}}
{{ include "acs.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "acs.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{- define "acs.secretName" -}}
{{- default (include "acs.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "acs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "acs.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Checksums that roll the pods when their settings change. */}}
{{- define "acs.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmaps.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}

{{/* envFrom shared by every ACS container: shared settings, the component's, the Secret. */}}
{{- define "acs.envFrom" -}}
- configMapRef:
    name: {{ include "acs.component" (dict "root" .root "component" "shared") }}
- configMapRef:
    name: {{ include "acs.component" (dict "root" .root "component" .component) }}
- secretRef:
    name: {{ include "acs.secretName" .root }}
{{- end -}}

{{/* Volumes every ACS pod has: a writable /tmp (the root filesystem is read-only), the Kafka CA. */}}
{{- define "acs.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
{{- end }}
{{- end -}}

{{- define "acs.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/acs/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Spread a component's replicas over nodes and zones, softly. */}}
{{- define "acs.topologySpread" -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "acs.selectorLabels" . | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "acs.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* The rule that keeps scheduler instances from idling: one partition each at least. */}}
{{- define "acs.checkSchedulerBound" -}}
{{- $partitions := int .Values.kafka.sessionEventsPartitions -}}
{{- if gt (int .Values.scheduler.replicas) $partitions -}}
{{- fail (printf "scheduler.replicas (%d) is above kafka.sessionEventsPartitions (%d): schedulers beyond the partition count of acs.session-events.v1 would sit idle; raise the partitions or lower the replicas" (int .Values.scheduler.replicas) $partitions) -}}
{{- end -}}
{{- if and .Values.scheduler.autoscaling.enabled (gt (int .Values.scheduler.autoscaling.maxReplicas) $partitions) -}}
{{- fail (printf "scheduler.autoscaling.maxReplicas (%d) is above kafka.sessionEventsPartitions (%d)" (int .Values.scheduler.autoscaling.maxReplicas) $partitions) -}}
{{- end -}}
{{- end -}}

{{/* Separate telemetry writers share the partitions of acs.metrics.v1: more would idle. */}}
{{- define "acs.checkTelemetryWriterBound" -}}
{{- $w := .Values.telemetry.writers -}}
{{- if and $w.separate (gt (int $w.replicas) (int .Values.kafka.topics.partitions)) -}}
{{- fail (printf "telemetry.writers.replicas (%d) is above kafka.topics.partitions (%d): writers beyond the partition count of acs.metrics.v1 would sit idle; raise the partitions or lower the replicas" (int $w.replicas) (int .Values.kafka.topics.partitions)) -}}
{{- end -}}
{{- end -}}

{{/* The provisions ConfigMap's data (file name: source), empty when there is none. */}}
{{- define "acs.provisions" -}}
{{- $files := dict -}}
{{- if and .Values.telemetry.enabled .Values.telemetry.bulkdataProfile -}}
{{- $_ := set $files "bulkdata_profile.py" (.Files.Get "files/provisions/bulkdata_profile.py") -}}
{{- end -}}
{{- range $name, $source := .Values.scheduler.provisions -}}
{{- $_ := set $files $name $source -}}
{{- end -}}
{{- range $name, $source := $files }}
{{ $name }}: |
  {{- $source | nindent 2 }}
{{- end -}}
{{- end -}}
