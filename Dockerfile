# syntax=docker/dockerfile:1
# The GitHub App (`npm start`): the JavaScript that `npm run build` makes of src/, on Node 24, with
# production dependencies only, as a non-root user; no TypeScript at run time.
# It runs on a read-only root filesystem: everything it writes goes to /tmp, which must be a
# writable volume (in Kubernetes an emptyDir, as deploy/ mounts it; with Docker `--tmpfs /tmp`).
#
#   docker build -t policy-recommender:0.1.0 .

# Node 24 LTS, the version the project's `node` devDependency gives npm scripts and tests; it
# satisfies package.json's engines.node.
# The build: every dependency (the TypeScript compiler among them), then `npm run build` (dist/).
FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, never `npm ci` (a lockfile written where the registry lacks some platforms' optional
# binaries makes `npm ci` fail). No install script runs: the `node`
# devDependency's would fetch a second Node, and this image has its own, which `npm run` then finds.
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24.21.0-trixie-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# The production dependencies: --omit=dev leaves out the compiler, the test tools and the `node`
# package, which only brings Node 24 to machines that lack it. No dependency's install script
# runs: none of the production ones needs one.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM node:24.21.0-trixie-slim
# Open Containers annotations: the source is app.yml's url; version and licence are package.json's.
LABEL org.opencontainers.image.title="policy-recommender" \
      org.opencontainers.image.description="Turns Calico flow logs into recommended network policies and proposes them as GitOps pull requests" \
      org.opencontainers.image.source="https://github.com/policy-recommender/policy-recommender" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    npm_config_cache=/tmp/.npm \
    npm_config_update_notifier=false \
    npm_config_script_shell=/bin/bash
# HOST: Probot listens on localhost unless told otherwise; probes and Services need every address.
# npm_config_*: npm writes its cache and logs under /tmp, and never checks for a newer npm.
# npm_config_script_shell: `npm start` is PID 1 and forwards SIGTERM to its child, the shell
# running the script. Debian's sh (dash) keeps node as a child of its own and does not pass the
# signal on, so node would never see SIGTERM (nor release its Lease); bash runs a one-command
# script by replacing itself with node, so npm's child is node itself. (The slim image has no
# tini; test/deploy/image.test.ts checks that SIGTERM reaches node.)
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
COPY policies-template ./policies-template
# The files belong to root and cannot be changed by the App's user: the node image's, by number,
# so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3000
# No curl in the slim image: Node asks /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["npm", "start"]
