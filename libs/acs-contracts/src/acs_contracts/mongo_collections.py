"""MongoDB collections of the ACS inventory: names, document shapes and indexes, defined here only.

devices (``_id`` = device id, see ``device_id.py``), GenieACS 1.2 shape so NBI users see what they know:
    {
      "_id": "202BC1-BM632w-8KA8WA1151100043",
      "_deviceId": {"_Manufacturer": ..., "_OUI": ..., "_ProductClass": ..., "_SerialNumber": ...},
      "_registered": <date>, "_lastInform": <date>, "_lastBoot": <date>, "_lastBootstrap": <date>,
      "_tags": ["lab", ...],
      "_acs": {"cwmpVersion": "1.4", "cwmpNs": "urn:dslforum-org:cwmp-1-2", "sourceIp": "...",
               "lastEvents": ["2 PERIODIC"], "informHash": "...",
               "bootstrapPending": <date>, "bootstrapDiscovered": true},  # only while a BOOTSTRAP is unfinished
      # the parameter tree, nested by path segment; leaves and objects carry attributes:
      "InternetGatewayDevice": {"_object": true, "_writable": false, "_timestamp": <date>,
         "DeviceInfo": {"_object": true,
            "SoftwareVersion": {"_value": "V1", "_type": "xsd:string", "_timestamp": <date>,
                                "_writable": false, "_object": false}}}
    }
  Values are stored typed: xsd:boolean -> bool, integer types -> int, xsd:dateTime -> date,
  everything else -> str. A path "A.B.C" is the document path "A.B.C" (instance numbers are keys).

tasks (``_id`` ObjectId), GenieACS shape plus status:
    {"_id", "device", "name", "timestamp": <date>, <arguments by task name, GenieACS names>,
     "status": "pending" | "done" | "fault", "retries": 0, "expiry": <date|None>,
     "fault": {"code": "cwmp.9007", "message": ..., "detail": {...}} | None,
     "result": {...} | None, "completedAt": <date|None>}
  Arguments: getParameterValues {parameterNames}, setParameterValues {parameterValues: [[name, value, type?]]},
  refreshObject {objectName}, addObject {objectName, parameterValues?}, deleteObject {objectName},
  reboot, factoryReset, download {fileType, fileName, targetFileName?}, getParameterNames
  {parameterPath, nextLevel}, getParameterAttributes {parameterNames}, setParameterAttributes
  {parameterAttributes: [{name, notification?, accessList?}]}, upload {fileType}, scheduleInform
  {delaySeconds, commandKey?}, scheduleDownload {fileType, fileName, timeWindows}, cancelTransfer
  {commandKey}, getAllQueuedTransfers, getQueuedTransfers, getRPCMethods, changeDUState {operations}.

faults (``_id`` = "<device>:<channel>"), GenieACS shape:
    {"_id", "device", "channel": "task_<id>" | "<preset channel>", "timestamp", "code", "message",
     "detail", "retries"}

  ``_lastInform`` and ``_acs.lastEvents`` here are those of the last Inform that *changed* the
  document (BOOT, BOOTSTRAP, or new values, address or identity: ``_acs.informHash`` is the digest
  of what it said); a periodic Inform that repeats the last one leaves the document alone, and the
  parameters' ``_timestamp`` is when their value was last written. The exact time of the last
  contact is in last_informs; the NBI shows and queries that one.

last_informs (``_id`` = device id): what changes on every session, kept in a document small enough
  to rewrite cheaply at every Inform (rewriting a whole data model per periodic session is what
  limits an ACS's database):
    {"_id", "_lastInform": <date>, "_acs": {"lastEvents": ["2 PERIODIC"]}}
  The NBI overlays these fields on the device documents it returns and answers queries on them
  from here (``HOT_DEVICE_FIELDS``).

credentials (``_id`` = device id): secrets kept out of the device document so the NBI never
  shows them: {"cpe": {"username", "password"}, "connectionRequest": {"username", "password"}}

presets: GenieACS shape plus declarations (docs/provisioning.md); files: GridFS bucket "fs".

campaigns (firmware roll-outs, docs/provisioning.md) and campaign_devices (one document per
targeted device: {"campaign", "device", "state", "wave", "task"}).

metrics_history (docs/monitoring.md): KPI samples, one bucket per device per hour
  (``_id`` = "<device id>:<YYYYMMDDHH>"): {"device", "model": <product class>, "hour": <date>,
  "expiresAt": <date> (TTL), "resolution": "raw", "n": <samples>, "s": [{"p": <parameter>, "t": <date>, "v": <value>}]};
  old buckets are down-sampled: "s" replaced by "agg": [{"p", "min", "max", "avg", "n", "last"}] and
  "resolution": "1h".
alarm_rules (``_id`` = rule name): {"kind": "threshold" | "rate" | "missing-informs", "parameter",
  "op", "value", "clearValue", "missingS", "severity", "model", "enabled"}.
alarms (``_id`` = "<device id>:<rule>"): {"device", "rule", "kind", "severity", "state": "raised" |
  "cleared", "raisedAt", "clearedAt", "parameter", "value", "message", "acknowledged", "ackedAt"}.

audit (``_id`` ObjectId, append-only: the NBI has no route that changes or deletes a record; only
  the retention TTL removes them): one record per write asked of the NBI (inventory/audit.py):
    {"timestamp", "actor": {"token": <sha256 prefix>, "role", "client": <User-Agent>}, "sourceIp",
     "forwardedFor", "method", "path", "action": "PUT /presets/{name}", "query", "devices": [...],
     "deviceQuery", "before", "after", "status", "result", "published": <bool: on acs.audit.v1>,
     "expiresAt": <date> (TTL, absent when kept forever)}
"""

