#!/usr/bin/env bash
# Builds the pinned third-party tools the sandbox and the static suite need into .tools/bin.
#
# Tools come from the Go module proxy and are built from source (no prebuilt downloads are
# reachable). Each binary is built once per machine into a versioned cache outside the work
# tree (a fresh clone on the same machine reuses it) and linked into .tools/bin. A binary is
# reused when it is already there at the pinned version, or found through KUBEBUILDER_ASSETS
# or PATH at the pinned version.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.32.13}"    # OCP 4.19 is Kubernetes 1.32
ETCD_VERSION="${ETCD_VERSION:-v3.5.35}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.7}"
HELM_UNITTEST_VERSION="${HELM_UNITTEST_VERSION:-v1.1.2}"
KUBECTL_MODULE_VERSION="${KUBECTL_MODULE_VERSION:-v0.32.13}"   # k8s.io/kubectl, the v1.32.13 staging module
ARGOCD_VERSION="${ARGOCD_VERSION:-v3.1.9}"    # the Argo CD line OpenShift GitOps ships for 4.19
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_bin="${repo_root}/.tools/bin"
helm_plugins="${repo_root}/.tools/helm-plugins"   # HELM_PLUGINS for `make hu`
cache_root="${BITIQ_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bitiq-conformance}"
mkdir -p "$tools_bin" "$cache_root/bin" "$cache_root/src"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN=local

log() { printf 'install-tools: %s\n' "$*" >&2; }

# The version a binary reports, normalised to "vX.Y.Z" (empty when it cannot say).
reported_version() {
  local name="$1" binary="$2" out=""
  case "$name" in
    kube-apiserver) out="$("$binary" --version 2>/dev/null || true)" ;;   # "Kubernetes v1.32.13"
    etcd)           out="$("$binary" --version 2>/dev/null | head -n1 || true)" ;;  # "etcd Version: 3.5.35"
    helm)           out="$("$binary" version --short 2>/dev/null || true)" ;;  # "v3.22.0+g..."
    actionlint)     out="$("$binary" -version 2>/dev/null | head -n1 || true)" ;;  # "1.7.7"
    kubectl)        out="$("$binary" version --client 2>/dev/null | head -n1 || true)" ;;  # "Client Version: v1.32.13"
    kube-controller-manager|kube-scheduler)
                    out="$("$binary" --version 2>/dev/null || true)" ;;   # "Kubernetes v1.32.13"
    argocd)         out="$("$binary" version --client --short 2>/dev/null || true)" ;;  # "argocd: v3.1.9+unknown"
    kwok)           out="$("$binary" --version 2>/dev/null || true)" ;;   # "kwok version v0.8.0 ..."
  esac
  grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -n1 | sed 's/^/v/'
}

# Links an existing binary at the pinned version into .tools/bin; returns 1 when none is found.
adopt_existing() {
  local name="$1" version="$2" candidate
  local candidates=("$cache_root/bin/${name}-${version}")
  [ -n "${KUBEBUILDER_ASSETS:-}" ] && candidates+=("${KUBEBUILDER_ASSETS}/${name}")
  candidate="$(PATH="${PATH//${tools_bin}:/}" command -v "$name" 2>/dev/null || true)"
  [ -n "$candidate" ] && candidates+=("$candidate")
  for candidate in "${candidates[@]}"; do
    if [ -x "$candidate" ] && [ "$(reported_version "$name" "$candidate")" = "$version" ]; then
      ln -sfn "$candidate" "$tools_bin/$name"
      log "$name $version: using $candidate"
      return 0
    fi
  done
  return 1
}

# Builds a Go main package from a small wrapper module.
# Arguments: tool name, version, module directory (already holding go.mod and main.go).
build_wrapper() {
  local name="$1" version="$2" module_dir="$3" ldflags="${4:-}"
  local started=$SECONDS
  log "$name $version: building from the Go module proxy (first time only; minutes)"
  (cd "$module_dir" && go mod tidy >/dev/null && \
     go build -trimpath -ldflags "-s -w ${ldflags}" -o "$cache_root/bin/${name}-${version}.tmp" .)
  mv "$cache_root/bin/${name}-${version}.tmp" "$cache_root/bin/${name}-${version}"
  ln -sfn "$cache_root/bin/${name}-${version}" "$tools_bin/$name"
  log "$name $version: built in $((SECONDS - started)) s"
}

install_kube_apiserver() {
  adopt_existing kube-apiserver "$KUBE_VERSION" && return 0
  local minor="${KUBE_VERSION#v1.}" dir="$cache_root/src/kube-apiserver-${KUBE_VERSION}"
  local staging_version="v0.${minor}"
  # k8s.io/kubernetes replaces its staging modules with local paths, so it cannot be
  # `go install`ed; a wrapper module pins each staging module to its published twin.
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver
    sample-cli-plugin sample-controller)
  mkdir -p "$dir"
  {
    echo "module bitiq.local/kube-apiserver"
    echo
    echo "go 1.23"
    echo
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    echo
    for module in "${staging[@]}"; do
      echo "replace k8s.io/${module} => k8s.io/${module} ${staging_version}"
    done
  } >"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
GO
  local major_minor="${KUBE_VERSION#v}"; major_minor="${major_minor%.*}"
  local version_pkg="k8s.io/component-base/version"
  build_wrapper kube-apiserver "$KUBE_VERSION" "$dir" \
    "-X ${version_pkg}.gitVersion=${KUBE_VERSION} -X ${version_pkg}.gitMajor=${major_minor%%.*} -X ${version_pkg}.gitMinor=${major_minor#*.}"
}

