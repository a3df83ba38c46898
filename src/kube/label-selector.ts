/**
 * Checks a label selector's syntax as the API server parses a `labelSelector`
 * query (apimachinery's labels.Parse): requirements joined by commas, each one of
 * `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (v1,v2)`,
 * `key notin (v1,v2)`, `key>n`, `key<n`. The operator checks it at start so that
 * a typo in --selector is one clear line, not a list that fails forever.
 * Returns the problem, or undefined when the selector is well formed.
 */
export function labelSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === '') return 'is empty: leave the flag out to select every app';
  if (!parenthesesBalance(selector)) return `${JSON.stringify(selector)} has a '(' without its ')', or the other way round`;
  for (const requirement of splitRequirements(selector)) {
    const problem = requirementProblem(requirement.trim());
    if (problem) return `${JSON.stringify(requirement.trim())} ${problem}`;
  }
  return undefined;
}

function parenthesesBalance(selector: string): boolean {
  let depth = 0;
  for (const c of selector) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0 || depth > 1) return false;
  }
  return depth === 0;
}

/** Splits at the commas that are not inside a `( )` value set. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

const SET = /^(\S+)\s+(in|notin)\s*\((.*)\)$/;
const COMPARISON = /^([^=!<>\s]+)\s*(==|!=|=|<|>)\s*(.*)$/;

function requirementProblem(requirement: string): string | undefined {
  if (requirement === '') return 'is an empty requirement (two commas in a row, or one at an end)';
  const set = SET.exec(requirement);
  if (set) return keyProblem(set[1]!) ?? setProblem(set[3]!);
  const comparison = COMPARISON.exec(requirement);
  if (comparison) return keyProblem(comparison[1]!) ?? valueProblem(comparison[2]!, comparison[3]!.trim());
  const key = requirement.startsWith('!') ? requirement.slice(1).trim() : requirement;
  return keyProblem(key);
}

function setProblem(list: string): string | undefined {
  const values = list.split(',').map((v) => v.trim());
  if (values.length === 0 || values.every((v) => v === '')) return 'has an empty value set';
  for (const value of values) {
    const problem = labelValueProblem(value);
    if (problem) return problem;
  }
  return undefined;
}

function valueProblem(operator: string, value: string): string | undefined {
  if (operator === '<' || operator === '>') return /^-?\d+$/.test(value) ? undefined : `compares with ${JSON.stringify(value)}, which is not an integer`;
  return labelValueProblem(value);
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label key: an optional DNS subdomain prefix and a slash, then a name of at most 63 characters. */
function keyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `has the key prefix ${JSON.stringify(prefix)}, which is not a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) return `has the key ${JSON.stringify(key)}: a label key's name is 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) return `has the value ${JSON.stringify(value)}: a label value is at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}
