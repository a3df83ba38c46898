import { readFileSync } from 'node:fs';

export interface Versions {
  kubernetes: string;
  etcd: string;
  kwok: string;
}

/** The pins in versions.env, the one place they are written. */
export function readVersions(): Versions {
  const text = readFileSync(new URL('./versions.env', import.meta.url), 'utf8');
  const vars = Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=(\S+)/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  const get = (key: string) => {
    const v = vars[key];
    if (!v) throw new Error(`versions.env has no ${key}`);
    return v;
  };
  return { kubernetes: get('KUBERNETES_VERSION'), etcd: get('ETCD_VERSION'), kwok: get('KWOK_VERSION') };
}
