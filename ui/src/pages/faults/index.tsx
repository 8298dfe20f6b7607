import './faults.css';
import { useMemo, useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import type { ColumnDef, RowSelectionState, SortingState } from '@tanstack/react-table';
import { api } from '../../api/client';
import type { Fault } from '../../api/types';
import { useAuth } from '../../auth';
import { ago, DataTable, dateTime, ErrorNote, PageHeader, type PageState, sortParam, TextField, usePolling, useToast } from '../../components';
import { faultQuery, fromParams, taskOf, toParams, type FaultFilter } from './model';

function detailText(d: unknown): string {
  if (d === undefined || d === null || d === '') return '';
  return typeof d === 'string' ? d : JSON.stringify(d);
}

/** Open faults: search by device, code, channel; clear (operator) and retry a task's fault. */
export default function FaultsPage() {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => fromParams(params), [params]);
  const [draft, setDraft] = useState<FaultFilter>(filter);
  const [page, setPage] = useState<PageState>({ pageIndex: 0, pageSize: 25 });
  const [sorting, setSorting] = useState<SortingState>([{ id: 'timestamp', desc: true }]);
  const [selection, setSelection] = useState<RowSelectionState>({});
  const operate = can('operate');

  const result = useQuery({
    queryKey: ['faults', filter, page, sorting],
    queryFn: () => api.get<Fault[]>('/faults/', {
      query: faultQuery(filter), sort: sortParam(sorting), skip: page.pageIndex * page.pageSize, limit: page.pageSize + 1,
    }),
    placeholderData: keepPreviousData,
    refetchInterval: usePolling(10_000),
  });
  const rows = (result.data ?? []).slice(0, page.pageSize);

  const clear = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await api.del(`/faults/${encodeURIComponent(id)}`);
      return ids.length;
    },
    onSuccess: (n) => toast.notify('success', `${n} fault${n === 1 ? '' : 's'} cleared`),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => {
      setSelection({});
      void qc.invalidateQueries({ queryKey: ['faults'] });
    },
  });
  const retry = useMutation({
    mutationFn: (taskId: string) => api.post(`/tasks/${taskId}/retry`),
    onSuccess: () => toast.notify('success', 'Task queued again; its fault clears when it succeeds'),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['faults'] }),
  });

  const columns: ColumnDef<Fault, unknown>[] = [
    {
      id: 'device',
      header: 'Device',
      cell: ({ row }) => <Link to={`/devices/${encodeURIComponent(row.original.device)}`}>{row.original.device}</Link>,
    },
    { id: 'code', header: 'Code', cell: ({ row }) => <span className="mono">{row.original.code}</span> },
    { id: 'message', header: 'Message', enableSorting: false, cell: ({ row }) => row.original.message },
    { id: 'channel', header: 'Channel', cell: ({ row }) => <span className="mono">{row.original.channel}</span> },
    { id: 'retries', header: 'Retries', cell: ({ row }) => row.original.retries ?? 0 },
    {
      id: 'timestamp',
      header: 'When',
      cell: ({ row }) => <span title={dateTime(row.original.timestamp)}>{ago(row.original.timestamp)}</span>,
    },
    {
      id: 'detail',
      header: 'Detail',
      enableSorting: false,
      cell: ({ row }) => {
        const d = detailText(row.original.detail);
        return d ? (
          <details>
            <summary>Show</summary>
            <pre className="fault-detail">{d}</pre>
          </details>
        ) : null;
      },
    },
    {
      id: 'actions',
      header: 'Actions',
      enableSorting: false,
      cell: ({ row }) => {
        const task = taskOf(row.original);
        return (
          <div className="row">
            {task && (
              <button type="button" disabled={!operate || retry.isPending} onClick={() => retry.mutate(task)} aria-label={`Retry the task of fault ${row.original._id}`}>
                Retry
              </button>
            )}
            <button type="button" className="danger" disabled={!operate || clear.isPending} onClick={() => clear.mutate([row.original._id])} aria-label={`Clear fault ${row.original._id}`}>
              Clear
            </button>
          </div>
        );
      },
    },
  ];

  function apply(e: FormEvent) {
    e.preventDefault();
    setParams(toParams(draft));
    setPage((p) => ({ ...p, pageIndex: 0 }));
    setSelection({});
  }

  const selected = Object.keys(selection).filter((k) => selection[k]);
  return (
    <>
      <PageHeader title="Faults" />
      <form className="panel row filters" onSubmit={apply} aria-label="Search faults">
        <TextField label="Device id contains" value={draft.device} onChange={(e) => setDraft({ ...draft, device: e.target.value })} hint="e.g. a serial number" />
        <TextField label="Code" value={draft.code} onChange={(e) => setDraft({ ...draft, code: e.target.value })} hint="e.g. cwmp.9002" />
        <TextField label="Channel" value={draft.channel} onChange={(e) => setDraft({ ...draft, channel: e.target.value })} hint="task_<id> or a preset channel" />
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {!operate && <p className="muted">Clearing and retrying faults needs the operator role.</p>}
      {operate && (
        <div className="row bulk">
          <button type="button" className="danger" disabled={selected.length === 0 || clear.isPending} onClick={() => clear.mutate(selected)}>
            Clear {selected.length || ''} selected
          </button>
        </div>
      )}
      <ErrorNote error={result.error} />
      <DataTable
        label="Faults"
        columns={columns}
        data={rows}
        getRowId={(f) => f._id}
        page={page}
        onPageChange={setPage}
        hasMore={(result.data?.length ?? 0) > page.pageSize}
        sorting={sorting}
        onSortingChange={setSorting}
        rowSelection={operate ? selection : undefined}
        onRowSelectionChange={operate ? setSelection : undefined}
        loading={result.isLoading}
        empty="No open fault matches."
      />
    </>
  );
}
