# syntax=docker/dockerfile:1
# The operator's image: its CLI bundled into one file on a full Node image, run on a
# distroless one. The project builds the same image without Docker
# (npx tsx dev/images/build.ts --only=distroless-operator, on its own distroless/nodejs);
# test/unit/dockerfile.test.ts keeps the two in step: bundle path, entrypoint, cmd,
# user, workdir.
#   docker build -t distroless-operator:0.1.0 .

# ---- build: the operator as one ES module (dev/bundle.ts), dependencies inside -----
# The project's Node major (its `node` devDependency), so the bundle is made by the Node it runs on.
FROM node:26-trixie AS build
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
COPY tsconfig.json ./
COPY dev/bundle.ts ./dev/bundle.ts
COPY src ./src
RUN npm run build:bundle

# ---- run: no shell, no npm, no node_modules, non-root ----------------------------
# Google's Node 26 image, the major of the project's Node.
FROM gcr.io/distroless/nodejs26-debian13:nonroot
WORKDIR /app
COPY --from=build /build/dist/bundle/distroless-operator.mjs /app/distroless-operator.mjs
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "/app/distroless-operator.mjs"]
CMD ["run"]
