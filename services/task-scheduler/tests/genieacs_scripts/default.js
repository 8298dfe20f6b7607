// Every session: keep the device summary no older than an hour. Each device gets its own hour
// boundary (Date.now(interval) is offset per device) so the fleet does not refresh at once.
const hourly = Date.now(3600000);
const igd = "InternetGatewayDevice";
declare(igd + ".DeviceInfo.HardwareVersion", {path: hourly, value: hourly});
declare(igd + ".DeviceInfo.SoftwareVersion", {path: hourly, value: hourly});
declare(igd + ".WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.MACAddress", {path: hourly, value: hourly});
declare(igd + ".WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress", {path: hourly, value: hourly});
declare(igd + ".LANDevice.*.WLANConfiguration.*.SSID", {path: hourly, value: hourly});
// CPEs read passphrases back as empty: knowing it exists is enough
declare(igd + ".LANDevice.*.WLANConfiguration.*.KeyPassphrase", {path: hourly, value: 1});
declare(igd + ".LANDevice.*.Hosts.Host.*.HostName", {path: hourly, value: hourly});
declare(igd + ".LANDevice.*.Hosts.Host.*.IPAddress", {path: hourly, value: hourly});
declare(igd + ".LANDevice.*.Hosts.Host.*.MACAddress", {path: hourly, value: hourly});
declare("Device.DeviceInfo.HardwareVersion", {path: hourly, value: hourly});
declare("Device.DeviceInfo.SoftwareVersion", {path: hourly, value: hourly});
declare("Device.WiFi.SSID.*.SSID", {path: hourly, value: hourly});
declare("Device.Hosts.Host.*.HostName", {path: hourly, value: hourly});
declare("Device.Hosts.Host.*.IPAddress", {path: hourly, value: hourly});
declare("Device.Hosts.Host.*.PhysAddress", {path: hourly, value: hourly});
