import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { ProgressBar, SelectField, TextField, useToast } from '../../components';
import { FILE_TYPES, uploadRequest, type UploadForm as Form } from './model';

const EMPTY: Form = { name: '', fileType: FILE_TYPES[0][0], oui: '', productClass: '', version: '' };

/** Upload a file to the NBI (PUT /files/<name>, metadata in headers) with its progress. */
export function UploadForm() {
  const toast = useToast();
  const qc = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [form, setForm] = useState<Form>(EMPTY);
  const [errors, setErrors] = useState<ReturnType<typeof uploadRequest>['errors']>({});
  const [progress, setProgress] = useState<number | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setRefusal(null);
    const req = uploadRequest(form, file);
    setErrors(req.errors);
    if (!req.path || !file) return;
    setProgress(0);
    try {
      await api.upload(req.path, file, setProgress, req.headers);
      toast.notify('success', `Uploaded ${decodeURIComponent(req.path.slice('/files/'.length))}`);
      setForm(EMPTY);
      setFile(null);
      if (input.current) input.current.value = '';
      void qc.invalidateQueries({ queryKey: ['files'] });
    } catch (err) {
      setRefusal(err instanceof Error ? err.message : String(err));
    } finally {
      setProgress(null);
    }
  }

  const set = (key: keyof Form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="upload-title" noValidate>
      <h2 id="upload-title">Upload a file</h2>
      <div className="field">
        <label htmlFor="upload-file">File</label>
        <input
          id="upload-file"
          ref={input}
          type="file"
          aria-invalid={errors.file ? true : undefined}
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
        {errors.file && (
          <small className="field-error" role="alert">
            {errors.file}
          </small>
        )}
      </div>
      <div className="form-grid">
        <TextField label="Name" value={form.name} onChange={set('name')} error={errors.name} hint={file ? `Empty: ${file.name}` : 'Empty: the file’s own name'} />
        <SelectField label="File type" value={form.fileType} options={FILE_TYPES} onChange={set('fileType')} />
        <TextField label="OUI" value={form.oui} onChange={set('oui')} error={errors.oui} hint="Only devices of this OUI may download it" />
        <TextField label="Product class" value={form.productClass} onChange={set('productClass')} />
        <TextField label="Version" value={form.version} onChange={set('version')} />
      </div>
      {progress !== null && <ProgressBar label="Upload progress" value={progress} />}
      {refusal && (
        <p className="error" role="alert">
          The upload failed: {refusal}
        </p>
      )}
      <button type="submit" className="primary" disabled={progress !== null}>
        {progress !== null ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}
