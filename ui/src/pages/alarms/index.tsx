import './alarms.css';
import { useMemo, useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import type { ColumnDef, RowSelectionState } from '@tanstack/react-table';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { ago, DataTable, dateTime, ErrorNote, PageHeader, type PageState, SelectField, TextField, usePolling, useToast } from '../../components';
import { AlarmRules, useAlarmRules } from './AlarmRules';
import { alarmQuery, canAck, fromParams, stateText, stateTitle, toParams, valueText, type Alarm, type AlarmFilter } from './model';

const STATES: Array<[string, string]> = [['', 'any'], ['raised', 'raised'], ['cleared', 'cleared']];
const ACKED: Array<[string, string]> = [['', 'any'], ['false', 'not acknowledged'], ['true', 'acknowledged']];

/**
 * Alarms the telemetry service raised and cleared (GET /alarms, newest first, paged on the
 * server), filtered by state and rule; operators acknowledge them one by one or selected.
 * Below, the alarm rules (admins edit them).
 */
export default function AlarmsPage() {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => fromParams(params), [params]);
  const [draft, setDraft] = useState<AlarmFilter>(filter);
  const [page, setPage] = useState<PageState>({ pageIndex: 0, pageSize: 25 });
  const [selection, setSelection] = useState<RowSelectionState>({});
  const operate = can('operate');
  const rules = useAlarmRules();

  const result = useQuery({
    queryKey: ['alarms', filter, page],
    queryFn: () => api.get<Alarm[]>('/alarms', alarmQuery(filter, page.pageIndex, page.pageSize)),
    placeholderData: keepPreviousData,
    refetchInterval: usePolling(10_000),
  });
  const rows = (result.data ?? []).slice(0, page.pageSize);

  const ack = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await api.post(`/alarms/${encodeURIComponent(id)}/ack`);
      return ids.length;
    },
    onSuccess: (n) => toast.notify('success', `${n} alarm${n === 1 ? '' : 's'} acknowledged`),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => {
      setSelection({});
      void qc.invalidateQueries({ queryKey: ['alarms'] });
      void qc.invalidateQueries({ queryKey: ['active-alarms'] });
    },
  });

  const columns: ColumnDef<Alarm, unknown>[] = [
    {
      id: 'device',
      header: 'Device',
      cell: ({ row }) => <Link to={`/devices/${encodeURIComponent(row.original.device)}`}>{row.original.device}</Link>,
    },
    { id: 'rule', header: 'Rule', cell: ({ row }) => <span className="mono">{row.original.rule}</span> },
    { id: 'parameter', header: 'Parameter', cell: ({ row }) => <span className="mono">{row.original.parameter || '(Informs)'}</span> },
    { id: 'value', header: 'Value', cell: ({ row }) => <span title={row.original.message}>{valueText(row.original.value)}</span> },
    {
      id: 'severity',
      header: 'Severity',
      cell: ({ row }) => (row.original.severity ? <span className={`badge badge-${row.original.severity}`}>{row.original.severity}</span> : null),
    },
    {
      id: 'raisedAt',
      header: 'Raised',
      cell: ({ row }) => <span title={dateTime(row.original.raisedAt)}>{ago(row.original.raisedAt)}</span>,
    },
    {
      id: 'state',
      header: 'State',
      cell: ({ row }) => {
        const a = row.original;
        return (
          <span className={`badge badge-${a.acknowledged ? 'acknowledged' : a.state}`} title={stateTitle(a, dateTime)}>
            {stateText(a)}
          </span>
        );
      },
    },
    {
      id: 'actions',
      header: 'Actions',
      cell: ({ row }) =>
        canAck(row.original) ? (
          <button type="button" disabled={!operate || ack.isPending} onClick={() => ack.mutate([row.original._id])} aria-label={`Acknowledge alarm ${row.original._id}`}>
            Acknowledge
          </button>
        ) : null,
    },
  ];

  function apply(e: FormEvent) {
    e.preventDefault();
    setParams(toParams(draft));
    setPage((p) => ({ ...p, pageIndex: 0 }));
    setSelection({});
  }

  function showRule(rule: string) {
    const next = { ...filter, rule };
    setDraft(next);
    setParams(toParams(next));
    setPage((p) => ({ ...p, pageIndex: 0 }));
  }

  const selected = Object.keys(selection).filter((k) => selection[k]);
  const ruleOptions: Array<[string, string]> = [['', 'any'], ...(rules.data ?? []).map((r): [string, string] => [r._id, r._id])];
  if (draft.rule && !ruleOptions.some(([v]) => v === draft.rule)) ruleOptions.push([draft.rule, draft.rule]);
  return (
    <>
      <PageHeader title="Alarms" />
      <form className="panel row filters" onSubmit={apply} aria-label="Search alarms">
        <SelectField label="State" value={draft.state} options={STATES} onChange={(e) => setDraft({ ...draft, state: e.target.value as AlarmFilter['state'] })} />
        <SelectField label="Acknowledged" value={draft.acknowledged} options={ACKED}
          onChange={(e) => setDraft({ ...draft, acknowledged: e.target.value as AlarmFilter['acknowledged'] })} />
        <SelectField label="Rule" value={draft.rule} options={ruleOptions} onChange={(e) => setDraft({ ...draft, rule: e.target.value })} />
        <TextField label="Device id" value={draft.device} onChange={(e) => setDraft({ ...draft, device: e.target.value })} hint="the whole id" />
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {!operate && <p className="muted">Acknowledging alarms needs the operator role.</p>}
      {operate && (
        <div className="row bulk">
          <button type="button" disabled={selected.length === 0 || ack.isPending} onClick={() => ack.mutate(selected)}>
            Acknowledge {selected.length || ''} selected
          </button>
        </div>
      )}
      <ErrorNote error={result.error} />
      <DataTable
        label="Alarms"
        columns={columns}
        data={rows}
        getRowId={(a) => a._id}
        page={page}
        onPageChange={setPage}
        hasMore={(result.data?.length ?? 0) > page.pageSize}
        rowSelection={operate ? selection : undefined}
        onRowSelectionChange={operate ? setSelection : undefined}
        loading={result.isLoading}
        empty="No alarm matches."
      />
      <AlarmRules onShowAlarms={showRule} />
    </>
  );
}
