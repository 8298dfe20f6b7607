"""What the CPE credential lifecycle costs the gateway, in process on one core: a Digest login
checked against a device's own credentials (the periodic session's case), the worst case (its
previous ones inside the grace window: current and pending are tried first), and what a cache
miss adds (reading a stored entry: Fernet decryption of its passwords).

    .venv/bin/python -m benchmarks.cpe_credentials [--short]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

from acs_contracts.cpe_secrets import Secrets, new_key
from session_gateway import auth
from session_gateway.credentials import parse

from .procstats import calls_per_cpu_second

SECRET = b"b" * 32


def _digest(user: str, password: str, nonce: str) -> str:
    ha1 = hashlib.md5(f"{user}:{auth.REALM}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(b"POST:/").hexdigest()
    resp = hashlib.md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="{user}", realm="{auth.REALM}", nonce="{nonce}", uri="/", qop=auth, '
            f'nc=00000001, cnonce="c0ffee", response="{resp}", algorithm=MD5')


def figures(short: bool = False) -> dict:
    number, rounds = (300, 2) if short else (5000, 5)
    keys = Secrets([new_key(), new_key()])
    own, old, default = auth.Credentials("dev", "own-pw"), auth.Credentials("dev", "old-pw"), auth.Credentials("acs", "d")
    now = time.time()
    dev = auth.DeviceCredentials(current=own, pending=auth.Credentials("dev", "new-pw"), previous=old,
                                 previous_until=now + 3600, rotated_at=now)
    nonce = auth.make_nonce(SECRET)
    current_h, previous_h = _digest("dev", "own-pw", nonce), _digest("dev", "old-pw", nonce)
    assert auth.verify_device(current_h, "POST", "digest", dev, default, SECRET)[0] == auth.CURRENT
    assert auth.verify_device(previous_h, "POST", "digest", dev, default, SECRET)[0] == auth.PREVIOUS
    at = datetime.now(UTC)
    stored = {"username": "dev", "password": keys.seal("own-pw"), "rotatedAt": at,
              "pending": {"username": "dev", "password": keys.seal("new-pw")},
              "previous": {"username": "dev", "password": keys.seal("old-pw")}, "previousUntil": at + timedelta(days=7)}
    sealed = keys.seal("own-pw")
    return {
        "digest_login_current_per_s": round(calls_per_cpu_second(
            lambda: auth.verify_device(current_h, "POST", "digest", dev, default, SECRET), number, rounds)),
        "digest_login_previous_per_s": round(calls_per_cpu_second(
            lambda: auth.verify_device(previous_h, "POST", "digest", dev, default, SECRET), number, rounds)),
        "decrypt_per_s": round(calls_per_cpu_second(lambda: keys.open(sealed), number, rounds)),
        "cache_miss_entry_per_s": round(calls_per_cpu_second(lambda: parse("dev", stored, keys), number, rounds)),  # 3 passwords
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    print(json.dumps(figures(ap.parse_args().short), indent=1))
