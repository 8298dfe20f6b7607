import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { SelectField, TextField } from '../../components';

type Send = (body: Record<string, unknown>) => void;

const FILE_TYPES: Array<[string, string]> = [
  ['1 Firmware Upgrade Image', 'Firmware upgrade image'],
  ['2 Web Content', 'Web content'],
  ['3 Vendor Configuration File', 'Vendor configuration file'],
];
const DIAGNOSTICS: Array<[string, string]> = [
  ['ipPing', 'Ping'], ['traceRoute', 'Traceroute'], ['downloadDiagnostics', 'Download test'], ['uploadDiagnostics', 'Upload test'],
];

/** Reboot, factory reset, push a file, run diagnostics: tasks sent with a connection request. */
export function Actions({ send, busy }: { send: Send; busy: boolean }) {
  const { can } = useAuth();
  const [file, setFile] = useState('');
  const [fileType, setFileType] = useState(FILE_TYPES[0][0]);
  const [diag, setDiag] = useState('ipPing');
  const [target, setTarget] = useState('');
  const [length, setLength] = useState('1000000');
  const files = useQuery({
    queryKey: ['files', 'names'],
    queryFn: () => api.get<Array<{ filename?: string; _id: string }>>('/files/', { projection: 'filename', limit: 500 }),
    enabled: can('operate'),
  });
  if (!can('operate')) return <p className="muted panel">Your role (readonly) cannot send tasks to devices.</p>;

  function runDiag(e: FormEvent) {
    e.preventDefault();
    if (!target.trim()) return;
    const body: Record<string, unknown> = { name: diag };
    if (diag === 'ipPing' || diag === 'traceRoute') body.host = target.trim();
    if (diag === 'downloadDiagnostics') body.downloadURL = target.trim();
    if (diag === 'uploadDiagnostics') {
      body.uploadURL = target.trim();
      body.testFileLength = Number(length);
    }
    send(body);
  }

  return (
    <section className="panel" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div className="row">
        <button type="button" disabled={busy} onClick={() => { if (window.confirm('Reboot this device?')) send({ name: 'reboot' }); }}>Reboot</button>
        <button type="button" className="danger" disabled={busy}
          onClick={() => { if (window.confirm('Factory reset this device? Its configuration is lost.')) send({ name: 'factoryReset' }); }}>
          Factory reset
        </button>
        <button type="button" disabled={busy} onClick={() => send({ name: 'refreshObject', objectName: '' })}>Refresh all parameters</button>
      </div>
      <form className="row" onSubmit={(e) => { e.preventDefault(); if (file) send({ name: 'download', fileName: file, fileType }); }}>
        <SelectField label="File" value={file} onChange={(e) => setFile(e.target.value)}
          options={[['', 'Choose a file…'], ...(files.data ?? []).map((f): [string, string] => [f.filename ?? f._id, f.filename ?? f._id])]} />
        <SelectField label="File type" value={fileType} onChange={(e) => setFileType(e.target.value)} options={FILE_TYPES} />
        <button type="submit" disabled={!file || busy}>Push file</button>
      </form>
      <form className="row" onSubmit={runDiag}>
        <SelectField label="Diagnostic" value={diag} onChange={(e) => setDiag(e.target.value)} options={DIAGNOSTICS} />
        <TextField label={diag === 'ipPing' || diag === 'traceRoute' ? 'Host' : 'URL'} value={target} onChange={(e) => setTarget(e.target.value)}
          placeholder={diag === 'ipPing' || diag === 'traceRoute' ? '8.8.8.8' : 'http://…'} />
        {diag === 'uploadDiagnostics' && <TextField label="Test file length (bytes)" value={length} onChange={(e) => setLength(e.target.value)} inputMode="numeric" />}
        <button type="submit" disabled={!target.trim() || busy}>Run diagnostic</button>
      </form>
      <p className="hint">Results appear in the task list below as the device answers, and diagnostic results also under the device&apos;s diagnostics parameters.</p>
    </section>
  );
}
