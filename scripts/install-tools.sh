#!/usr/bin/env bash
# Builds the pinned real dependencies (Temporal CLI, versitygw, MinIO, s5cmd; promtool for the tests) from the Go module proxy
# into .tools/bin, once. A build goes through a throwaway module with `go get` because the
# proxy refuses some modules' version lists, which breaks a plain `go install pkg@version`.
# s5cmd is built from its source with the project's patch (scripts/patches/): copies and uploads
# can ask the store for a SHA-256 (`--checksum-algorithm SHA256`, s5cmd issue #398) and print it
# with the object's ETag and size, `cp -n` checks only the destination, and `cp --if-absent` leaves that check to the
# store (If-None-Match: * on the copy itself, used only where the store was seen to refuse a copy onto a taken key).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
mkdir -p "$BIN"

S5CMD_PATCH="$ROOT/scripts/patches/s5cmd-v2.3.0-checksum.patch"
PATCH_ID="$(sha256sum "$S5CMD_PATCH" | cut -c1-12)"
TOOLS=(
  "s5cmd github.com/peak/s5cmd/v2 v2.3.0 github.com/peak/s5cmd/v2 $S5CMD_PATCH"
  "temporal github.com/temporalio/cli v1.5.1 github.com/temporalio/cli/cmd/temporal -"
  # The embedded S3 server (Apache-2.0, maintained): versitygw serving a folder. MinIO stays for what only it
  # offers here (SSE-KMS, the benchmark's request counters) and as the store matrix's second server.
  "versitygw github.com/versity/versitygw v1.8.0 github.com/versity/versitygw/cmd/versitygw -"
  "minio github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c github.com/minio/minio -"
)
# For the tests (`install-tools.sh test`): Prometheus v3.5.0's promtool (the version docker-compose.yml runs),
# which checks and unit-tests the alert rules (test/unit/alert-rules.test.ts). About 5 minutes the first time.
if [[ "${1:-}" == "test" ]]; then
  TOOLS+=("promtool github.com/prometheus/prometheus v0.305.0 github.com/prometheus/prometheus/cmd/promtool -")
fi
# Built only when asked (`install-tools.sh toxiproxy`): the benchmark's latency profile uses it.
if [[ "${1:-}" == "toxiproxy" ]]; then
  TOOLS=("toxiproxy-server github.com/Shopify/toxiproxy/v2 v2.12.0 github.com/Shopify/toxiproxy/v2/cmd/server -")
fi

# The store matrix's third server (`install-tools.sh test`): moto's S3 server (Apache-2.0) from PyPI, pinned, in a
# virtualenv of its own. Python 3 is a test-only prerequisite; the demo needs only Node and Go.
if [[ "${1:-}" == "test" ]]; then
  MOTO_VERSION="5.2.6"
  if [[ ! -x "$BIN/moto" || "$(cat "$BIN/.moto.version" 2>/dev/null)" != "moto[server]==$MOTO_VERSION" ]]; then
    command -v python3 >/dev/null || { echo "install-tools: Python 3 is required for the tests' moto server" >&2; exit 1; }
    echo "install-tools: installing moto[server]==$MOTO_VERSION (the tests' third S3 server)…"
    rm -rf "$ROOT/.tools/moto"
    python3 -m venv "$ROOT/.tools/moto"
    "$ROOT/.tools/moto/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    ln -sf "$ROOT/.tools/moto/bin/moto_server" "$BIN/moto"
    echo "moto[server]==$MOTO_VERSION" > "$BIN/.moto.version"
  fi
fi

command -v go >/dev/null || { echo "install-tools: Go is required (https://go.dev/dl) to build s5cmd, MinIO and the Temporal CLI" >&2; exit 1; }

for spec in "${TOOLS[@]}"; do
  read -r name module version pkg patch <<<"$spec"
  stamp="$BIN/.$name.version"
  want="$module@$version"
  [[ "$patch" != "-" ]] && want="$want+patch-$PATCH_ID"
  if [[ -x "$BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    continue
  fi
  echo "install-tools: building $name ($want) — first time only, this can take several minutes…"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
    if [[ "$patch" != "-" ]]; then
      # The module's own source, patched, built as its own main module.
      printf 'module toolbuild\n\ngo 1.24\n' > go.mod
      go mod download -json "$module@$version" > dl.json
      src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' dl.json)"
      cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
      cd "$work/src"
      git apply -p1 "$patch"
      go build -trimpath -ldflags "-X $module/version.Version=$version-archive-checksum-if-absent" -o "$BIN/$name.tmp" .
    else
      printf 'module toolbuild\n\ngo 1.24\n' > go.mod
      go get "$module@$version"
      go build -trimpath -o "$BIN/$name.tmp" "$pkg"
    fi
  )
  mv "$BIN/$name.tmp" "$BIN/$name"
  echo "$want" > "$stamp"
  rm -rf "$work"; trap - EXIT
  echo "install-tools: $name ready"
done
