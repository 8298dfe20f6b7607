import { useParams, Link } from 'react-router';
import { ago, dateTime, ErrorNote, PageHeader } from '../../components';
import type { TreeNode } from '../../devices/tree';
import { Actions } from './Actions';
import { DiagnosticsResults } from './DiagnosticsResults';
import { KpiHistory } from './KpiHistory';
import { ParameterTree } from './ParameterTree';
import { Summary } from './Summary';
import { FaultList, TaskList } from './TaskList';
import { useDeviceDoc, useDeviceFaults, useDeviceTasks, useSendTask } from './useDevice';

/** One device: summary, actions, parameter tree, live task queue, faults, KPI history, contact history. */
export default function DevicePage() {
  const id = useParams().id ?? ''; // react-router hands it decoded
  const device = useDeviceDoc(id);
  const tasks = useDeviceTasks(id);
  const faults = useDeviceFaults(id);
  const sendTask = useSendTask(id);
  const send = (body: Record<string, unknown>) => sendTask.mutate(body);

  if (device.isPending) return <p className="loading">Loading {id}…</p>;
  if (device.error) return <ErrorNote error={device.error} />;
  if (!device.data) {
    return (
      <>
        <PageHeader title="Device not found" />
        <p>No device {id}. <Link to="/devices">Back to the devices</Link></p>
      </>
    );
  }
  const d = device.data;
  const events = (d._acs as { lastEvents?: unknown } | undefined)?.lastEvents;
  return (
    <>
      <PageHeader title={d._deviceId?._SerialNumber ?? id}>
        <span className="mono muted">{id}</span>
      </PageHeader>
      <div className="grid">
        <Summary device={d} />
        <div>
          <Actions send={send} busy={sendTask.isPending} />
          <section className="panel" aria-labelledby="history-title">
            <h2 id="history-title">Session history</h2>
            <dl className="summary">
              <dt>Last inform</dt><dd>{dateTime(d._lastInform)} ({ago(d._lastInform)})</dd>
              <dt>Last boot</dt><dd>{dateTime(d._lastBoot)}</dd>
              <dt>Last bootstrap</dt><dd>{dateTime(d._lastBootstrap as string | undefined)}</dd>
              <dt>Registered</dt><dd>{dateTime(d._registered)}</dd>
              {events !== undefined && <><dt>Last events</dt><dd className="mono">{JSON.stringify(events)}</dd></>}
            </dl>
          </section>
        </div>
      </div>
      <TaskList deviceId={id} tasks={tasks.data} />
      <DiagnosticsResults tasks={tasks.data} />
      <FaultList deviceId={id} faults={faults.data} />
      <KpiHistory deviceId={id} />
      <ParameterTree device={d as unknown as TreeNode} send={send} tasks={tasks.data} />
    </>
  );
}
