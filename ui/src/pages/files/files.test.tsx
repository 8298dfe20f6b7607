import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ToastProvider } from '../../components';
import { uploadRequest } from './model';
import { UploadForm } from './UploadForm';

const FORM = { name: '', fileType: '1 Firmware Upgrade Image', oui: '', productClass: '', version: '' };

describe('uploadRequest', () => {
  it("names the file after the chosen one and sends the metadata headers the NBI reads", () => {
    const r = uploadRequest({ ...FORM, oui: 'a0b1c2', productClass: 'IGD', version: '2.0' }, { name: 'fw 2.0.bin' });
    expect(r.errors).toEqual({});
    expect(r.path).toBe('/files/fw%202.0.bin');
    expect(r.headers).toEqual({ fileType: '1 Firmware Upgrade Image', oui: 'A0B1C2', productClass: 'IGD', version: '2.0' });
  });

  it('prefers the typed name and leaves out empty metadata', () => {
    const r = uploadRequest({ ...FORM, name: 'custom.bin', fileType: '3 Vendor Configuration File' }, { name: 'x' });
    expect(r.path).toBe('/files/custom.bin');
    expect(r.headers).toEqual({ fileType: '3 Vendor Configuration File' });
  });

  it('refuses a missing file and a malformed OUI', () => {
    expect(uploadRequest(FORM, null).errors).toEqual({ file: 'choose a file' });
    expect(uploadRequest({ ...FORM, oui: 'xyz' }, { name: 'a' }).errors).toEqual({ oui: 'six hexadecimal digits' });
  });
});

describe('UploadForm', () => {
  it('labels every control and says what is missing without calling the NBI', async () => {
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ToastProvider>
          <UploadForm />
        </ToastProvider>
      </QueryClientProvider>,
    );
    for (const label of ['File', 'Name', 'File type', 'OUI', 'Product class', 'Version']) {
      expect(screen.getByLabelText(label)).toBeInTheDocument();
    }
    await userEvent.click(screen.getByRole('button', { name: 'Upload' }));
    expect(screen.getByRole('alert')).toHaveTextContent('choose a file');
    expect(screen.getByLabelText('File')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('progressbar')).toBeNull();
  });
});
