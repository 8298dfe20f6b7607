"""Write the simulator's built-in data model, ``src/cpe_simulator/data/default-igd.csv``.

A TR-098 InternetGatewayDevice (``InternetGatewayDevice:1.4``) of a fictional home gateway
(OUI ACE5E1, ProductClass HG500): device and management-server information, time, user
interface, routing, a LAN with Ethernet ports, two Wi-Fi radios, DHCP and a host table, a WAN with
IP and PPP connections and a port mapping, and the TR-143 diagnostics. Written here from the
TR-098 object definitions, in the 5-column dump format the simulator reads
(``Parameter,Object,Writable,Value,Value type``), objects without a trailing dot, ``DeviceID.*``
rows for the Inform's DeviceId. Documentation addresses (RFC 5737) and locally administered MAC
addresses only.

    python tools/cpe-simulator/scripts/make_default_igd.py [OUT]

tests/test_default_model.py checks that the committed file is what this script writes.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "cpe_simulator" / "data" / "default-igd.csv"

S, U, INT, B, D = "xsd:string", "xsd:unsignedInt", "xsd:int", "xsd:boolean", "xsd:dateTime"
IGD = "InternetGatewayDevice"
UNKNOWN_TIME = "0001-01-01T00:00:00Z"


class Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def obj(self, path: str, writable: bool = False) -> None:
        self.rows.append((path, "true", _b(writable), "", ""))

    def p(self, path: str, value: object, xsd: str = S, writable: bool = False) -> None:
        if isinstance(value, bool):
            value = _b(value)
        self.rows.append((path, "false", _b(writable), str(value), xsd))

    def w(self, path: str, value: object, xsd: str = S) -> None:
        self.p(path, value, xsd, writable=True)


def _b(v: bool) -> str:
    return "true" if v else "false"


def identity(r: Rows) -> None:
    r.p("DeviceID.Manufacturer", "ACS Project Simulated Devices")
    r.p("DeviceID.OUI", "ACE5E1")
    r.p("DeviceID.ProductClass", "HG500")
    r.p("DeviceID.SerialNumber", "SIM00000000")


def device_info(r: Rows) -> None:
    b = f"{IGD}.DeviceInfo"
    r.obj(b)
    for name, value in (
        ("Manufacturer", "ACS Project Simulated Devices"), ("ManufacturerOUI", "ACE5E1"),
        ("ModelName", "HG500 Home Gateway"), ("Description", "Simulated dual-band home gateway (TR-098)"),
        ("ProductClass", "HG500"), ("SerialNumber", "SIM00000000"), ("HardwareVersion", "HG500-HW-B2"),
        ("SoftwareVersion", "HG500-2.4.1"), ("ModemFirmwareVersion", "ETH-1.0.3"),
        ("AdditionalHardwareVersion", "RAM 256MB, Flash 128MB"), ("AdditionalSoftwareVersion", "bootloader 1.2.0"),
        ("SpecVersion", "1.0"),
    ):
        r.p(f"{b}.{name}", value)
    r.w(f"{b}.ProvisioningCode", "")
    r.p(f"{b}.UpTime", 86400, U)
    r.p(f"{b}.FirstUseDate", "2025-01-15T08:00:00Z", D)
    r.p(f"{b}.DeviceLog", "")
    r.p(f"{b}.VendorConfigFileNumberOfEntries", 1, U)
    r.obj(f"{b}.VendorConfigFile")
    r.obj(f"{b}.VendorConfigFile.1")
    r.p(f"{b}.VendorConfigFile.1.Name", "factory.cfg")
    r.p(f"{b}.VendorConfigFile.1.Version", "2.4.1")
    r.p(f"{b}.VendorConfigFile.1.Date", "2025-01-10T12:00:00Z", D)
    r.p(f"{b}.VendorConfigFile.1.Description", "factory defaults")
    r.obj(f"{b}.X_ACE5E1_Thermal")
    r.p(f"{b}.X_ACE5E1_Thermal.CPUTemperature", 52, INT)
    r.w(f"{b}.X_ACE5E1_Thermal.FanEnable", True, B)


def management_server(r: Rows) -> None:
    b = f"{IGD}.ManagementServer"
    r.obj(b)
    r.w(f"{b}.URL", "http://acs.example.net:7547/")
    r.w(f"{b}.Username", "")
    r.w(f"{b}.Password", "")
    r.w(f"{b}.PeriodicInformEnable", True, B)
    r.w(f"{b}.PeriodicInformInterval", 300, U)
    r.w(f"{b}.PeriodicInformTime", UNKNOWN_TIME, D)
    r.p(f"{b}.ParameterKey", "")
    r.p(f"{b}.ConnectionRequestURL", "http://192.0.2.10:7547/")
    r.w(f"{b}.ConnectionRequestUsername", "")
    r.w(f"{b}.ConnectionRequestPassword", "")
    r.w(f"{b}.UpgradesManaged", False, B)
    r.p(f"{b}.KickURL", "")
    r.p(f"{b}.DownloadProgressURL", "")
    r.w(f"{b}.DefaultActiveNotificationThrottle", 0, U)
    r.w(f"{b}.CWMPRetryMinimumWaitInterval", 5, U)
    r.w(f"{b}.CWMPRetryIntervalMultiplier", 2000, U)
    r.p(f"{b}.UDPConnectionRequestAddress", "")
    r.w(f"{b}.UDPConnectionRequestAddressNotificationLimit", 0, U)
    r.w(f"{b}.STUNEnable", False, B)
    r.w(f"{b}.STUNServerAddress", "")
    r.w(f"{b}.STUNServerPort", 3478, U)
    r.w(f"{b}.STUNUsername", "")
    r.w(f"{b}.STUNPassword", "")
    r.w(f"{b}.STUNMaximumKeepAlivePeriod", -1, INT)
    r.w(f"{b}.STUNMinimumKeepAlivePeriod", 30, U)
    r.p(f"{b}.NATDetected", False, B)
    r.w(f"{b}.ManageableDeviceNotificationLimit", 0, U)
    r.p(f"{b}.ManageableDeviceNumberOfEntries", 0, U)
    r.obj(f"{b}.ManageableDevice")


def time_and_ui(r: Rows) -> None:
    b = f"{IGD}.Time"
    r.obj(b)
    r.w(f"{b}.Enable", True, B)
    r.p(f"{b}.Status", "Synchronized")
    for i, server in enumerate(("0.pool.ntp.org", "1.pool.ntp.org", ""), 1):
        r.w(f"{b}.NTPServer{i}", server)
    r.p(f"{b}.CurrentLocalTime", "2025-06-01T12:00:00Z", D)
    r.w(f"{b}.LocalTimeZone", "+00:00")
    r.w(f"{b}.LocalTimeZoneName", "UTC")
    r.w(f"{b}.DaylightSavingsUsed", False, B)
    b = f"{IGD}.UserInterface"
    r.obj(b)
    r.w(f"{b}.PasswordRequired", True, B)
    r.w(f"{b}.PasswordUserSelectable", True, B)
    r.w(f"{b}.UpgradeAvailable", False, B)
    r.w(f"{b}.WarrantyDate", "2027-01-15T00:00:00Z", D)
    for name, value in (("ISPName", "Example ISP"), ("ISPHelpDesk", "+1-555-0100"),
                        ("ISPHomePage", "https://isp.example.net/"), ("ISPHelpPage", "https://isp.example.net/help"),
                        ("ISPLogo", ""), ("ISPMailServer", "mail.example.net"), ("ISPNewsServer", ""),
                        ("TextColor", "000000"), ("BackgroundColor", "FFFFFF"), ("ButtonColor", "0055AA"),
                        ("ButtonTextColor", "FFFFFF"), ("AutoUpdateServer", ""), ("UserUpdateServer", "")):
        r.w(f"{b}.{name}", value)
    r.p(f"{b}.ISPLogoSize", 0, U)
    r.w(f"{b}.ExampleLogin", "admin")
    r.w(f"{b}.ExamplePassword", "")
    r.obj(f"{IGD}.LANConfigSecurity")
    r.w(f"{IGD}.LANConfigSecurity.ConfigPassword", "")
    r.obj(f"{IGD}.DeviceConfig")
    r.w(f"{IGD}.DeviceConfig.PersistentData", "")
    r.w(f"{IGD}.DeviceConfig.ConfigFile", "")


def layer3(r: Rows) -> None:
    b = f"{IGD}.Layer3Forwarding"
    r.obj(b)
    r.w(f"{b}.DefaultConnectionService", f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1")
    r.p(f"{b}.ForwardNumberOfEntries", 1, U)
    r.obj(f"{b}.Forwarding", writable=True)
    f = f"{b}.Forwarding.1"
    r.obj(f, writable=True)
    r.w(f"{f}.Enable", True, B)
    r.p(f"{f}.Status", "Enabled")
    r.w(f"{f}.Type", "Default")
    r.w(f"{f}.DestIPAddress", "0.0.0.0")
    r.w(f"{f}.DestSubnetMask", "0.0.0.0")
    r.w(f"{f}.SourceIPAddress", "0.0.0.0")
    r.w(f"{f}.SourceSubnetMask", "0.0.0.0")
    r.w(f"{f}.GatewayIPAddress", "198.51.100.1")
    r.w(f"{f}.Interface", f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1")
    r.w(f"{f}.ForwardingMetric", -1, INT)


def _stats(r: Rows, b: str, sent: int, received: int) -> None:
    r.obj(f"{b}.Stats")
    r.p(f"{b}.Stats.BytesSent", sent, U)
    r.p(f"{b}.Stats.BytesReceived", received, U)
    r.p(f"{b}.Stats.PacketsSent", sent // 900, U)
    r.p(f"{b}.Stats.PacketsReceived", received // 700, U)


def lan(r: Rows) -> None:
    b = f"{IGD}.LANDevice"
    r.obj(b)
    d = f"{b}.1"
    r.obj(d)
    r.p(f"{d}.LANEthernetInterfaceNumberOfEntries", 4, U)
    r.p(f"{d}.LANUSBInterfaceNumberOfEntries", 0, U)
    r.p(f"{d}.LANWLANConfigurationNumberOfEntries", 2, U)
    h = f"{d}.LANHostConfigManagement"
    r.obj(h)
    r.p(f"{h}.DHCPServerConfigurable", True, B)
    r.w(f"{h}.DHCPServerEnable", True, B)
    r.p(f"{h}.DHCPRelay", False, B)
    r.w(f"{h}.MinAddress", "192.168.1.100")
    r.w(f"{h}.MaxAddress", "192.168.1.199")
    r.w(f"{h}.ReservedAddresses", "")
    r.w(f"{h}.SubnetMask", "255.255.255.0")
    r.w(f"{h}.DNSServers", "192.168.1.1")
    r.w(f"{h}.DomainName", "home.lan")
    r.w(f"{h}.IPRouters", "192.168.1.1")
    r.w(f"{h}.DHCPLeaseTime", 86400, INT)
    r.p(f"{h}.IPInterfaceNumberOfEntries", 1, U)
    r.obj(f"{h}.IPInterface")
    r.obj(f"{h}.IPInterface.1")
    r.w(f"{h}.IPInterface.1.Enable", True, B)
    r.w(f"{h}.IPInterface.1.IPInterfaceIPAddress", "192.168.1.1")
    r.w(f"{h}.IPInterface.1.IPInterfaceSubnetMask", "255.255.255.0")
    r.w(f"{h}.IPInterface.1.IPInterfaceAddressingType", "Static")
    e = f"{d}.LANEthernetInterfaceConfig"
    r.obj(e)
    for port in range(1, 5):
        p = f"{e}.{port}"
        r.obj(p)
        r.w(f"{p}.Enable", True, B)
        r.p(f"{p}.Status", "Up" if port <= 2 else "NoLink")
        r.p(f"{p}.Name", f"eth{port - 1}")
        r.p(f"{p}.MACAddress", f"02:5A:11:00:00:0{port}")
        r.w(f"{p}.MaxBitRate", "Auto")
        r.w(f"{p}.DuplexMode", "Auto")
        _stats(r, p, 4_500_000 // port if port <= 2 else 0, 38_000_000 // port if port <= 2 else 0)
    wl = f"{d}.WLANConfiguration"
    r.obj(wl)
    for idx, (band, standard, channel, possible, rate) in enumerate((
        ("2.4GHz", "n", 6, "1-13", "300"),
        ("5GHz", "ac", 36, "36,40,44,48,52,56,60,64,100,104,108,112,116,120,124,128,132,136,140", "867"),
    ), 1):
        w = f"{wl}.{idx}"
        r.obj(w)
        r.w(f"{w}.Enable", True, B)
        r.p(f"{w}.Status", "Up")
        r.p(f"{w}.BSSID", f"02:5A:11:00:01:0{idx}")
        r.w(f"{w}.MaxBitRate", rate)
        r.w(f"{w}.Channel", channel, U)
        r.w(f"{w}.AutoChannelEnable", True, B)
        r.w(f"{w}.SSID", f"HG500-{'24' if idx == 1 else '5G'}")
        r.w(f"{w}.BeaconType", "11i")
        r.w(f"{w}.MACAddressControlEnabled", False, B)
        r.p(f"{w}.Standard", standard)
        r.w(f"{w}.WEPKeyIndex", 1, U)
        r.w(f"{w}.KeyPassphrase", "")
        r.p(f"{w}.WEPEncryptionLevel", "Disabled,40-bit,104-bit")
        r.w(f"{w}.BasicEncryptionModes", "None")
        r.w(f"{w}.BasicAuthenticationMode", "None")
        r.w(f"{w}.WPAEncryptionModes", "AESEncryption")
        r.w(f"{w}.WPAAuthenticationMode", "PSKAuthentication")
        r.w(f"{w}.IEEE11iEncryptionModes", "AESEncryption")
        r.w(f"{w}.IEEE11iAuthenticationMode", "PSKAuthentication")
        r.p(f"{w}.PossibleChannels", possible)
        r.p(f"{w}.BasicDataTransmitRates", "1,2,5.5,11" if idx == 1 else "6,12,24")
        r.p(f"{w}.OperationalDataTransmitRates", "1,2,5.5,11,6,9,12,18,24,36,48,54" if idx == 1 else "6,9,12,18,24,36,48,54")
        r.p(f"{w}.RadioEnabled", True, B)
        r.w(f"{w}.SSIDAdvertisementEnabled", True, B)
        r.w(f"{w}.TransmitPower", 100, U)
        r.p(f"{w}.TransmitPowerSupported", "25,50,75,100")
        r.w(f"{w}.RegulatoryDomain", "US ")
        r.w(f"{w}.X_ACE5E1_Band", band)
        r.p(f"{w}.TotalBytesSent", 52_000_000 // idx, U)
        r.p(f"{w}.TotalBytesReceived", 8_300_000 // idx, U)
        r.p(f"{w}.TotalPacketsSent", 61_000 // idx, U)
        r.p(f"{w}.TotalPacketsReceived", 24_000 // idx, U)
        r.p(f"{w}.TotalAssociations", 0, U)
        r.obj(f"{w}.AssociatedDevice")
        r.obj(f"{w}.WEPKey")
        for k in range(1, 5):
            r.obj(f"{w}.WEPKey.{k}")
            r.w(f"{w}.WEPKey.{k}.WEPKey", "")
        r.obj(f"{w}.PreSharedKey")
        r.obj(f"{w}.PreSharedKey.1")
        r.w(f"{w}.PreSharedKey.1.PreSharedKey", "")
        r.w(f"{w}.PreSharedKey.1.KeyPassphrase", "")
        r.w(f"{w}.PreSharedKey.1.AssociatedDeviceMACAddress", "")
    hosts = f"{d}.Hosts"
    r.obj(hosts)
    r.p(f"{hosts}.HostNumberOfEntries", 2, U)
    r.obj(f"{hosts}.Host")
    for i, (name, kind, mac) in enumerate((("laptop", "Ethernet", "02:00:00:AA:00:01"),
                                           ("phone", "802.11", "02:00:00:AA:00:02")), 1):
        host = f"{hosts}.Host.{i}"
        r.obj(host)
        r.p(f"{host}.IPAddress", f"192.168.1.{100 + i}")
        r.p(f"{host}.AddressSource", "DHCP")
        r.p(f"{host}.LeaseTimeRemaining", 80000 - i * 1000, INT)
        r.p(f"{host}.MACAddress", mac)
        r.p(f"{host}.HostName", name)
        r.p(f"{host}.InterfaceType", kind)
        r.p(f"{host}.Active", True, B)


def wan(r: Rows) -> None:
    b = f"{IGD}.WANDevice"
    r.obj(b)
    d = f"{b}.1"
    r.obj(d)
    r.p(f"{d}.WANConnectionNumberOfEntries", 1, U)
    c = f"{d}.WANCommonInterfaceConfig"
    r.obj(c)
    r.w(f"{c}.EnabledForInternet", True, B)
    r.p(f"{c}.WANAccessType", "Ethernet")
    r.p(f"{c}.Layer1UpstreamMaxBitRate", 100_000_000, U)
    r.p(f"{c}.Layer1DownstreamMaxBitRate", 1_000_000_000, U)
    r.p(f"{c}.PhysicalLinkStatus", "Up")
    r.p(f"{c}.WANAccessProvider", "Example ISP")
    r.p(f"{c}.TotalBytesSent", 734_003_200, U)
    r.p(f"{c}.TotalBytesReceived", 3_221_225_472, U)
    r.p(f"{c}.TotalPacketsSent", 1_048_576, U)
    r.p(f"{c}.TotalPacketsReceived", 2_621_440, U)
    r.p(f"{c}.MaximumActiveConnections", 4, U)
    r.p(f"{c}.NumberOfActiveConnections", 1, U)
    e = f"{d}.WANEthernetInterfaceConfig"
    r.obj(e)
    r.w(f"{e}.Enable", True, B)
    r.p(f"{e}.Status", "Up")
    r.p(f"{e}.MACAddress", "02:5A:11:00:02:01")
    r.w(f"{e}.MaxBitRate", "Auto")
    r.w(f"{e}.DuplexMode", "Auto")
    _stats(r, e, 734_003_200, 3_221_225_472)
    cd = f"{d}.WANConnectionDevice"
    r.obj(cd, writable=True)
    cd = f"{cd}.1"
    r.obj(cd, writable=True)
    r.p(f"{cd}.WANIPConnectionNumberOfEntries", 1, U)
    r.p(f"{cd}.WANPPPConnectionNumberOfEntries", 1, U)
    r.obj(f"{cd}.WANIPConnection", writable=True)
    ip = f"{cd}.WANIPConnection.1"
    r.obj(ip, writable=True)
    r.w(f"{ip}.Enable", True, B)
    r.p(f"{ip}.ConnectionStatus", "Connected")
    r.p(f"{ip}.PossibleConnectionTypes", "IP_Routed,IP_Bridged")
    r.w(f"{ip}.ConnectionType", "IP_Routed")
    r.w(f"{ip}.Name", "Internet_DHCP")
    r.p(f"{ip}.Uptime", 86000, U)
    r.p(f"{ip}.LastConnectionError", "ERROR_NONE")
    r.w(f"{ip}.AutoDisconnectTime", 0, U)
    r.w(f"{ip}.IdleDisconnectTime", 0, U)
    r.p(f"{ip}.RSIPAvailable", False, B)
    r.w(f"{ip}.NATEnabled", True, B)
    r.w(f"{ip}.AddressingType", "DHCP")
    r.w(f"{ip}.ExternalIPAddress", "198.51.100.23")
    r.w(f"{ip}.SubnetMask", "255.255.255.0")
    r.w(f"{ip}.DefaultGateway", "198.51.100.1")
    r.w(f"{ip}.DNSEnabled", True, B)
    r.w(f"{ip}.DNSOverrideAllowed", False, B)
    r.w(f"{ip}.DNSServers", "198.51.100.53,198.51.100.54")
    r.w(f"{ip}.MaxMTUSize", 1500, U)
    r.w(f"{ip}.MACAddress", "02:5A:11:00:02:01")
    r.w(f"{ip}.MACAddressOverride", False, B)
    r.w(f"{ip}.ConnectionTrigger", "AlwaysOn")
    r.w(f"{ip}.RouteProtocolRx", "Off")
    r.p(f"{ip}.PortMappingNumberOfEntries", 1, U)
    r.obj(f"{ip}.PortMapping", writable=True)
    pm = f"{ip}.PortMapping.1"
    r.obj(pm, writable=True)
    r.w(f"{pm}.PortMappingEnabled", True, B)
    r.w(f"{pm}.PortMappingLeaseDuration", 0, U)
    r.w(f"{pm}.RemoteHost", "")
    r.w(f"{pm}.ExternalPort", 8080, U)
    r.w(f"{pm}.InternalPort", 80, U)
    r.w(f"{pm}.PortMappingProtocol", "TCP")
    r.w(f"{pm}.InternalClient", "192.168.1.101")
    r.w(f"{pm}.PortMappingDescription", "web server")
    r.obj(f"{ip}.Stats")
    for name, value in (("EthernetBytesSent", 734_003_200), ("EthernetBytesReceived", 3_221_225_472),
                        ("EthernetPacketsSent", 1_048_576), ("EthernetPacketsReceived", 2_621_440),
                        ("EthernetErrorsSent", 0), ("EthernetErrorsReceived", 3),
                        ("EthernetDiscardPacketsSent", 0), ("EthernetDiscardPacketsReceived", 12)):
        r.p(f"{ip}.Stats.{name}", value, U)
    r.obj(f"{cd}.WANPPPConnection", writable=True)
    ppp = f"{cd}.WANPPPConnection.1"
    r.obj(ppp, writable=True)
    r.w(f"{ppp}.Enable", False, B)
    r.p(f"{ppp}.ConnectionStatus", "Disconnected")
    r.p(f"{ppp}.PossibleConnectionTypes", "IP_Routed")
    r.w(f"{ppp}.ConnectionType", "IP_Routed")
    r.w(f"{ppp}.Name", "Internet_PPPoE")
    r.p(f"{ppp}.Uptime", 0, U)
    r.p(f"{ppp}.LastConnectionError", "ERROR_NOT_ENABLED_FOR_INTERNET")
    r.w(f"{ppp}.NATEnabled", True, B)
    r.w(f"{ppp}.Username", "")
    r.w(f"{ppp}.Password", "")
    r.p(f"{ppp}.PPPEncryptionProtocol", "None")
    r.p(f"{ppp}.PPPCompressionProtocol", "None")
    r.p(f"{ppp}.PPPAuthenticationProtocol", "CHAP")
    r.p(f"{ppp}.ExternalIPAddress", "0.0.0.0")
    r.p(f"{ppp}.RemoteIPAddress", "0.0.0.0")
    r.w(f"{ppp}.MaxMRUSize", 1492, U)
    r.p(f"{ppp}.CurrentMRUSize", 1492, U)
    r.w(f"{ppp}.DNSEnabled", True, B)
    r.w(f"{ppp}.DNSOverrideAllowed", False, B)
    r.w(f"{ppp}.DNSServers", "")
    r.w(f"{ppp}.MACAddress", "02:5A:11:00:02:01")
    r.p(f"{ppp}.TransportType", "PPPoE")
    r.w(f"{ppp}.PPPoEACName", "")
    r.w(f"{ppp}.PPPoEServiceName", "")
    r.w(f"{ppp}.ConnectionTrigger", "AlwaysOn")
    r.w(f"{ppp}.PPPLCPEcho", 30, U)
    r.w(f"{ppp}.PPPLCPEchoRetry", 3, U)
    r.p(f"{ppp}.PortMappingNumberOfEntries", 0, U)
    r.obj(f"{ppp}.PortMapping", writable=True)


def diagnostics(r: Rows) -> None:
    b = f"{IGD}.IPPingDiagnostics"
    r.obj(b)
    r.w(f"{b}.DiagnosticsState", "None")
    r.w(f"{b}.Interface", "")
    r.w(f"{b}.Host", "")
    r.w(f"{b}.NumberOfRepetitions", 4, U)
    r.w(f"{b}.Timeout", 1000, U)
    r.w(f"{b}.DataBlockSize", 64, U)
    r.w(f"{b}.DSCP", 0, U)
    for name in ("SuccessCount", "FailureCount", "AverageResponseTime", "MinimumResponseTime", "MaximumResponseTime"):
        r.p(f"{b}.{name}", 0, U)
    b = f"{IGD}.TraceRouteDiagnostics"
    r.obj(b)
    r.w(f"{b}.DiagnosticsState", "None")
    r.w(f"{b}.Interface", "")
    r.w(f"{b}.Host", "")
    r.w(f"{b}.NumberOfTries", 3, U)
    r.w(f"{b}.Timeout", 5000, U)
    r.w(f"{b}.DataBlockSize", 38, U)
    r.w(f"{b}.DSCP", 0, U)
    r.w(f"{b}.MaxHopCount", 30, U)
    r.p(f"{b}.ResponseTime", 0, U)
    r.p(f"{b}.RouteHopsNumberOfEntries", 0, U)
    r.obj(f"{b}.RouteHops")
    for kind, url_name in (("DownloadDiagnostics", "DownloadURL"), ("UploadDiagnostics", "UploadURL")):
        b = f"{IGD}.{kind}"
        r.obj(b)
        r.w(f"{b}.DiagnosticsState", "None")
        r.w(f"{b}.Interface", "")
        r.w(f"{b}.{url_name}", "")
        r.w(f"{b}.DSCP", 0, U)
        r.w(f"{b}.EthernetPriority", 0, U)
        if kind == "UploadDiagnostics":
            r.w(f"{b}.TestFileLength", 0, U)
        for name in ("ROMTime", "BOMTime", "EOMTime"):
            r.p(f"{b}.{name}", UNKNOWN_TIME, D)
        totals = ("TestBytesReceived", "TotalBytesReceived") if kind == "DownloadDiagnostics" else ("TotalBytesSent",)
        for name in totals:
            r.p(f"{b}.{name}", 0, U)
        r.p(f"{b}.TCPOpenRequestTime", UNKNOWN_TIME, D)
        r.p(f"{b}.TCPOpenResponseTime", UNKNOWN_TIME, D)


def rows() -> list[tuple[str, str, str, str, str]]:
    r = Rows()
    identity(r)
    r.obj(IGD)
    r.p(f"{IGD}.DeviceSummary", "InternetGatewayDevice:1.4[](Baseline:2, EthernetLAN:1, WiFiLAN:2, "
        "EthernetWAN:1, Time:1, IPPing:1, TraceRoute:1, Download:1, Upload:1, UDPConnReq:1)")
    r.p(f"{IGD}.LANDeviceNumberOfEntries", 1, U)
    r.p(f"{IGD}.WANDeviceNumberOfEntries", 1, U)
    device_info(r)
    management_server(r)
    time_and_ui(r)
    layer3(r)
    lan(r)
    wan(r)
    diagnostics(r)
    names = [row[0] for row in r.rows]
    assert len(names) == len(set(names)), "duplicate rows"
    return r.rows


def render() -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(("Parameter", "Object", "Writable", "Value", "Value type"))
    out.writerows(rows())
    return buf.getvalue()


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"{target}: {len(rows())} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