from __future__ import annotations

DATABASE = "acs"

DEVICES = "devices"
TASKS = "tasks"
FAULTS = "faults"
CREDENTIALS = "credentials"
# Connection requests an NBI replica queued for pacing (NBI_CR_RATE); every replica claims a share.
CR_QUEUE = "connection_request_queue"
LAST_INFORMS = "last_informs"
# Device fields whose current value lives in last_informs (same names there).
HOT_DEVICE_FIELDS = ("_lastInform", "_acs.lastEvents")
# The digest of the Inform that last changed a device document; present on every document the
# scheduler writes, so it also says "this device has a last_informs document".
INFORM_HASH = "_acs.informHash"
# When a BOOTSTRAP was acknowledged whose session did not finish it yet (the scheduler's
# device_record.BOOTSTRAP_PENDING): set by the BOOTSTRAP Inform's write, removed with the presets'.
# Only such documents carry it, so a sparse index finds them without touching the others.
BOOTSTRAP_PENDING = "_acs.bootstrapPending"
PRESETS = "presets"
# GenieACS's script collections, same names and shape: {"_id": <name>, "script": <JavaScript>}
PROVISIONS = "provisions"
VIRTUAL_PARAMETERS = "virtualParameters"
CAMPAIGNS = "campaigns"
CAMPAIGN_DEVICES = "campaign_devices"
FILES_BUCKET = "fs"
METRICS_HISTORY = "metrics_history"
ALARM_RULES = "alarm_rules"
ALARMS = "alarms"
AUDIT_LOG = "audit"

# (collection, keys, options). Created idempotently at start by whichever service starts first.
INDEXES: list[tuple[str, list[tuple[str, int]], dict]] = [
    (DEVICES, [("_lastInform", 1)], {}),
    (DEVICES, [("_tags", 1)], {}),
    (LAST_INFORMS, [("_lastInform", 1)], {}),
    (DEVICES, [("_deviceId._SerialNumber", 1)], {}),
    (DEVICES, [("_deviceId._ProductClass", 1), ("_deviceId._OUI", 1)], {}),
    (DEVICES, [(BOOTSTRAP_PENDING, 1)], {"sparse": True}),  # the schedulers' look for unfinished BOOTSTRAPs
    (TASKS, [("device", 1), ("status", 1), ("timestamp", 1)], {}),
    (TASKS, [("status", 1), ("timestamp", 1)], {}),
    (TASKS, [("campaign", 1), ("status", 1)], {}),
    (FAULTS, [("device", 1)], {}),
    (CAMPAIGN_DEVICES, [("campaign", 1), ("state", 1)], {}),
    (CAMPAIGN_DEVICES, [("device", 1)], {}),
    (METRICS_HISTORY, [("device", 1), ("hour", 1)], {}),
    (METRICS_HISTORY, [("hour", 1), ("model", 1)], {}),
    (METRICS_HISTORY, [("expiresAt", 1)], {"expireAfterSeconds": 0}),  # retention
    (METRICS_HISTORY, [("resolution", 1), ("hour", 1)], {}),  # raw buckets due for down-sampling
    (ALARMS, [("state", 1), ("device", 1)], {}),
    (AUDIT_LOG, [("devices", 1), ("_id", -1)], {}),
    (AUDIT_LOG, [("actor.token", 1), ("_id", -1)], {}),
    (AUDIT_LOG, [("timestamp", 1)], {}),
    (CR_QUEUE, [("due", 1)], {}),
    (CR_QUEUE, [("owner", 1)], {}),
    (CR_QUEUE, [("_id", 1), ("lease", 1)], {}),  # the pacer's claim: compare-and-set on a chunk's lease (SecantusDB)
    (AUDIT_LOG, [("published", 1)], {"partialFilterExpression": {"published": False}}),  # the outbox
    (AUDIT_LOG, [("expiresAt", 1)], {"expireAfterSeconds": 0}),  # retention (NBI_AUDIT_RETENTION_DAYS)
]


async def ensure_indexes(db) -> None:  # db: pymongo AsyncDatabase
    """Create the indexes above; safe to call from every service at start."""
    for coll, keys, opts in INDEXES:
        await db[coll].create_index(keys, **opts)
