import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { SelectField, TextField } from './Field';
import { ProgressBar } from './ProgressBar';

describe('form fields', () => {
  it('label their control and tie hint and error to it', () => {
    render(<TextField label="Host" hint="a name or address" error="required" defaultValue="" />);
    const input = screen.getByLabelText('Host');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAccessibleDescription('a name or address required');
    expect(screen.getByRole('alert')).toHaveTextContent('required');
  });

  it('is valid without an error', () => {
    render(<SelectField label="Kind" options={[['a', 'A'], ['b', 'B']]} defaultValue="b" />);
    const select = screen.getByLabelText('Kind');
    expect(select).not.toHaveAttribute('aria-invalid');
    expect(select).toHaveValue('b');
  });
});

describe('ProgressBar', () => {
  it('announces its value in percent', () => {
    render(<ProgressBar label="Upload" value={3} max={4} />);
    expect(screen.getByRole('progressbar', { name: 'Upload' })).toHaveAttribute('aria-valuenow', '75');
  });
});
