import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client';
import { ErrorNote, SelectField, TextAreaField, TextField, useToast } from '../../components';
import { campaignBody, DEFAULT_FORM, type Campaign, type CampaignForm as Form, type FormErrors } from './model';

interface FileRow {
  _id: string;
  metadata?: { fileType?: string };
}

/** The create form: a file, the devices (a query), the waves; checked here, then by the NBI. */
export function CampaignForm({ onCreated }: { onCreated: (c: Campaign) => void }) {
  const toast = useToast();
  const qc = useQueryClient();
  const [form, setForm] = useState<Form>(DEFAULT_FORM);
  const [errors, setErrors] = useState<FormErrors>({});
  const [refusal, setRefusal] = useState<string | null>(null);
  const files = useQuery({ queryKey: ['files', 'names'], queryFn: () => api.get<FileRow[]>('/files/', { projection: 'metadata', sort: { filename: 1 } }) });

  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.post<Campaign>('/campaigns', body),
    onSuccess: (c) => {
      toast.notify('success', `Campaign ${c._id} started on ${c.total} devices`);
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      setForm(DEFAULT_FORM);
      onCreated(c);
    },
    onError: (e) => setRefusal(e instanceof ApiError ? e.message : String(e)),
  });

  const set = (key: keyof Form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));

  function submit(e: FormEvent) {
    e.preventDefault();
    setRefusal(null);
    const { body, errors: errs } = campaignBody(form);
    setErrors(errs);
    if (body) create.mutate(body);
  }

  const fileOptions: Array<[string, string]> = [['', files.isLoading ? 'Loading files…' : 'Choose a file'],
    ...(files.data ?? []).map((f) => [f._id, f.metadata?.fileType ? `${f._id} (${f.metadata.fileType})` : f._id] as [string, string])];

  return (
    <form className="panel campaign-form" onSubmit={submit} aria-labelledby="new-campaign" noValidate>
      <h2 id="new-campaign">New campaign</h2>
      <div className="form-grid">
        <TextField label="Name" value={form.name} onChange={set('name')} error={errors.name} hint="Left empty, the NBI names it" />
        <SelectField
          label="Firmware file"
          value={form.fileName}
          options={fileOptions}
          error={errors.fileName}
          onChange={(e) => {
            const picked = (files.data ?? []).find((f) => f._id === e.target.value);
            setForm((f) => ({ ...f, fileName: e.target.value, fileType: picked?.metadata?.fileType ?? f.fileType }));
          }}
        />
        <TextField label="File type" value={form.fileType} onChange={set('fileType')} error={errors.fileType} />
        <TextField label="Canary (% of devices)" inputMode="decimal" value={form.canaryPercent} onChange={set('canaryPercent')} error={errors.canaryPercent} />
        <TextField label="Wave growth (× previous wave)" inputMode="decimal" value={form.waveGrowth} onChange={set('waveGrowth')} error={errors.waveGrowth} />
        <TextField label="Downloads at once" inputMode="numeric" value={form.maxConcurrent} onChange={set('maxConcurrent')} error={errors.maxConcurrent} />
        <TextField
          label="Pause when failed above (%)"
          inputMode="decimal"
          value={form.failureThreshold}
          onChange={set('failureThreshold')}
          error={errors.failureThreshold}
          hint="Of a wave's devices"
        />
        <TextField
          label="Connection requests per second"
          inputMode="decimal"
          value={form.connectionRequestRate}
          onChange={set('connectionRequestRate')}
          error={errors.connectionRequestRate}
        />
      </div>
      <TextAreaField
        label="Devices (NBI query)"
        rows={3}
        className="mono"
        value={form.query}
        onChange={set('query')}
        error={errors.query}
        hint='e.g. {"_tags": "lab"} or {"_deviceId._ProductClass": "BM632w"}; {} selects every device'
      />
      <ErrorNote error={files.error} prefix="The files could not be listed: " />
      {refusal && (
        <p className="error" role="alert">
          The NBI refused the campaign: {refusal}
        </p>
      )}
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Starting…' : 'Start campaign'}
      </button>
    </form>
  );
}
