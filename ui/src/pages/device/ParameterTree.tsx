import { useMemo, useState, type FormEvent } from 'react';
import type { Task } from '../../api/types';
import { useAuth } from '../../auth';
import { TextField } from '../../components';
import { childrenOf, isInstance, isLeaf, leaves, type TreeNode } from '../../devices/tree';
import { checkValue } from '../../devices/values';

type Send = (body: Record<string, unknown>) => void;

/** Paths some pending task is about (refresh, set, add, delete), marked in the tree. */
export function pendingPaths(tasks: Task[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const t of tasks ?? []) {
    if (t.status !== 'pending') continue;
    if (typeof t.objectName === 'string') out.add(t.objectName.replace(/\.$/, ''));
    if (Array.isArray(t.parameterValues)) for (const pv of t.parameterValues as unknown[][]) out.add(String(pv[0]));
    if (Array.isArray(t.parameterNames)) for (const n of t.parameterNames as string[]) out.add(n.replace(/\.$/, ''));
  }
  return out;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function Leaf({ path, name, node, send, pending }: { path: string; name: string; node: TreeNode; send: Send; pending: Set<string> }) {
  const { can } = useAuth();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  // writability is learnt by discovery (GetParameterNames); until then the CPE has the last word
  const writable = node._writable !== false && can('operate');

  function save(e: FormEvent) {
    e.preventDefault();
    const c = checkValue(draft, node._type);
    if (!c.ok) {
      setError(c.message);
      return;
    }
    send({ name: 'setParameterValues', parameterValues: [node._type ? [path, c.value, node._type] : [path, c.value]] });
    setEditing(false);
  }

  return (
    <li data-path={path}>
      <div className="tree-row">
        <span className="tree-toggle" aria-hidden="true" />
        <span className="param-name">{name}</span>
        {!editing && <span className="param-value mono" data-testid={`value-${path}`}>{show(node._value)}</span>}
        <span className="muted">{node._type}</span>
        {pending.has(path) && <span className="badge badge-pending">pending</span>}
        {writable && !editing && (
          <button type="button" onClick={() => { setDraft(show(node._value)); setError(null); setEditing(true); }} aria-label={`Edit ${path}`}>
            Edit
          </button>
        )}
        {editing && (
          <form className="row" onSubmit={save}>
            <TextField label={`New value of ${name}`} value={draft} onChange={(e) => { setDraft(e.target.value); setError(null); }}
              error={error ?? undefined} hint={node._type} autoFocus
              onKeyDown={(e) => { if (e.key === 'Escape') setEditing(false); }} />
            <button type="submit" className="primary">Save</button>
            <button type="button" onClick={() => setEditing(false)}>Cancel</button>
          </form>
        )}
      </div>
    </li>
  );
}

function ObjectNode({ path, name, node, send, pending, open: initiallyOpen = false }: {
  path: string; name: string; node: TreeNode; send: Send; pending: Set<string>; open?: boolean;
}) {
  const { can } = useAuth();
  const [open, setOpen] = useState(initiallyOpen);
  const kids = open ? childrenOf(node) : [];
  return (
    <li data-path={path}>
      <div className="tree-row">
        <button type="button" className="tree-toggle" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${path}`} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'}
        </button>
        <span className="param-name obj">{name}</span>
        {pending.has(path) && <span className="badge badge-pending">refreshing</span>}
        {can('operate') && (
          <>
            <button type="button" onClick={() => send({ name: 'refreshObject', objectName: path })} aria-label={`Refresh ${path}`}>Refresh</button>
            {node._writable === true && !isInstance(path) && (
              <button type="button" onClick={() => send({ name: 'addObject', objectName: path })} aria-label={`Add instance to ${path}`}>Add instance</button>
            )}
            {node._writable === true && isInstance(path) && (
              <button type="button" className="danger" aria-label={`Delete ${path}`}
                onClick={() => { if (window.confirm(`Delete ${path}?`)) send({ name: 'deleteObject', objectName: `${path}.` }); }}>
                Delete
              </button>
            )}
          </>
        )}
      </div>
      {open && <Branch node={node} path={path} send={send} pending={pending} />}
      {open && kids.length === 0 && <p className="muted tree-empty">No parameters read yet: Refresh reads them from the device.</p>}
    </li>
  );
}

function Branch({ node, path, send, pending }: { node: TreeNode; path: string; send: Send; pending: Set<string> }) {
  return (
    <ul className="tree">
      {childrenOf(node).map(([name, child]) => {
        const p = path ? `${path}.${name}` : name;
        return isLeaf(child)
          ? <Leaf key={p} path={p} name={name} node={child} send={send} pending={pending} />
          : <ObjectNode key={p} path={p} name={name} node={child} send={send} pending={pending} />;
      })}
    </ul>
  );
}

/**
 * The data model as stored: objects expand on demand (children render only when opened), a
 * search lists matching parameters at once; operators refresh subtrees, edit writable values
 * (type-checked), add and delete instances, each a task sent with a connection request.
 */
export function ParameterTree({ device, send, tasks }: { device: TreeNode; send: Send; tasks: Task[] | undefined }) {
  const [search, setSearch] = useState('');
  const pending = useMemo(() => pendingPaths(tasks), [tasks]);
  const all = useMemo(() => (search.trim().length >= 2 ? leaves(device) : []), [device, search]);
  const needle = search.trim().toLowerCase();
  const found = needle.length >= 2 ? all.filter(([p, n]) => p.toLowerCase().includes(needle) || show(n._value).toLowerCase().includes(needle)) : [];
  return (
    <section className="panel" aria-labelledby="params-title">
      <h2 id="params-title">Parameters</h2>
      <TextField label="Search parameters" type="search" value={search} onChange={(e) => setSearch(e.target.value)}
        hint="Part of a path or a value, e.g. SSID or SoftwareVersion" />
      {needle.length >= 2 ? (
        <>
          <p role="status">{found.length > 300 ? `First 300 of ${found.length} matches` : `${found.length} match${found.length === 1 ? '' : 'es'}`}</p>
          <ul className="tree flat">
            {found.slice(0, 300).map(([p, n]) => <Leaf key={p} path={p} name={p} node={n} send={send} pending={pending} />)}
          </ul>
        </>
      ) : (
        <ul className="tree root">
          {childrenOf(device).map(([name, child]) => (
            <ObjectNode key={name} path={name} name={name} node={child} send={send} pending={pending} open />
          ))}
        </ul>
      )}
    </section>
  );
}
