import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { Role } from '../../api/types';
import { ApiError } from '../../api/client';
import { AuthContext } from '../../auth/context';
import { roleCan } from '../../auth';
import { ToastProvider } from '../../components';
import { eventsText, parseText, TEMPLATE, toText, validName } from './model';
import { PresetEditor, refusalText } from './PresetEditor';

function editor(role: Role, preset: Parameters<typeof PresetEditor>[0]['preset']) {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <AuthContext.Provider value={{ role, checking: false, can: (a) => roleCan(role, a), signIn: async () => role, signOut: () => {} }}>
        <ToastProvider>
          <PresetEditor preset={preset} onSaved={() => {}} onClose={() => {}} />
        </ToastProvider>
      </AuthContext.Provider>
    </QueryClientProvider>,
  );
}

describe('preset text', () => {
  it('shows a stored JSON precondition as an object, without _id, and reads it back', () => {
    const text = toText({ _id: 'fw', weight: 1, precondition: '{"_tags":"lab"}', configurations: [] });
    expect(JSON.parse(text)).toEqual({ weight: 1, precondition: { _tags: 'lab' }, configurations: [] });
    expect(parseText(text).body).toEqual({ weight: 1, precondition: { _tags: 'lab' }, configurations: [] });
  });

  it('keeps a precondition that is not JSON as its string', () => {
    expect(JSON.parse(toText({ precondition: 'not json' })).precondition).toBe('not json');
  });

  it('says why the text is not a preset', () => {
    expect(parseText('{"weight": ').error).toMatch(/^not valid JSON/);
    expect(parseText('[]').error).toBe('a preset is a JSON object');
  });

  it('checks names and lists the triggering events', () => {
    expect(validName('fw-2')).toBe(true);
    expect(validName('a b')).toBe(false);
    expect(validName('a/b')).toBe(false);
    expect(eventsText({ '1 BOOT': true, '0 BOOTSTRAP': false, '2 PERIODIC': true })).toBe('1 BOOT, 2 PERIODIC');
  });

  it("words the NBI's refusal with where its detail points", () => {
    expect(refusalText(new ApiError(400, 'unknown preset fields ["x"]', ['channel', 'weight']))).toBe('unknown preset fields ["x"] (["channel","weight"])');
    expect(refusalText(new ApiError(400, 'weight must be an integer', 'a'))).toBe('weight must be an integer (a)');
  });
});

describe('PresetEditor', () => {
  it('shows a JSON error under the editor without sending it', async () => {
    editor('admin', { _id: '', ...TEMPLATE });
    await userEvent.type(screen.getByLabelText('Preset name'), 'fw');
    const area = screen.getByLabelText('Preset (JSON)');
    await userEvent.clear(area);
    await userEvent.type(area, '{{"weight": ');
    await userEvent.click(screen.getByRole('button', { name: 'Save preset' }));
    expect(screen.getByRole('alert')).toHaveTextContent(/not valid JSON/);
    expect(area).toHaveAttribute('aria-invalid', 'true');
  });

  it('refuses a name with a space', async () => {
    editor('admin', null);
    await userEvent.type(screen.getByLabelText('Preset name'), 'my preset');
    await userEvent.click(screen.getByRole('button', { name: 'Save preset' }));
    expect(screen.getByRole('alert')).toHaveTextContent('a name without spaces or "/"');
  });

  it('is read-only below admin', () => {
    editor('operator', { _id: 'fw', ...TEMPLATE });
    expect(screen.getByLabelText('Preset (JSON)')).toHaveAttribute('readonly');
    expect(screen.getByLabelText('Preset name')).toHaveAttribute('readonly');
    expect(screen.queryByRole('button', { name: 'Save preset' })).toBeNull();
    expect(screen.getByText('Editing presets needs the admin role.')).toBeInTheDocument();
  });
});
