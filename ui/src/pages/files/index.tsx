import './files.css';
import { useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef, SortingState } from '@tanstack/react-table';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { bytes, DataTable, dateTime, ErrorNote, PageHeader, type PageState, sortParam, useToast } from '../../components';
import type { FileDoc } from './model';
import { UploadForm } from './UploadForm';

/** Files of the file server: list (paged, sorted), upload with progress and delete (admin). */
export default function FilesPage() {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const admin = can('admin');
  const [page, setPage] = useState<PageState>({ pageIndex: 0, pageSize: 25 });
  const [sorting, setSorting] = useState<SortingState>([{ id: 'uploadDate', desc: true }]);
  const result = useQuery({
    queryKey: ['files', page, sorting],
    queryFn: () => api.get<FileDoc[]>('/files/', { sort: sortParam(sorting), skip: page.pageIndex * page.pageSize, limit: page.pageSize + 1 }),
    placeholderData: keepPreviousData,
  });
  const remove = useMutation({
    mutationFn: (name: string) => api.del(`/files/${encodeURIComponent(name)}`),
    onSuccess: (_, name) => toast.notify('success', `Deleted ${name}`),
    onError: (e) => toast.notify('error', e.message),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['files'] }),
  });

  const columns: ColumnDef<FileDoc, unknown>[] = [
    { id: 'filename', header: 'Name', cell: ({ row }) => <span className="mono">{row.original._id}</span> },
    { id: 'metadata.fileType', header: 'Type', cell: ({ row }) => row.original.metadata?.fileType ?? '' },
    { id: 'metadata.oui', header: 'OUI', cell: ({ row }) => row.original.metadata?.oui ?? '' },
    { id: 'metadata.productClass', header: 'Product class', cell: ({ row }) => row.original.metadata?.productClass ?? '' },
    { id: 'metadata.version', header: 'Version', cell: ({ row }) => row.original.metadata?.version ?? '' },
    { id: 'length', header: 'Size', cell: ({ row }) => bytes(row.original.length) },
    { id: 'uploadDate', header: 'Uploaded', cell: ({ row }) => dateTime(row.original.uploadDate) },
    { id: 'md5', header: 'MD5', enableSorting: false, cell: ({ row }) => <span className="mono small">{row.original.metadata?.md5 ?? ''}</span> },
    {
      id: 'actions',
      header: 'Actions',
      enableSorting: false,
      cell: ({ row }) => (
        <button
          type="button"
          className="danger"
          disabled={!admin || remove.isPending}
          aria-label={`Delete ${row.original._id}`}
          onClick={() => {
            if (window.confirm(`Delete ${row.original._id}? Devices can no longer download it.`)) remove.mutate(row.original._id);
          }}
        >
          Delete
        </button>
      ),
    },
  ];

  return (
    <>
      <PageHeader title="Files" />
      {admin ? <UploadForm /> : <p className="muted">Uploading and deleting files needs the admin role.</p>}
      <ErrorNote error={result.error} />
      <DataTable
        label="Files"
        columns={columns}
        data={(result.data ?? []).slice(0, page.pageSize)}
        getRowId={(f) => f._id}
        page={page}
        onPageChange={setPage}
        hasMore={(result.data?.length ?? 0) > page.pageSize}
        sorting={sorting}
        onSortingChange={setSorting}
        loading={result.isLoading}
        empty="No file yet."
      />
    </>
  );
}
