#!/usr/bin/env bash
# Installs the tools the deploy checks need, once, from the Go module proxy, and prints where they
# are as one JSON object on stdout (progress goes to stderr):
#   {"helm": "/.../helm", "kubeValidate": "/.../kube-validate"}
# helm is built with the same version stamps as a release binary (its version and the Kubernetes
# version it assumes for `helm template`). kube-validate is this folder's Go program; its binary is
# keyed by a hash of its sources, so an edit rebuilds it. Needs Go (>= 1.24) on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

helm_version="v3.19.5"
# The Kubernetes minor that helm v3.19.5's client libraries (k8s.io/* v0.34) correspond to.
kube_major="1"
kube_minor="34"
tools_dir="${CELLPAY_DEPLOY_TOOLS_DIR:-${HOME}/.cache/cellpay/deploy-tools}"

log() { printf 'install-tools: %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "Go is needed to build helm and kube-validate (https://go.dev/dl/)"; exit 1; }

# One installer at a time: a second caller waits, then finds the tools built.
mkdir -p "${tools_dir}"
exec 9>"${tools_dir}/.install.lock"
flock 9

# build_once DIR LABEL COMMAND...: runs COMMAND with $out set to a scratch folder, which becomes
# DIR only when COMMAND succeeds, so an interrupted build never leaves a half-made tool behind.
build_once() {
  local dir="$1" label="$2" started
  shift 2
  [[ -d "${dir}" ]] && return 0
  log "building ${label}"
  started=$(date +%s)
  rm -rf "${dir}.partial"
  mkdir -p "${dir}.partial"
  out="${dir}.partial" "$@" >&2
  mv "${dir}.partial" "${dir}"
  log "${label} ready in $(($(date +%s) - started)) s"
}

install_helm() {
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for package in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X ${package}.k8sVersionMajor=${kube_major} -X ${package}.k8sVersionMinor=${kube_minor}"
  done
  GOBIN="${out}" GOFLAGS=-trimpath go install -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${helm_version}"
}

build_kube_validate() {
  (cd "${here}/kube-validate" && go build -trimpath -o "${out}/kube-validate" .)
}

helm_dir="${tools_dir}/helm-${helm_version}"
build_once "${helm_dir}" "helm ${helm_version} with go install (minutes the first time)" install_helm

source_hash=$(cat "${here}/kube-validate/go.mod" "${here}/kube-validate/go.sum" "${here}/kube-validate/"*.go | sha256sum | cut -c1-16)
validate_dir="${tools_dir}/kube-validate-${source_hash}"
build_once "${validate_dir}" "kube-validate (${source_hash})" build_kube_validate

printf '{"helm": "%s", "kubeValidate": "%s"}\n' "${helm_dir}/helm" "${validate_dir}/kube-validate"
