import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type OnChangeFn,
  type RowSelectionState,
  type SortingState,
} from '@tanstack/react-table';

export interface PageState {
  pageIndex: number;
  pageSize: number;
}

export interface DataTableProps<T> {
  /** Accessible name of the table (a caption read by screen readers). */
  label: string;
  columns: ColumnDef<T, unknown>[];
  data: T[];
  getRowId: (row: T) => string;
  /** Server-side paging: the page shown and how to change it. */
  page: PageState;
  onPageChange: (page: PageState) => void;
  /** Matches over all pages when known; otherwise `hasMore` tells whether a next page exists. */
  total?: number;
  hasMore?: boolean;
  pageSizes?: number[];
  /** Server-side sorting (column ids are the NBI's field names). */
  sorting?: SortingState;
  onSortingChange?: OnChangeFn<SortingState>;
  /** Row selection with a checkbox column when given. */
  rowSelection?: RowSelectionState;
  onRowSelectionChange?: OnChangeFn<RowSelectionState>;
  loading?: boolean;
  empty?: string;
}

/**
 * A table over TanStack Table whose paging and sorting happen on the server (the NBI's skip,
 * limit and sort), so 100k devices cost one page of rows. Column headers sort on click or Enter.
 */
export function DataTable<T>(props: DataTableProps<T>) {
  const { page, onPageChange, total, hasMore, sorting, onSortingChange, rowSelection, onRowSelectionChange } = props;
  const selectable = rowSelection !== undefined && onRowSelectionChange !== undefined;
  const columns: ColumnDef<T, unknown>[] = selectable
    ? [
        {
          id: '_select',
          enableSorting: false,
          header: ({ table }) => (
            <input
              type="checkbox"
              aria-label="Select all rows on this page"
              checked={table.getIsAllRowsSelected()}
              ref={(el) => {
                if (el) el.indeterminate = table.getIsSomeRowsSelected();
              }}
              onChange={table.getToggleAllRowsSelectedHandler()}
            />
          ),
          cell: ({ row }) => (
            <input
              type="checkbox"
              aria-label={`Select ${row.id}`}
              checked={row.getIsSelected()}
              onChange={row.getToggleSelectedHandler()}
            />
          ),
        },
        ...props.columns,
      ]
    : props.columns;

  const table = useReactTable<T>({
    data: props.data,
    columns,
    getRowId: props.getRowId,
    getCoreRowModel: getCoreRowModel(),
    manualPagination: true,
    manualSorting: true,
    enableMultiSort: false,
    state: { sorting: sorting ?? [], rowSelection: rowSelection ?? {} },
    onSortingChange,
    onRowSelectionChange,
    enableRowSelection: selectable,
    enableSorting: onSortingChange !== undefined,
  });

  const first = page.pageIndex * page.pageSize;
  const last = first + props.data.length;
  const pageCount = total !== undefined ? Math.max(1, Math.ceil(total / page.pageSize)) : undefined;
  const canNext = total !== undefined ? last < total : Boolean(hasMore);

  return (
    <div className="data-table">
      <div className="table-scroll">
        <table aria-busy={props.loading ? 'true' : 'false'}>
          <caption className="visually-hidden">{props.label}</caption>
          <thead>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  // server-side sorting needs no accessor: any column not opting out sorts by its id
                  const current = (sorting ?? []).find((x) => x.id === h.column.id);
                  const sorted = current ? (current.desc ? 'desc' : 'asc') : false;
                  const sortable = onSortingChange !== undefined && h.column.columnDef.enableSorting !== false && h.column.id !== '_select';
                  const content = h.isPlaceholder ? null : flexRender(h.column.columnDef.header, h.getContext());
                  return (
                    <th
                      key={h.id}
                      scope="col"
                      aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                    >
                      {sortable ? (
                        <button type="button" className="sort-button" onClick={() => onSortingChange?.(nextSort(sorting, h.column.id))}>
                          {content}
                          <span aria-hidden="true">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span>
                        </button>
                      ) : (
                        content
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id} aria-selected={selectable ? row.getIsSelected() : undefined}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                ))}
              </tr>
            ))}
            {props.data.length === 0 && (
              <tr>
                <td colSpan={columns.length} className="empty">
                  {props.loading ? 'Loading…' : (props.empty ?? 'Nothing found')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label={`${props.label} pages`}>
        <span role="status">
          {props.data.length === 0 ? 'No rows' : `${first + 1}–${last}`}
          {total !== undefined ? ` of ${total}` : ''}
        </span>
        <button type="button" disabled={page.pageIndex === 0} onClick={() => onPageChange({ ...page, pageIndex: page.pageIndex - 1 })}>
          Previous
        </button>
        <span>
          Page {page.pageIndex + 1}
          {pageCount !== undefined ? ` of ${pageCount}` : ''}
        </span>
        <button type="button" disabled={!canNext} onClick={() => onPageChange({ ...page, pageIndex: page.pageIndex + 1 })}>
          Next
        </button>
        <label>
          Rows per page{' '}
          <select value={page.pageSize} onChange={(e) => onPageChange({ pageIndex: 0, pageSize: Number(e.target.value) })}>
            {(props.pageSizes ?? [25, 50, 100]).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </nav>
    </div>
  );
}

/** A header click: unsorted, then ascending, then descending, then unsorted again. */
export function nextSort(sorting: SortingState | undefined, id: string): SortingState {
  const current = (sorting ?? []).find((s) => s.id === id);
  if (!current) return [{ id, desc: false }];
  return current.desc ? [] : [{ id, desc: true }];
}

/** A TanStack sorting state as the NBI's `sort` parameter: `{"field": 1|-1}`. */
export function sortParam(sorting: SortingState | undefined): Record<string, 1 | -1> | undefined {
  if (!sorting || sorting.length === 0) return undefined;
  return Object.fromEntries(sorting.map((s) => [s.id, s.desc ? -1 : 1]));
}