install_etcd() {
  adopt_existing etcd "$ETCD_VERSION" && return 0
  local dir="$cache_root/src/etcd-${ETCD_VERSION}"
  mkdir -p "$dir"
  printf 'module bitiq.local/etcd\n\ngo 1.23\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GO
  build_wrapper etcd "$ETCD_VERSION" "$dir"
}

# Tools that `go install` builds directly. Arguments: name, version, package path, extra ldflags.
install_go_package() {
  local name="$1" version="$2" package="$3" ldflags="${4:-}"
  adopt_existing "$name" "$version" && return 0
  local started=$SECONDS gobin="$cache_root/src/${name}-${version}-bin"
  log "$name $version: building from the Go module proxy (first time only)"
  GOBIN="$gobin" go install -trimpath -ldflags "-s -w ${ldflags}" "${package}@${version}"
  mv "$gobin/$name" "$cache_root/bin/${name}-${version}"
  ln -sfn "$cache_root/bin/${name}-${version}" "$tools_bin/$name"
  log "$name $version: built in $((SECONDS - started)) s"
}

# helm-unittest, the chart unit-test helm plugin. `go install` refuses it (its go.mod replaces
# github.com/vmware-labs/yaml-jsonpath), so a wrapper module repeats that replace. The binary
# prints no version, so only the versioned cache file is trusted. The plugin directory
# .tools/helm-plugins/unittest holds plugin.yaml (Helm 3 plugin format, as upstream's) and a
# link to the binary; run it as `HELM_PLUGINS=.tools/helm-plugins helm unittest CHART`.
install_helm_unittest() {
  local version="$HELM_UNITTEST_VERSION" name=helm-unittest
  local binary="$cache_root/bin/${name}-${version}" dir="$cache_root/src/${name}-${version}"
  if [ -x "$binary" ]; then
    ln -sfn "$binary" "$tools_bin/$name"
    log "$name $version: using $binary"
  else
    local go_version; go_version="$(go env GOVERSION)"   # "go1.26.8"
    if ! printf '%s\n' "go1.26.0" "$go_version" | sort -V -C; then
      log "$name $version: needs Go >= 1.26 (its go.mod says so; GOTOOLCHAIN=local), found $go_version"
      exit 1
    fi
    mkdir -p "$dir"
    # A `tool` directive (Go >= 1.24) keeps the upstream main package required through
    # `go mod tidy`; helm-unittest v1.1.2 itself needs Go >= 1.26.
    {
      echo "module bitiq.local/helm-unittest"
      echo
      echo "go 1.26.0"
      echo
      echo "tool github.com/helm-unittest/helm-unittest/cmd/helm-unittest"
      echo
      echo "require github.com/helm-unittest/helm-unittest ${version}"
      echo
      echo "replace github.com/vmware-labs/yaml-jsonpath v0.3.2 => github.com/helm-unittest/yaml-jsonpath v0.4.0"
    } >"$dir/go.mod"
    local started=$SECONDS
    log "$name $version: building from the Go module proxy (first time only; about a minute)"
    (cd "$dir" && go mod tidy >/dev/null && \
       go build -trimpath -ldflags "-s -w" -o "${binary}.tmp" github.com/helm-unittest/helm-unittest/cmd/helm-unittest)
    mv "${binary}.tmp" "$binary"
    ln -sfn "$binary" "$tools_bin/$name"
    log "$name $version: built in $((SECONDS - started)) s"
  fi
  local plugin_dir="$helm_plugins/unittest"
  mkdir -p "$plugin_dir"
  ln -sfn "$binary" "$plugin_dir/untt"
  cat >"$plugin_dir/plugin.yaml" <<YAML
name: "unittest"
version: "${version#v}"
usage: "unittest for helm charts"
description: "Unit test for helm chart in YAML with ease to keep your chart functional and robust."
ignoreFlags: false
platformCommand:
  - command: "\$HELM_PLUGIN_DIR/untt"
YAML
}

