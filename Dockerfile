# syntax=docker/dockerfile:1
# The operator's image: built on a full Node image, run on a distroless one.
#   docker build -t distroless-operator:0.1.0 .

# ---- build: compile TypeScript, then keep production dependencies only ---------
FROM node:24-trixie AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: nothing here needs an install script, and the `node`
# devDependency would otherwise fetch a second Node binary the image already has.
# The lock file is the truth, as in CI: an install that would change it fails the
# build instead of bringing in versions nobody reviewed. (Not `npm ci`: the lock file
# holds only the Linux builds of some optional packages, and ci calls that out of sync.)
RUN cp package-lock.json /tmp/reviewed-lock.json \
 && npm install --no-fund --no-audit --ignore-scripts \
 && cmp -s package-lock.json /tmp/reviewed-lock.json \
 || { echo "package-lock.json does not match package.json: commit the lock file npm install makes" >&2; exit 1; }
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-fund --no-audit

# ---- run: no shell, no npm, non-root ------------------------------------------
FROM gcr.io/distroless/nodejs24-debian13:nonroot
WORKDIR /app
COPY --from=build /build/package.json ./package.json
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/bin.js"]
CMD ["run"]
