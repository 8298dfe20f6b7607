import { describe, expect, it } from 'vitest';
import { checkValue } from './values';

describe('checkValue', () => {
  it('takes whole numbers within the range of an integer type', () => {
    expect(checkValue('300', 'xsd:unsignedInt')).toEqual({ ok: true, value: 300 });
    expect(checkValue('-1', 'xsd:unsignedInt')).toMatchObject({ ok: false, message: expect.stringContaining('from 0 to 4294967295') });
    expect(checkValue('1.5', 'xsd:int')).toMatchObject({ ok: false });
    expect(checkValue('abc', 'xsd:int')).toEqual({ ok: false, message: 'xsd:int needs a whole number' });
    expect(checkValue('18446744073709551615', 'xsd:unsignedLong')).toEqual({ ok: true, value: '18446744073709551615' });
  });

  it('reads booleans the way CWMP writes them', () => {
    expect(checkValue('1', 'xsd:boolean')).toEqual({ ok: true, value: true });
    expect(checkValue('false', 'xsd:boolean')).toEqual({ ok: true, value: false });
    expect(checkValue('yes', 'xsd:boolean')).toMatchObject({ ok: false });
  });

  it('checks dates, hex and base64', () => {
    expect(checkValue('2024-05-01T12:00:00Z', 'xsd:dateTime')).toMatchObject({ ok: true });
    expect(checkValue('yesterday', 'xsd:dateTime')).toMatchObject({ ok: false });
    expect(checkValue('0aFF', 'xsd:hexBinary')).toMatchObject({ ok: true });
    expect(checkValue('0aF', 'xsd:hexBinary')).toMatchObject({ ok: false });
    expect(checkValue('aGk=', 'xsd:base64')).toMatchObject({ ok: true });
  });

  it('keeps strings as typed, spaces included', () => {
    expect(checkValue(' my ssid ', 'xsd:string')).toEqual({ ok: true, value: ' my ssid ' });
    expect(checkValue('x', undefined)).toEqual({ ok: true, value: 'x' });
  });
});
