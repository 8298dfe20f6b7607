import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import type { ColumnDef, RowSelectionState, SortingState } from '@tanstack/react-table';
import { api } from '../../api/client';
import type { Device } from '../../api/types';
import { useAuth } from '../../auth';
import { ago, DataTable, dateTime, ErrorNote, PageHeader, type PageState, sortParam, usePolling } from '../../components';
import { LIST_PROJECTION, paramValue, PATHS, presence, text } from '../../devices/fields';
import { fromSearchParams, toQuery, toSearchParams, type DeviceFilter } from '../../devices/filters';
import { BulkActions } from './BulkActions';
import { FilterForm } from './FilterForm';

const COLUMNS: ColumnDef<Device, unknown>[] = [
  {
    id: '_deviceId._SerialNumber',
    header: 'Serial number',
    cell: ({ row }) => (
      <Link to={`/devices/${encodeURIComponent(row.original._id)}`}>{row.original._deviceId?._SerialNumber ?? row.original._id}</Link>
    ),
  },
  { id: '_deviceId._OUI', header: 'OUI', cell: ({ row }) => row.original._deviceId?._OUI ?? '' },
  { id: '_deviceId._ProductClass', header: 'Product class', cell: ({ row }) => row.original._deviceId?._ProductClass ?? '' },
  { id: 'model', header: 'Model', enableSorting: false, cell: ({ row }) => text(paramValue(row.original, PATHS.modelName)) },
  { id: 'firmware', header: 'Firmware', enableSorting: false, cell: ({ row }) => text(paramValue(row.original, PATHS.softwareVersion)) },
  { id: 'wan', header: 'WAN IP', enableSorting: false, cell: ({ row }) => <span className="mono">{text(paramValue(row.original, PATHS.wanIp))}</span> },
  {
    id: '_lastInform',
    header: 'Last inform',
    cell: ({ row }) => {
      const p = presence(row.original._lastInform);
      return (
        <span title={dateTime(row.original._lastInform)}>
          <span className={`badge badge-${p}`}>{p}</span> {row.original._lastInform ? ago(row.original._lastInform) : ''}
        </span>
      );
    },
  },
  { id: '_tags', header: 'Tags', enableSorting: false, cell: ({ row }) => (row.original._tags ?? []).join(', ') },
];

/** Devices: search (GenieACS-style), a server-side paged and sorted list, bulk actions. */
export default function DevicesPage() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => fromSearchParams(params), [params]);
  const query = useMemo(() => {
    try {
      return toQuery(filter);
    } catch {
      return {};
    }
  }, [filter]);
  const [page, setPage] = useState<PageState>({ pageIndex: 0, pageSize: 25 });
  const [sorting, setSorting] = useState<SortingState>([]);
  const [selection, setSelection] = useState<RowSelectionState>({});

  const result = useQuery({
    queryKey: ['devices', query, page, sorting],
    // one row more than the page tells whether a next page exists without counting 100k documents
    queryFn: () => api.get<Device[]>('/devices/', {
      query, projection: LIST_PROJECTION, sort: sortParam(sorting), skip: page.pageIndex * page.pageSize, limit: page.pageSize + 1,
    }),
    placeholderData: keepPreviousData,
    refetchInterval: usePolling(30_000),
  });
  const rows = (result.data ?? []).slice(0, page.pageSize);
  const selected = Object.keys(selection).filter((k) => selection[k]);

  function apply(f: DeviceFilter) {
    setParams(toSearchParams(f));
    setPage((p) => ({ ...p, pageIndex: 0 }));
    setSelection({});
  }

  return (
    <>
      <PageHeader title="Devices" />
      <FilterForm key={params.toString()} value={filter} onApply={apply} />
      <ErrorNote error={result.error} />
      <DataTable<Device>
        label="Devices"
        columns={COLUMNS}
        data={rows}
        getRowId={(d) => d._id}
        page={page}
        onPageChange={(p) => { setPage(p); setSelection({}); }}
        hasMore={(result.data?.length ?? 0) > page.pageSize}
        sorting={sorting}
        onSortingChange={(s) => { setSorting(s); setPage((p) => ({ ...p, pageIndex: 0 })); }}
        rowSelection={can('operate') ? selection : undefined}
        onRowSelectionChange={can('operate') ? setSelection : undefined}
        loading={result.isFetching}
        empty="No device matches this search"
      />
      {can('operate') && <BulkActions selected={selected} query={query} onDone={() => setSelection({})} />}
    </>
  );
}
