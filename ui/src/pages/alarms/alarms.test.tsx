import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import type { Role } from '../../api/types';
import { AuthContext } from '../../auth/context';
import { roleCan } from '../../auth';
import { ToastProvider } from '../../components';
import AlarmsPage from './index';
import {
  activeCountText, alarmQuery, draftOf, EMPTY_FILTER, fromParams, NEW_RULE, ruleBody, ruleText, stateText, stateTitle, toParams, validRuleName,
  type Alarm,
} from './model';
import { RuleForm } from './RuleForm';

type Answer = { status?: number; body: unknown };

/** The NBI at the client boundary: canned answers by "METHOD path", and the calls made. */
function nbi(answers: Record<string, Answer>) {
  const calls: { method: string; path: string; query: URLSearchParams; body: unknown }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const u = new URL(url, 'http://console');
    const path = decodeURIComponent(u.pathname.replace(/^\/api/, ''));
    calls.push({ method, path, query: u.searchParams, body: init.body ? JSON.parse(String(init.body)) : null });
    const a = answers[`${method} ${path}`] ?? { status: 404, body: { error: 'not found' } };
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
      status: a.status ?? 200, headers: { 'Content-Type': 'application/json' },
    });
  });
  return calls;
}

function wrap(role: Role, children: React.ReactNode) {
  return render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <AuthContext.Provider value={{ role, checking: false, can: (a) => roleCan(role, a), signIn: async () => role, signOut: () => {} }}>
        <ToastProvider>
          <MemoryRouter initialEntries={['/alarms']}>{children}</MemoryRouter>
        </ToastProvider>
      </AuthContext.Provider>
    </QueryClientProvider>,
  );
}

