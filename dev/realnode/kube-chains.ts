// The node's iptables chains (kube-proxy's Services, its and the kubelet's canaries
// and firewall) are all named KUBE-. What iptables-save prints of one table says
// which exist and what jumps to them; the script that takes them out is made from it
// here, without running anything, and fed to iptables-restore by the sweep.

/** The KUBE- chains one table declares, as `iptables-save -t TABLE` printed it. */
export function kubeChains(saved: string): string[] {
  return (saved.match(/^:KUBE-[A-Za-z0-9-]+/gm) ?? []).map((c) => c.slice(1));
}

/**
 * An iptables-restore --noflush script removing a table's KUBE- chains: the jumps to
 * them from the built-in (or any other) chains first, since a chain still referenced
 * cannot be deleted, then their rules, then the chains. The jumps are iptables-save's
 * own lines with -A turned into -D, so their quoting (comments) stays as printed.
 * Undefined when the table has none.
 */
export function kubeChainRemoval(table: string, saved: string): string | undefined {
  const chains = kubeChains(saved);
  if (!chains.length) return undefined;
  const jumps = saved.split('\n').filter((line) => /^-A (?!KUBE-)\S+ .*-j KUBE-/.test(line));
  return [`*${table}`, ...jumps.map((line) => `-D${line.slice(2)}`), ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}
