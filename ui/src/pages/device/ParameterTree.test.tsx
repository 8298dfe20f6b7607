import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AuthContext, type AuthState } from '../../auth/context';
import { roleCan } from '../../auth/permissions';
import type { Role } from '../../api/types';
import type { TreeNode } from '../../devices/tree';
import { ParameterTree, pendingPaths } from './ParameterTree';

const DEVICE = {
  _id: 'd1',
  InternetGatewayDevice: {
    _object: true,
    ManagementServer: {
      _object: true,
      PeriodicInformInterval: { _value: 300, _type: 'xsd:unsignedInt', _writable: true },
      URL: { _value: 'http://acs', _type: 'xsd:string', _writable: false },
    },
  },
} as unknown as TreeNode;

function withRole(role: Role, ui: React.ReactNode) {
  const auth: AuthState = { role, checking: false, can: (a) => roleCan(role, a), signIn: vi.fn(), signOut: vi.fn() };
  return <AuthContext.Provider value={auth}>{ui}</AuthContext.Provider>;
}

describe('ParameterTree', () => {
  it('expands objects on demand', async () => {
    render(withRole('operator', <ParameterTree device={DEVICE} send={vi.fn()} tasks={[]} />));
    expect(screen.queryByText('PeriodicInformInterval')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Expand InternetGatewayDevice.ManagementServer' }));
    expect(screen.getByText('PeriodicInformInterval')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Collapse InternetGatewayDevice.ManagementServer' })).toHaveAttribute('aria-expanded', 'true');
  });

  it('sends a type-checked setParameterValues and refuses a wrong type', async () => {
    const send = vi.fn();
    render(withRole('operator', <ParameterTree device={DEVICE} send={send} tasks={[]} />));
    await userEvent.type(screen.getByLabelText('Search parameters'), 'Periodic');
    const path = 'InternetGatewayDevice.ManagementServer.PeriodicInformInterval';
    await userEvent.click(screen.getByRole('button', { name: `Edit ${path}` }));
    const input = screen.getByLabelText(`New value of ${path}`);
    await userEvent.clear(input);
    await userEvent.type(input, 'soon{Enter}');
    expect(screen.getByRole('alert')).toHaveTextContent('xsd:unsignedInt needs a whole number');
    expect(send).not.toHaveBeenCalled();
    await userEvent.clear(input);
    await userEvent.type(input, '600{Enter}');
    expect(send).toHaveBeenCalledWith({ name: 'setParameterValues', parameterValues: [[path, 600, 'xsd:unsignedInt']] });
  });

  it('offers no edits to a readonly user, nor for a parameter the device says is read-only', async () => {
    render(withRole('readonly', <ParameterTree device={DEVICE} send={vi.fn()} tasks={[]} />));
    await userEvent.type(screen.getByLabelText('Search parameters'), 'ManagementServer');
    expect(screen.getByText('300')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Edit/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Refresh/ })).toBeNull();
  });

  it('marks paths of pending tasks', () => {
    const tasks = [
      { _id: '1', device: 'd1', name: 'refreshObject', status: 'pending', objectName: 'A.B.' },
      { _id: '2', device: 'd1', name: 'setParameterValues', status: 'pending', parameterValues: [['A.C', 1]] },
      { _id: '3', device: 'd1', name: 'refreshObject', status: 'done', objectName: 'A.D' },
    ];
    expect([...pendingPaths(tasks)].sort()).toEqual(['A.B', 'A.C']);
  });
});