const ALARM: Alarm = {
  _id: 'OUI-M-S1:cpu-high', device: 'OUI-M-S1', rule: 'cpu-high', kind: 'threshold', severity: 'major', state: 'raised',
  raisedAt: '2026-12-07T12:00:00.000Z', parameter: 'Device.DeviceInfo.ProcessStatus.CPUUsage', value: 97,
  message: 'Device.DeviceInfo.ProcessStatus.CPUUsage = 97 (> 90)', acknowledged: false,
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('alarm filter', () => {
  it('round-trips through the URL and becomes /alarms parameters with one row more than a page', () => {
    const f = { state: 'raised' as const, acknowledged: 'false' as const, rule: ' cpu-high ', device: '' };
    expect(toParams(f)).toEqual({ state: 'raised', acknowledged: 'false', rule: 'cpu-high' });
    expect(fromParams(new URLSearchParams(toParams(f)))).toEqual({ ...f, rule: 'cpu-high' });
    expect(alarmQuery(f, 2, 25)).toEqual({ state: 'raised', acknowledged: 'false', rule: 'cpu-high', skip: 50, limit: 26 });
    expect(alarmQuery(EMPTY_FILTER, 0, 25)).toEqual({ skip: 0, limit: 26 });
  });

  it('ignores states the NBI does not know', () => {
    expect(fromParams(new URLSearchParams('state=open&acknowledged=maybe'))).toEqual(EMPTY_FILTER);
  });

  it('says whether an alarm was acknowledged, and counts active ones up to a limit', () => {
    expect(stateText({ state: 'raised', acknowledged: false })).toBe('raised');
    expect(stateText({ state: 'cleared', acknowledged: true })).toBe('cleared, acknowledged');
    expect(activeCountText(0)).toBe('');
    expect(activeCountText(7)).toBe('7');
    expect(activeCountText(100)).toBe('99+');
  });
});

describe('alarm rule body', () => {
  it('sends only the fields a threshold rule uses, numbers as numbers', () => {
    const d = { ...NEW_RULE, name: 'cpu', parameter: ' Device.X.CPU ', value: '90', clearValue: '80', missingS: '60', model: 'IGD' };
    expect(ruleBody(d)).toEqual({ kind: 'threshold', severity: 'major', parameter: 'Device.X.CPU', op: '>', value: 90, clearValue: 80, model: 'IGD' });
  });

  it('sends missingS alone for a missing-informs rule, and enabled only when off', () => {
    const d = { ...NEW_RULE, kind: 'missing-informs' as const, parameter: 'ignored', value: '3', missingS: '600', enabled: false };
    expect(ruleBody(d)).toEqual({ kind: 'missing-informs', severity: 'major', missingS: 600, enabled: false });
  });

  it('leaves a value that is not a number as text, for the NBI to name', () => {
    expect(ruleBody({ ...NEW_RULE, parameter: 'A.B', value: 'lots' }).value).toBe('lots');
  });

  it('reads a stored rule back into the form and describes it in one line', () => {
    const stored = { _id: 'wifi', kind: 'rate' as const, parameter: 'Device.WiFi.Radio.*.Stats.ErrorsSent', op: '>', value: 5, severity: 'minor' };
    const d = draftOf(stored);
    expect(d).toMatchObject({ name: 'wifi', kind: 'rate', value: '5', clearValue: '', severity: 'minor', enabled: true });
    expect(ruleBody(d)).toEqual({ kind: 'rate', severity: 'minor', parameter: stored.parameter, op: '>', value: 5 });
    expect(ruleText(stored)).toBe('Device.WiFi.Radio.*.Stats.ErrorsSent changes > 5/s');
    expect(ruleText({ _id: 'm', kind: 'missing-informs', missingS: 600 })).toBe('no Inform for 600 s');
    expect(ruleText({ _id: 'c', kind: 'threshold', parameter: 'A.B', op: '>=', value: 90, clearValue: 80 })).toBe('A.B >= 90 (clears at 80)');
  });

  it('checks the rule name as the NBI does', () => {
    expect(validRuleName('cpu-high.v2_1')).toBe(true);
    expect(validRuleName('')).toBe(false);
    expect(validRuleName('a b')).toBe(false);
    expect(validRuleName('x'.repeat(65))).toBe(false);
  });
});

describe('RuleForm', () => {
  it("shows the NBI's 400 next to the form and stays open", async () => {
    const calls = nbi({
      'PUT /alarm-rules/cpu': { status: 400, body: { error: 'bad rule', detail: 'value must be a number' } },
    });
    const done = vi.fn();
    wrap('admin', <RuleForm initial={NEW_RULE} isNew onDone={done} />);
    await userEvent.type(screen.getByLabelText('Rule name'), 'cpu');
    await userEvent.type(screen.getByLabelText('Parameter'), 'Device.X.CPU');
    await userEvent.click(screen.getByRole('button', { name: 'Save rule' }));
    expect(await screen.findByText('The NBI refused it: bad rule (value must be a number)')).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ kind: 'threshold', severity: 'major', parameter: 'Device.X.CPU', op: '>' });
    expect(done).not.toHaveBeenCalled();
  });

  it('refuses a name the NBI would refuse without calling it', async () => {
    const calls = nbi({});
    wrap('admin', <RuleForm initial={NEW_RULE} isNew onDone={() => {}} />);
    await userEvent.type(screen.getByLabelText('Rule name'), 'has space');
    await userEvent.click(screen.getByRole('button', { name: 'Save rule' }));
    expect(await screen.findByText("1-64 letters, digits, '_', '-' or '.'")).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});

describe('AlarmsPage', () => {
  it('lets an operator acknowledge an alarm, but not edit rules', async () => {
    const calls = nbi({
      'GET /alarms': { body: [ALARM] },
      'GET /alarm-rules': { body: [{ _id: 'cpu-high', kind: 'threshold', parameter: ALARM.parameter, op: '>', value: 90 }] },
      'POST /alarms/OUI-M-S1:cpu-high/ack': { body: undefined },
    });
    wrap('operator', <AlarmsPage />);
    const table = await screen.findByRole('table', { name: 'Alarms' });
    expect(await within(table).findByRole('link', { name: 'OUI-M-S1' })).toHaveAttribute('href', '/devices/OUI-M-S1');
    expect(within(table).getByText('97')).toBeInTheDocument();
    expect(screen.getByText('Changing alarm rules needs the admin role.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit rule cpu-high' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Acknowledge alarm OUI-M-S1:cpu-high' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/alarms/OUI-M-S1:cpu-high/ack')).toBe(true));
    const list = calls.find((c) => c.path === '/alarms');
    expect(list?.query.get('limit')).toBe('26');
  });

  it('shows a readonly user the alarms with acknowledging disabled', async () => {
    nbi({ 'GET /alarms': { body: [ALARM] }, 'GET /alarm-rules': { body: [] } });
    wrap('readonly', <AlarmsPage />);
    expect(await screen.findByRole('button', { name: 'Acknowledge alarm OUI-M-S1:cpu-high' })).toBeDisabled();
    expect(screen.getByText('Acknowledging alarms needs the operator role.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /selected/ })).toBeNull();
  });

  it('offers admins to edit and delete rules (after a confirmation)', async () => {
    const calls = nbi({
      'GET /alarms': { body: [] },
      'GET /alarm-rules': { body: [{ _id: 'cpu-high', kind: 'threshold', parameter: 'A.B', op: '>', value: 90 }] },
      'DELETE /alarm-rules/cpu-high': { body: undefined },
    });
    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    wrap('admin', <AlarmsPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete rule cpu-high' }));
    expect(confirm).toHaveBeenCalled();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    confirm.mockReturnValue(true);
    await userEvent.click(screen.getByRole('button', { name: 'Delete rule cpu-high' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE' && c.path === '/alarm-rules/cpu-high')).toBe(true));
    await userEvent.click(screen.getByRole('button', { name: 'Edit rule cpu-high' }));
    expect(screen.getByLabelText('Rule name')).toHaveValue('cpu-high');
    expect(screen.getByLabelText('Limit')).toHaveValue('90');
  });
});

describe('stateTitle', () => {
  const at = (iso: string) => iso.slice(11, 16);
  it('says when it cleared and who acknowledged it', () => {
    const a: Alarm = {
      _id: 'D:cpu', device: 'D', rule: 'cpu', state: 'cleared', clearedAt: '2026-03-01T10:30:00Z', acknowledged: true,
      ackedAt: '2026-03-01T10:20:00Z', ackedBy: { token: 'abcdef012345', role: 'operator', user: 'noc-anna' },
    };
    expect(stateTitle(a, at)).toBe('cleared 10:30; acknowledged 10:20 by noc-anna (operator)');
    expect(stateTitle({ ...a, ackedBy: { token: 'abcdef012345', role: 'admin' } }, at)).toContain('by token abcdef012345 (admin)');
    expect(stateTitle({ _id: 'D:x', device: 'D', rule: 'x', state: 'raised' }, at)).toBeUndefined();
  });
});
