import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../../api/client';
import { useAuth } from '../../auth';
import { TextAreaField, TextField, useToast } from '../../components';
import { parseText, toText, validName, type Preset } from './model';

/** The NBI's refusal in words: its error, and where its detail points. */
export function refusalText(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  if (e.detail === null || e.detail === undefined) return e.error;
  return `${e.error} (${typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)})`;
}

/**
 * Create or edit a preset as JSON. The text is parsed here; everything else (fields, events,
 * schedule, precondition, configurations, declarations) is checked by the NBI, whose message
 * is shown under the editor.
 */
export function PresetEditor({ preset, onSaved, onClose }: { preset: Preset | null; onSaved: (name: string) => void; onClose: () => void }) {
  const { can } = useAuth();
  const toast = useToast();
  const qc = useQueryClient();
  const admin = can('admin');
  const isNew = !preset?._id;
  const [name, setName] = useState(preset?._id ?? '');
  const [text, setText] = useState(() => toText(preset ?? { weight: 0, channel: 'default', events: { '1 BOOT': true }, precondition: '', configurations: [] }));
  const [nameError, setNameError] = useState<string | null>(null);
  const [textError, setTextError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: ({ n, body }: { n: string; body: Record<string, unknown> }) => api.put(`/presets/${encodeURIComponent(n)}`, body),
    onSuccess: (_, { n }) => {
      toast.notify('success', `Preset ${n} saved`);
      void qc.invalidateQueries({ queryKey: ['presets'] });
      onSaved(n);
    },
    onError: (e) => setTextError(`The NBI refused it: ${refusalText(e)}`),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const n = name.trim();
    setNameError(validName(n) ? null : 'a name without spaces or "/"');
    const { body, error } = parseText(text);
    setTextError(error ?? null);
    if (body && validName(n)) save.mutate({ n, body });
  }

  return (
    <form className="panel preset-editor" onSubmit={submit} aria-labelledby="preset-editor-title" noValidate>
      <div className="row spread">
        <h2 id="preset-editor-title">{isNew ? 'New preset' : `Preset ${preset?._id}`}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <TextField label="Preset name" value={name} readOnly={!isNew} onChange={(e) => setName(e.target.value)} error={nameError ?? undefined} />
      <TextAreaField
        label="Preset (JSON)"
        className="mono"
        rows={18}
        spellCheck={false}
        value={text}
        readOnly={!admin}
        onChange={(e) => setText(e.target.value)}
        error={textError ?? undefined}
        hint="weight, channel, events, schedule, precondition (a device query), configurations, declarations"
      />
      {admin ? (
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save preset'}
        </button>
      ) : (
        <p className="muted">Editing presets needs the admin role.</p>
      )}
    </form>
  );
}
