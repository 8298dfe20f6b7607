import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { Device } from '../../api/types';
import { useAuth } from '../../auth';
import { ago, dateTime, duration, useToast } from '../../components';
import { paramValue, PATHS, presence, text } from '../../devices/fields';

/** Model, firmware, uptime, WAN IP, last inform and online state; tags, editable by operators. */
export function Summary({ device }: { device: Device }) {
  const { can } = useAuth();
  const { notify } = useToast();
  const qc = useQueryClient();
  const [tag, setTag] = useState('');
  const p = presence(device._lastInform);
  const id = encodeURIComponent(device._id);
  const upTime = Number(paramValue(device, PATHS.upTime));

  async function changeTag(method: 'post' | 'del', t: string) {
    try {
      await (method === 'post' ? api.post(`/devices/${id}/tags/${encodeURIComponent(t)}`) : api.del(`/devices/${id}/tags/${encodeURIComponent(t)}`));
      setTag('');
      void qc.invalidateQueries({ queryKey: ['device', device._id] });
    } catch (e) {
      notify('error', e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <section className="panel" aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <dl className="summary">
        <dt>State</dt>
        <dd><span className={`badge badge-${p}`} data-testid="presence">{p}</span></dd>
        <dt>Serial number</dt>
        <dd className="mono">{device._deviceId?._SerialNumber}</dd>
        <dt>Manufacturer / OUI</dt>
        <dd>{device._deviceId?._Manufacturer} {device._deviceId?._OUI}</dd>
        <dt>Product class / model</dt>
        <dd>{device._deviceId?._ProductClass} {text(paramValue(device, PATHS.modelName))}</dd>
        <dt>Firmware</dt>
        <dd data-testid="firmware">{text(paramValue(device, PATHS.softwareVersion))}</dd>
        <dt>Hardware</dt>
        <dd>{text(paramValue(device, PATHS.hardwareVersion))}</dd>
        <dt>Uptime</dt>
        <dd>{Number.isFinite(upTime) ? duration(upTime) : ''}</dd>
        <dt>WAN IP</dt>
        <dd className="mono">{text(paramValue(device, PATHS.wanIp))}</dd>
        <dt>Last inform</dt>
        <dd title={dateTime(device._lastInform)}>{ago(device._lastInform)}</dd>
        <dt>Last boot</dt>
        <dd title={dateTime(device._lastBoot)}>{ago(device._lastBoot)}</dd>
        <dt>Registered</dt>
        <dd>{dateTime(device._registered)}</dd>
        <dt>Tags</dt>
        <dd>
          <ul className="tags" aria-label="Tags">
            {(device._tags ?? []).map((t) => (
              <li key={t}>
                {t}
                {can('operate') && (
                  <button type="button" className="link" aria-label={`Remove tag ${t}`} onClick={() => changeTag('del', t)}>×</button>
                )}
              </li>
            ))}
          </ul>
          {can('operate') && (
            <form className="row" onSubmit={(e) => { e.preventDefault(); if (tag.trim()) void changeTag('post', tag.trim()); }}>
              <label className="inline">New tag <input value={tag} onChange={(e) => setTag(e.target.value)} size={12} /></label>
              <button type="submit">Add tag</button>
            </form>
          )}
        </dd>
      </dl>
    </section>
  );
}
