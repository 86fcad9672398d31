# The collection worker, with s5cmd v2.3.0 built in.
FROM golang:1.24-bookworm AS s5cmd
RUN go install github.com/peak/s5cmd/v2@v2.3.0

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=s5cmd /go/bin/s5cmd /usr/local/bin/s5cmd
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --omit=dev
COPY tsconfig.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
RUN npx tsx worker/bundle.ts /app/.build/workflow-bundle.js
ENV WORKFLOW_BUNDLE_PATH=/app/.build/workflow-bundle.js \
    S5CMD_PATH=/usr/local/bin/s5cmd \
    STAGING_DIR=/staging
VOLUME /staging
CMD ["npx", "tsx", "worker/main.ts"]
