#!/usr/bin/env bash
# Builds the pinned real dependencies (Temporal CLI, MinIO, s5cmd) from the Go module proxy
# into .tools/bin, once. A build goes through a throwaway module with `go get` because the
# proxy refuses some modules' version lists, which breaks a plain `go install pkg@version`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
mkdir -p "$BIN"

TOOLS=(
  "s5cmd github.com/peak/s5cmd/v2 v2.3.0 github.com/peak/s5cmd/v2"
  "temporal github.com/temporalio/cli v1.5.1 github.com/temporalio/cli/cmd/temporal"
  "minio github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c github.com/minio/minio"
)

command -v go >/dev/null || { echo "install-tools: Go is required (https://go.dev/dl) to build s5cmd, MinIO and the Temporal CLI" >&2; exit 1; }

for spec in "${TOOLS[@]}"; do
  read -r name module version pkg <<<"$spec"
  stamp="$BIN/.$name.version"
  if [[ -x "$BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$module@$version" ]]; then
    continue
  fi
  echo "install-tools: building $name ($module@$version) — first time only, this can take several minutes…"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    printf 'module toolbuild\n\ngo 1.24\n' > go.mod
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
    go get "$module@$version"
    go build -trimpath -o "$BIN/$name.tmp" "$pkg"
  )
  mv "$BIN/$name.tmp" "$BIN/$name"
  echo "$module@$version" > "$stamp"
  rm -rf "$work"; trap - EXIT
  echo "install-tools: $name ready"
done
