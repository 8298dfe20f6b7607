/** The parameter tree of a device document: objects hold children, leaves hold `_value`. */
import type { ParamLeaf } from '../api/types';

export type TreeNode = ParamLeaf & Record<string, unknown>;

/** A leaf is a parameter (has a type or value and is not an object). */
export function isLeaf(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  const n = node as TreeNode;
  return n._object !== true && ('_value' in n || '_type' in n);
}

/** Child names in natural order (instance 2 before 10), attributes (`_...`) left out. */
export function childrenOf(node: unknown): Array<[string, TreeNode]> {
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node as Record<string, unknown>)
    .filter(([k, v]) => !k.startsWith('_') && v !== null && typeof v === 'object')
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([k, v]) => [k, v as TreeNode]);
}

/** The roots of the data model in a device document (InternetGatewayDevice, Device...). */
export function roots(doc: unknown): Array<[string, TreeNode]> {
  return childrenOf(doc);
}

/** Every leaf under `node` as [path, leaf]; for the search. */
export function leaves(node: unknown, prefix = ''): Array<[string, TreeNode]> {
  const out: Array<[string, TreeNode]> = [];
  const walk = (n: unknown, p: string) => {
    for (const [name, child] of childrenOf(n)) {
      const path = p ? `${p}.${name}` : name;
      if (isLeaf(child)) out.push([path, child]);
      else walk(child, path);
    }
  };
  walk(node, prefix);
  return out;
}

/** Whether a path names a multi-instance object's instance (ends with a number): deletable. */
export function isInstance(path: string): boolean {
  return /\.\d+$/.test(path);
}
