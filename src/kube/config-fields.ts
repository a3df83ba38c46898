import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { KubeconfigError, isObject, type Entry } from './kubeconfig.js';

/**
 * Typed reads of one kubeconfig entry (or a mapping inside one), each failure an
 * error that names the file and the field: `~/.kube/config:
 * users[name=admin].user.client-key: file /x/y not found`.
 */
export class ConfigFields {
  constructor(
    readonly value: Record<string, unknown>,
    /** `~/.kube/config: users[name=admin].user` */
    readonly where: string,
    /** Relative paths are relative to this directory: the kubeconfig file's. */
    readonly dir: string,
  ) {}

  static of(entry: Entry, section: 'clusters' | 'users' | 'contexts'): ConfigFields {
    return new ConfigFields(entry.value, `${entry.file}: ${section}[name=${entry.name}].${section.slice(0, -1)}`, entry.dir);
  }

  error(key: string, problem: string): KubeconfigError {
    return new KubeconfigError(`${this.field(key)}: ${problem}`);
  }

  field(key: string): string {
    return `${this.where}.${key}`;
  }

  /** Set to something other than null or an empty string. */
  has(key: string): boolean {
    const v = this.value[key];
    return v !== undefined && v !== null && v !== '';
  }

  string(key: string): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.error(key, 'must be a string');
    return v;
  }

  requiredString(key: string): string {
    const v = this.string(key);
    if (v === undefined) throw this.error(key, 'missing');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.value[key] ?? false;
    if (typeof v !== 'boolean') throw this.error(key, 'must be true or false');
    return v;
  }

  strings(key: string): string[] {
    const v = this.value[key] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw this.error(key, 'must be a list of strings');
    return v as string[];
  }

  /** A mapping inside this one, read the same way. */
  nested(key: string): ConfigFields | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) throw this.error(key, 'must be a mapping');
    return new ConfigFields(v, this.field(key), this.dir);
  }

  /** A path, made absolute from the kubeconfig's directory. */
  path(key: string): string | undefined {
    const p = this.string(key);
    return p === undefined ? undefined : absolute(this.dir, p);
  }

  /** The contents of a file the entry names. */
  readFile(key: string): Buffer | undefined {
    const path = this.path(key);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw this.error(key, code === 'ENOENT' ? `file ${path} not found` : `cannot read ${path}: ${code ?? String(err)}`);
    }
  }

  /** PEM material given either as a file (`fileKey`) or inline in base64 (`dataKey`), never both. */
  fileOrData(fileKey: string, dataKey: string): Buffer | undefined {
    if (this.has(fileKey) && this.has(dataKey)) throw this.error(dataKey, `${fileKey} is set too; keep one`);
    const data = this.string(dataKey);
    return data === undefined ? this.readFile(fileKey) : Buffer.from(data, 'base64');
  }
}

export const absolute = (dir: string, path: string): string => (isAbsolute(path) ? path : resolve(dir, path));
