// On first contact (or after a factory reset) nothing the ACS held about the data model can be
// trusted: mark everything older than this session as stale.
const now = Date.now();
clear("Device", now);
clear("InternetGatewayDevice", now);
