import { describe, expect, it } from 'vitest';
import { childrenOf, isInstance, isLeaf, leaves } from './tree';

const doc = {
  _id: 'x',
  _lastInform: '2026-01-01T00:00:00Z',
  Device: {
    _object: true,
    DeviceInfo: { _object: true, SoftwareVersion: { _value: '1.0', _type: 'xsd:string', _writable: false } },
    Hosts: { _object: true, _writable: true, Host: { 10: { _object: true }, 2: { _object: true, IP: { _value: '10.0.0.2', _type: 'xsd:string' } } } },
  },
};

describe('tree', () => {
  it('lists children without attributes, instances in numeric order', () => {
    expect(childrenOf(doc).map(([k]) => k)).toEqual(['Device']);
    expect(childrenOf(doc.Device.Hosts.Host).map(([k]) => k)).toEqual(['2', '10']);
  });

  it('tells leaves from objects', () => {
    expect(isLeaf(doc.Device.DeviceInfo.SoftwareVersion)).toBe(true);
    expect(isLeaf(doc.Device.DeviceInfo)).toBe(false);
  });

  it('flattens leaves with their paths', () => {
    expect(leaves(doc).map(([p]) => p)).toEqual(['Device.DeviceInfo.SoftwareVersion', 'Device.Hosts.Host.2.IP']);
  });

  it('recognises instances', () => {
    expect(isInstance('Device.Hosts.Host.2')).toBe(true);
    expect(isInstance('Device.Hosts.Host')).toBe(false);
  });
});
