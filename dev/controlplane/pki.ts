import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Certificates for a throwaway control plane, made with the openssl command line.
// P-256 keys: fast to generate, and accepted everywhere Kubernetes takes RSA.

export interface Pki {
  caCert: string;
  /** The CA's key: a real node's certificates are signed after the control plane's. */
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  clients: Record<ClientName, { cert: string; key: string }>;
}

export type ClientName = 'admin' | 'controller-manager' | 'scheduler' | 'kwok';

const SUBJECTS: Record<ClientName, string> = {
  admin: '/O=system:masters/CN=admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
  // kwok plays every kubelet and patches any node or pod status.
  kwok: '/O=system:masters/CN=kwok',
};

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(err)}`, { cause: err });
  }
}

const newKey = (path: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);

function signed(dir: string, name: string, subject: string, caCert: string, caKey: string, extensions: string[]): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  newKey(key);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  writeFileSync(ext, extensions.join('\n') + '\n');
  openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '7', '-out', cert, '-extfile', ext]);
  return { cert, key };
}

export function createPki(dir: string): Pki {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  newKey(caKey);
  openssl(['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=distroless-operator-test-ca', '-days', '7', '-out', caCert]);
  const serving = signed(dir, 'apiserver', '/CN=kube-apiserver', caCert, caKey, [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  ]);
  const clientExt = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'];
  const clients = Object.fromEntries(
    (Object.keys(SUBJECTS) as ClientName[]).map((name) => [name, signed(dir, `client-${name}`, SUBJECTS[name], caCert, caKey, clientExt)]),
  ) as Pki['clients'];
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  newKey(serviceAccountKey);
  openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return { caCert, caKey, servingCert: serving.cert, servingKey: serving.key, serviceAccountKey, serviceAccountPub, clients };
}

/** A real node's certificates (dev/realnode), all from the control plane's CA. */
export interface NodePki {
  /** The API server's client certificate towards kubelets (logs, exec, port-forward). */
  apiserverKubeletClient: { cert: string; key: string };
  /** The kubelet's client certificate: the Node authorizer's system:node:NAME in system:nodes. */
  kubeletClient: { cert: string; key: string };
  /** The kubelet's serving certificate, for the node's name and addresses, which the API server verifies. */
  kubeletServing: { cert: string; key: string };
  /** kube-proxy's client certificate: system:kube-proxy, which the default system:node-proxier binding names. */
  kubeProxyClient: { cert: string; key: string };
}

/**
 * Signs a real node's certificates with the CA of `pki`, in `dir`. No bootstrap
 * token and no CSR approval: the node's identity is issued directly, as the
 * control plane's own clients are.
 */
export function createNodePki(dir: string, pki: Pki, node: string, addresses: string[]): NodePki {
  const clientExt = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'];
  const sign = (name: string, subject: string, ext: string[]) => signed(dir, name, subject, pki.caCert, pki.caKey, ext);
  const sans = [`DNS:${node}`, 'DNS:localhost', ...addresses.map((ip) => `IP:${ip}`)];
  return {
    // system:masters, as kubeadm's apiserver-kubelet-client was: the kubelet's webhook authorizer then allows it everything.
    apiserverKubeletClient: sign('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', clientExt),
    kubeletClient: sign(`kubelet-client-${node}`, `/O=system:nodes/CN=system:node:${node}`, clientExt),
    kubeletServing: sign(`kubelet-serving-${node}`, `/CN=${node}`, [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans.join(',')}`,
    ]),
    kubeProxyClient: sign('kube-proxy-client', '/CN=system:kube-proxy', clientExt),
  };
}

/** A kubeconfig that names its certificate files, for one client. */
export function writeKubeconfig(path: string, server: string, caCert: string, client: { cert: string; key: string }, user: string): void {
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: local`,
      `  cluster: { server: "${server}", certificate-authority: "${caCert}" }`,
      'users:',
      `- name: ${user}`,
      `  user: { client-certificate: "${client.cert}", client-key: "${client.key}" }`,
      'contexts:',
      `- name: local`,
      `  context: { cluster: local, user: ${user}, namespace: default }`,
      'current-context: local',
      '',
    ].join('\n'),
  );
}
