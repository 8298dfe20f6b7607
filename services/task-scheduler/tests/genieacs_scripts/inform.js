// Connection request credentials and periodic informs, checked once a day. The password is drawn
// from Math.random, which the sandbox seeds with the device id: the same password every day.
const username = declare("DeviceID.ID", {value: 1}).value[0];
const password = Math.trunc(Math.random() * Number.MAX_SAFE_INTEGER).toString(36);
const daily = Date.now(86400000);
const interval = 300;
const informTime = daily % 86400000; // a per-device phase within the day
for (const root of ["InternetGatewayDevice", "Device"]) {
  const ms = root + ".ManagementServer.";
  declare(ms + "ConnectionRequestUsername", {value: daily}, {value: username});
  declare(ms + "ConnectionRequestPassword", {value: daily}, {value: password});
  declare(ms + "PeriodicInformEnable", {value: daily}, {value: true});
  declare(ms + "PeriodicInformInterval", {value: daily}, {value: interval});
  declare(ms + "PeriodicInformTime", {value: daily}, {value: informTime});
}
