// A DistrolessApp the schema accepts, for tooling that needs apps to create (the
// benchmark). Any change here changes what the benchmark measures.

const sample = (name: string) => ({
  apiVersion: 'distroless.dev/v1alpha1',
  kind: 'DistrolessApp',
  metadata: { name },
  spec: {
    init: { image: 'alpine:3.20', command: ['sh', '-c', 'echo ready > /shared/state'] },
    app: { image: 'gcr.io/distroless/static-debian12:nonroot', command: ['/app/server'], ports: [{ name: 'http', containerPort: 8080 }] },
  },
});

export type SampleApp = ReturnType<typeof sample>;

/** A new copy each call, so a caller may change it freely. */
export function validApp(name = 'demo'): SampleApp {
  return sample(name);
}
