import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import type { ColumnDef, RowSelectionState, SortingState } from '@tanstack/react-table';
import { DataTable, sortParam, type PageState } from './DataTable';

interface Row { id: string; name: string }
const COLUMNS: ColumnDef<Row, unknown>[] = [
  { id: 'name', header: 'Name', cell: ({ row }) => row.original.name },
  { id: 'id', header: 'Id', enableSorting: false, cell: ({ row }) => row.original.id },
];
const ROWS: Row[] = [{ id: 'a', name: 'Alpha' }, { id: 'b', name: 'Beta' }];

function Harness({ onPage, onSort, total, hasMore }: { onPage?: (p: PageState) => void; onSort?: (s: SortingState) => void; total?: number; hasMore?: boolean }) {
  const [page, setPage] = useState<PageState>({ pageIndex: 0, pageSize: 2 });
  const [sorting, setSorting] = useState<SortingState>([]);
  const [selection, setSelection] = useState<RowSelectionState>({});
  return (
    <>
      <DataTable<Row>
        label="Things" columns={COLUMNS} data={ROWS} getRowId={(r) => r.id}
        page={page} onPageChange={(p) => { setPage(p); onPage?.(p); }}
        total={total} hasMore={hasMore}
        sorting={sorting} onSortingChange={(u) => { const s = typeof u === 'function' ? u(sorting) : u; setSorting(s); onSort?.(s); }}
        rowSelection={selection} onRowSelectionChange={setSelection}
      />
      <output aria-label="selected">{Object.keys(selection).filter((k) => selection[k]).sort().join(',')}</output>
    </>
  );
}

describe('DataTable', () => {
  it('renders a captioned table with its rows', () => {
    render(<Harness total={2} />);
    const table = screen.getByRole('table', { name: 'Things' });
    expect(table).toBeInTheDocument();
    expect(screen.getByText('Alpha')).toBeInTheDocument();
    expect(screen.getByText('1–2 of 2')).toBeInTheDocument();
  });

  it('sorts on the server: a header click asks for ascending, then descending', async () => {
    const onSort = vi.fn();
    render(<Harness onSort={onSort} total={2} />);
    await userEvent.click(screen.getByRole('button', { name: /Name/ }));
    expect(onSort).toHaveBeenLastCalledWith([{ id: 'name', desc: false }]);
    expect(sortParam(onSort.mock.lastCall![0])).toEqual({ name: 1 });
    expect(screen.getByRole('columnheader', { name: /Name/ })).toHaveAttribute('aria-sort', 'ascending');
    await userEvent.click(screen.getByRole('button', { name: /Name/ }));
    expect(sortParam(onSort.mock.lastCall![0])).toEqual({ name: -1 });
    expect(screen.queryByRole('button', { name: /^Id/ })).toBeNull();
  });

  it('pages forward only when the server says there is more', async () => {
    const onPage = vi.fn();
    const { unmount } = render(<Harness onPage={onPage} hasMore={false} />);
    expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled();
    unmount();
    render(<Harness onPage={onPage} hasMore />);
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(onPage).toHaveBeenLastCalledWith({ pageIndex: 1, pageSize: 2 });
    expect(screen.getByText('Page 2')).toBeInTheDocument();
  });

  it('selects rows one by one or the whole page', async () => {
    render(<Harness total={2} />);
    await userEvent.click(screen.getByRole('checkbox', { name: 'Select b' }));
    expect(screen.getByLabelText('selected')).toHaveTextContent('b');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Select all rows on this page' }));
    expect(screen.getByLabelText('selected')).toHaveTextContent('a,b');
  });
});