# kube-controller-manager and kube-scheduler (the live loop: Deployments get ReplicaSets and
# Pods, and Pods get a node). One wrapper module like kube-apiserver's, one multi-call binary
# (the module download and the compile of k8s.io/kubernetes are shared): it runs the scheduler
# when started under a name beginning with "kube-scheduler", else the controller manager.
install_kube_controllers() {
  if adopt_existing kube-controller-manager "$KUBE_VERSION" && adopt_existing kube-scheduler "$KUBE_VERSION"; then
    return 0
  fi
  local minor="${KUBE_VERSION#v1.}" dir="$cache_root/src/kube-controllers-${KUBE_VERSION}"
  local staging_version="v0.${minor}" name=kube-controllers version
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver
    sample-cli-plugin sample-controller)
  mkdir -p "$dir"
  {
    echo "module bitiq.local/kube-controllers"
    echo
    echo "go 1.23"
    echo
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    echo
    for module in "${staging[@]}"; do
      version="${staging_version}"
      # The proxy answers 403 for k8s.io/endpointslice v0.32.13 ("This module version is not
      # available"; seen 2026-11-29); its v0.32.12 twin is the newest it serves on that line.
      [ "$module" = endpointslice ] && [ "$staging_version" = v0.32.13 ] && version=v0.32.12
      echo "replace k8s.io/${module} => k8s.io/${module} ${version}"
    done
  } >"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"
	"path/filepath"
	"strings"

	"k8s.io/component-base/cli"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kube-scheduler") {
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	}
	os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
}
GO
  local major_minor="${KUBE_VERSION#v}"; major_minor="${major_minor%.*}"
  local version_pkg="k8s.io/component-base/version"
  build_wrapper "$name" "$KUBE_VERSION" "$dir" \
    "-X ${version_pkg}.gitVersion=${KUBE_VERSION} -X ${version_pkg}.gitMajor=${major_minor%%.*} -X ${version_pkg}.gitMinor=${major_minor#*.}"
  rm -f "$tools_bin/$name"
  for command in kube-controller-manager kube-scheduler; do
    ln -sfn "${name}-${KUBE_VERSION}" "$cache_root/bin/${command}-${KUBE_VERSION}"
    ln -sfn "$cache_root/bin/${command}-${KUBE_VERSION}" "$tools_bin/$command"
  done
}

# kwok (fake kubelets for the live loop). kwok runs only the lifecycle "stages" its configuration
# holds, and has none built in: its own default stages (node-initialize, node-heartbeat,
# pod-ready, pod-complete, pod-delete, under kustomize/stage/ in its module) are concatenated
# from the same module version into .tools/share/kwok-stages.yaml.
install_kwok() {
  install_go_package kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
  local stages="$cache_root/share/kwok-${KWOK_VERSION}-stages.yaml"
  if [ ! -s "$stages" ]; then
    local module_dir
    module_dir="$(cd "$cache_root/src" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    mkdir -p "$cache_root/share"
    local stage_dir="$module_dir/kustomize/stage"
    for file in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      [ -f "$stage_dir/$file" ] || { log "kwok $KWOK_VERSION: $file not found in $module_dir"; exit 1; }
      echo "---"
      cat "$stage_dir/$file"
    done >"${stages}.tmp"
    mv "${stages}.tmp" "$stages"
  fi
  mkdir -p "${repo_root}/.tools/share"
  ln -sfn "$stages" "${repo_root}/.tools/share/kwok-stages.yaml"
}

