{{/*
Guards against values the schema cannot see: relations between cells, slots and regions.
Each message names the values to fix. Included once by templates/validate.yaml.
*/}}
{{- define "cellpay.validate" -}}
{{- $values := .Values -}}
{{- $regions := $values.regions -}}
{{- $region := $values.region.name -}}
{{- if not (has $region $regions) -}}
{{- fail (printf "region.name %q is not one of regions %v" $region $regions) -}}
{{- end -}}

{{- /* Cells: known regions, distinct home and standby, one home region per cell, a shard. */ -}}
{{- $homeByCell := dict -}}
{{- range $values.cells -}}
{{- if not .shard -}}
{{- fail (printf "cell %s has no shard: set cells[].shard (existingSecret, urlKey, primary, replica)" .id) -}}
{{- end -}}
{{- if not (has .homeRegion $regions) -}}
{{- fail (printf "cell %s: homeRegion %q is not one of regions %v" .id .homeRegion $regions) -}}
{{- end -}}
{{- if not (has .standbyRegion $regions) -}}
{{- fail (printf "cell %s: standbyRegion %q is not one of regions %v" .id .standbyRegion $regions) -}}
{{- end -}}
{{- if eq .homeRegion .standbyRegion -}}
{{- fail (printf "cell %s: standbyRegion must differ from homeRegion (%s); its replica would share the primary's failure domain" .id .homeRegion) -}}
{{- end -}}
{{- $claimed := get $homeByCell .id -}}
{{- if and $claimed (ne $claimed .homeRegion) -}}
{{- fail (printf "cell %s: its primary is claimed by two regions (%s and %s); a cell has exactly one home region" .id $claimed .homeRegion) -}}
{{- else if $claimed -}}
{{- fail (printf "cell %s is listed twice in cells" .id) -}}
{{- end -}}
{{- $_ := set $homeByCell .id .homeRegion -}}
{{- end -}}

{{- /* Slots: in range, each owned by one cell, all owned when full coverage is required. */ -}}
{{- $owner := dict -}}
{{- range $cell := $values.cells -}}
{{- range $slot := include "cellpay.cellSlots" $cell | fromJsonArray -}}
{{- $slot = int $slot -}}
{{- if ge $slot (int $values.slotCount) -}}
{{- fail (printf "cell %s: slot %d is outside 0..%d (slotCount is %d)" $cell.id $slot (sub (int $values.slotCount) 1) (int $values.slotCount)) -}}
{{- end -}}
{{- $key := toString $slot -}}
{{- if hasKey $owner $key -}}
{{- fail (printf "slot %d is assigned to two cells (%s and %s)" $slot (get $owner $key) $cell.id) -}}
{{- end -}}
{{- $_ := set $owner $key $cell.id -}}
{{- end -}}
{{- end -}}
{{- if $values.requireFullSlotCoverage -}}
{{- $missing := list -}}
{{- range $slot := until (int $values.slotCount) -}}
{{- if not (hasKey $owner (toString $slot)) -}}
{{- $missing = append $missing $slot -}}
{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "%d slot(s) are not assigned to any cell, first: %v (requireFullSlotCoverage is true)" (len $missing) (slice $missing 0 (min 10 (len $missing) | int))) -}}
{{- end -}}
{{- end -}}

{{- /* The canary of deploy/rollout is a cell this region runs as primary. */ -}}
{{- $homed := list -}}
{{- range $values.cells -}}
{{- if eq .homeRegion $region -}}
{{- $homed = append $homed .id -}}
{{- end -}}
{{- end -}}
{{- if and $homed (not $values.region.canaryCell) -}}
{{- fail (printf "region.canaryCell must name one of the cells homed in %s: %s" $region (join ", " $homed)) -}}
{{- end -}}
{{- if and $values.region.canaryCell (not (has $values.region.canaryCell $homed)) -}}
{{- fail (printf "region.canaryCell %q is not a cell homed in %s (homed here: %s)" $values.region.canaryCell $region (join ", " $homed)) -}}
{{- end -}}

{{- /* A staged rollout needs the tag the held-back components stay on, and known cells. */ -}}
{{- $rollout := $values.rollout -}}
{{- if and (or $rollout.heldBackCells $rollout.holdBackGateway) (not $rollout.previousImageTag) -}}
{{- fail "rollout.previousImageTag is required while rollout.heldBackCells or rollout.holdBackGateway hold components back" -}}
{{- end -}}
{{- range $rollout.heldBackCells -}}
{{- if not (hasKey $homeByCell .) -}}
{{- fail (printf "rollout.heldBackCells names %s, which is not in cells" .) -}}
{{- end -}}
{{- end -}}

{{- /* The gateway must survive a node drain and scale within sane bounds. */ -}}
{{- $gateway := $values.gateway -}}
{{- $minReplicas := int $gateway.replicas -}}
{{- if $gateway.autoscaling.enabled -}}
{{- if gt (int $gateway.autoscaling.minReplicas) (int $gateway.autoscaling.maxReplicas) -}}
{{- fail (printf "gateway.autoscaling.minReplicas (%d) is above maxReplicas (%d)" (int $gateway.autoscaling.minReplicas) (int $gateway.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- $minReplicas = int $gateway.autoscaling.minReplicas -}}
{{- end -}}
{{- if ge (int $gateway.podDisruptionBudget.minAvailable) $minReplicas -}}
{{- fail (printf "gateway.podDisruptionBudget.minAvailable (%d) must be below the gateway's minimum replicas (%d), or node drains block forever" (int $gateway.podDisruptionBudget.minAvailable) $minReplicas) -}}
{{- end -}}
{{- end -}}
