# syntax=docker/dockerfile:1
# The GitHub App (`npm start`) on Node 24, with production dependencies only, as a non-root user.
# It runs on a read-only root filesystem: everything it writes goes to /tmp, which must be a
# writable volume (in Kubernetes an emptyDir, as deploy/ mounts it; with Docker `--tmpfs /tmp`).
#
#   docker build -t policy-recommender:0.1.0 .

# Node 24 LTS, the version the project's `node` devDependency gives npm scripts and tests.
FROM node:24.21.0-trixie-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, never `npm ci` (see the README). --omit=dev leaves out the test tools and the
# `node` package, which only brings Node 24 to machines that lack it: this image has its own.
# No dependency's install script runs: none of the production ones needs one.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM node:24.21.0-trixie-slim
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
COPY package.json app.yml ./
COPY src ./src
COPY policies-template ./policies-template
# The files belong to root and cannot be changed by the App's user: the node image's, by number,
# so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3000
# No curl in the slim image: Node asks /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["npm", "start"]