# Argo CD (the live loop's controllers). `go install` refuses it (its go.mod has a replace
# block), so a wrapper module copies that version's replace block from the module's own go.mod
# and names the upstream main package in a `tool` directive so `go mod tidy` keeps it. The
# binary is multi-call (it acts by the name it is started as), so .tools/bin links the
# controllers' names to the one file.
install_argocd() {
  local version="$ARGOCD_VERSION" name=argocd
  local commands=(argocd-application-controller argocd-repo-server argocd-applicationset-controller)
  if ! adopt_existing argocd "$version"; then
    local dir="$cache_root/src/${name}-${version}" upstream_mod
    mkdir -p "$dir"
    upstream_mod="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-cd/v3@${version}" \
      | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    [ -f "$upstream_mod" ] || { log "argocd $version: could not download its go.mod"; exit 1; }
    {
      echo "module bitiq.local/argocd"
      echo
      grep -m1 -E '^go [0-9.]+$' "$upstream_mod"
      echo
      echo "tool github.com/argoproj/argo-cd/v3/cmd"
      echo
      echo "require github.com/argoproj/argo-cd/v3 ${version}"
      echo
      sed -n '/^replace (/,/^)/p' "$upstream_mod"
    } >"$dir/go.mod"
    local started=$SECONDS binary="$cache_root/bin/${name}-${version}"
    log "argocd $version: building from the Go module proxy (first time only; about 5 minutes)"
    (cd "$dir" && go mod tidy >/dev/null && \
       go build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-cd/v3/common.version=${version#v}" \
         -o "${binary}.tmp" github.com/argoproj/argo-cd/v3/cmd)
    mv "${binary}.tmp" "$binary"
    ln -sfn "$binary" "$tools_bin/$name"
    log "argocd $version: built in $((SECONDS - started)) s"
  fi
  local target; target="$(readlink -f "$tools_bin/$name")"
  for command in "${commands[@]}"; do
    ln -sfn "$target" "$tools_bin/$command"
  done
}

# kubectl, for the benchmark's peer (scripts/peer-preflight.sh): a wrapper module requiring
# k8s.io/kubectl v0.32.13 whose main does what cmd/kubectl does. The version ldflags make it report
# v1.32.13 (without them it says v0.0.0-master).
install_kubectl() {
  local version="v1.${KUBECTL_MODULE_VERSION#v0.}" dir="$cache_root/src/kubectl-${KUBECTL_MODULE_VERSION}"
  adopt_existing kubectl "$version" && return 0
  local minor="${version#v1.}"; minor="${minor%%.*}"
  mkdir -p "$dir"
  printf 'module bitiq.local/kubectl\n\ngo 1.23\n\nrequire (\n\tk8s.io/component-base %s\n\tk8s.io/kubectl %s\n)\n' \
    "$KUBECTL_MODULE_VERSION" "$KUBECTL_MODULE_VERSION" >"$dir/go.mod"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
  build_wrapper kubectl "$version" "$dir" \
    "-X k8s.io/component-base/version.gitVersion=${version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}"
}

if ! command -v go >/dev/null 2>&1; then
  log "Go is required to build the pinned tools; install Go >= 1.23 and run again"
  exit 1
fi

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(etcd kube-apiserver helm actionlint)
for tool in "${wanted[@]}"; do
  case "$tool" in
    kube-apiserver) install_kube_apiserver ;;
    etcd) install_etcd ;;
    # Without the version ldflag helm reports only "v3.22"; pin the full version it was built at.
    helm) install_go_package helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
            "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" ;;
    actionlint) install_go_package actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint ;;
    helm-unittest) install_helm_unittest ;;
    kube-controllers) install_kube_controllers ;;   # kube-controller-manager and kube-scheduler
    argocd) install_argocd ;;
    kwok) install_kwok ;;
    kubectl) install_kubectl ;;
    *) log "unknown tool '$tool' (known: etcd kube-apiserver helm actionlint helm-unittest kube-controllers argocd kwok kubectl)"; exit 2 ;;
  esac
done
