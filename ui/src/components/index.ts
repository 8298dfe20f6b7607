export { DataTable, sortParam, type DataTableProps, type PageState } from './DataTable';
export { usePolling, usePageVisible } from './usePolling';
export { TextField, SelectField, TextAreaField } from './Field';
export { ToastProvider, useToast, type ToastKind } from './Toast';
export { ProgressBar } from './ProgressBar';
export { ago, dateTime, duration, bytes } from './format';
export { PageHeader } from './PageHeader';
export { ErrorNote } from './ErrorNote';
