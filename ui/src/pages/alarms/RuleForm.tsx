import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { SelectField, TextField, useToast } from '../../components';
import { refusalText } from '../presets/PresetEditor';
import { KINDS, OPS, ruleBody, SEVERITIES, validRuleName, type RuleDraft, type RuleKind } from './model';

/**
 * Create or replace an alarm rule (admin): the fields its kind uses, sent as PUT
 * /alarm-rules/<name>. The NBI checks the body; its refusal is shown under the form.
 */
export function RuleForm({ initial, isNew, onDone }: { initial: RuleDraft; isNew: boolean; onDone: () => void }) {
  const toast = useToast();
  const qc = useQueryClient();
  const [d, setD] = useState<RuleDraft>(initial);
  const [nameError, setNameError] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const set = (patch: Partial<RuleDraft>) => setD((x) => ({ ...x, ...patch }));

  const save = useMutation({
    mutationFn: (draft: RuleDraft) => api.put(`/alarm-rules/${encodeURIComponent(draft.name.trim())}`, ruleBody(draft)),
    onSuccess: (_, draft) => {
      toast.notify('success', `Alarm rule ${draft.name.trim()} saved`);
      void qc.invalidateQueries({ queryKey: ['alarm-rules'] });
      onDone();
    },
    onError: (e) => setRefusal(`The NBI refused it: ${refusalText(e)}`),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const ok = validRuleName(d.name.trim());
    setNameError(ok ? null : "1-64 letters, digits, '_', '-' or '.'");
    setRefusal(null);
    if (ok) save.mutate(d);
  }

  const missing = d.kind === 'missing-informs';
  return (
    <form className="panel rule-form" onSubmit={submit} aria-labelledby="rule-form-title" noValidate>
      <div className="row spread">
        <h2 id="rule-form-title">{isNew ? 'New alarm rule' : `Alarm rule ${initial.name}`}</h2>
        <button type="button" onClick={onDone}>
          Close
        </button>
      </div>
      <div className="form-grid">
        <TextField label="Rule name" value={d.name} readOnly={!isNew} onChange={(e) => set({ name: e.target.value })} error={nameError ?? undefined} />
        <SelectField label="Kind" value={d.kind} options={KINDS} onChange={(e) => set({ kind: e.target.value as RuleKind })} />
        <SelectField label="Severity" value={d.severity} options={SEVERITIES} onChange={(e) => set({ severity: e.target.value })} />
        {missing ? (
          <TextField label="Seconds without an Inform" inputMode="numeric" value={d.missingS} onChange={(e) => set({ missingS: e.target.value })} />
        ) : (
          <>
            <TextField label="Parameter" className="mono" value={d.parameter} onChange={(e) => set({ parameter: e.target.value })}
              hint="'*' for any instance number, e.g. Device.WiFi.Radio.*.Stats.ErrorsSent" />
            <SelectField label="Operator" value={d.op} options={OPS} onChange={(e) => set({ op: e.target.value })} />
            <TextField label={d.kind === 'rate' ? 'Limit (per second)' : 'Limit'} inputMode="decimal" value={d.value} onChange={(e) => set({ value: e.target.value })} />
            <TextField label="Clears at" inputMode="decimal" value={d.clearValue} onChange={(e) => set({ clearValue: e.target.value })}
              hint="optional: the alarm clears only past this value (no flapping)" />
          </>
        )}
        <TextField label="Product class" value={d.model} onChange={(e) => set({ model: e.target.value })} hint="optional: one model only" />
        <TextField label="Description" value={d.description} onChange={(e) => set({ description: e.target.value })} />
      </div>
      <label className="inline">
        <input type="checkbox" checked={d.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
      </label>
      {refusal && (
        <p className="error" role="alert">
          {refusal}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save rule'}
        </button>
      </div>
    </form>
  );
}
