# The collection worker, with s5cmd v2.3.0 built in, from its source with the project's patch
# (the store's SHA-256 of each copy; see scripts/install-tools.sh, which does the same locally).
FROM golang:1.24-bookworm AS s5cmd
WORKDIR /build
COPY scripts/patches/s5cmd-v2.3.0-checksum.patch ./
RUN go mod download -json github.com/peak/s5cmd/v2@v2.3.0 > dl.json \
 && cp -r "$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' dl.json)" src && chmod -R u+w src \
 && cd src && git apply -p1 /build/s5cmd-v2.3.0-checksum.patch \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/peak/s5cmd/v2/version.Version=v2.3.0-archive-checksum-if-absent" -o /go/bin/s5cmd .

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=s5cmd /go/bin/s5cmd /usr/local/bin/s5cmd
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --omit=dev
COPY tsconfig.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
COPY common ./common
# The worker compiled to one file with the workflow bundle beside it: ~65 MB less than under tsx.
RUN npx tsx worker/build.ts
ENV WORKFLOW_BUNDLE_PATH=/app/.build/workflow-bundle.js \
    MALLOC_ARENA_MAX=2 \
    S5CMD_PATH=/usr/local/bin/s5cmd \
    STAGING_DIR=/staging
VOLUME /staging
# A small young generation and a bounded old one keep the resident set down (the worker keeps little that lives
# long); two malloc arenas (above) keep the Temporal core's threads from each growing their own.
CMD ["node", "--max-semi-space-size=1", "--max-old-space-size=512", "--optimize-for-size", ".build/worker.mjs"]
