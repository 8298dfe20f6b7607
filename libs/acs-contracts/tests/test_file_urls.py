"""acs_contracts.file_urls: what the scheduler signs, the file server verifies."""

from __future__ import annotations

import pytest

from acs_contracts.file_urls import (
    DownloadGrant,
    InvalidSignature,
    UploadGrant,
    sign_download_url,
    sign_upload_url,
    verify,
)

SECRET = b"s3cret"
DEV = "00D09E-IGD%2DX-SN%2F1"  # escaped parts, as device ids are


def test_download_round_trip_and_binding():
    url = sign_download_url("http://acs.example:7567/", "fw v2.bin", DEV, 2_000_000_000, SECRET)
    assert url.startswith("http://acs.example:7567/files/fw%20v2.bin?device=")
    assert verify(url, SECRET, now=1_900_000_000) == DownloadGrant("fw v2.bin", DEV, 2_000_000_000)
    with pytest.raises(InvalidSignature):
        verify(url, SECRET, now=2_000_000_001)
    with pytest.raises(InvalidSignature):
        verify(url, b"other", now=0)
    with pytest.raises(InvalidSignature):
        verify(url.replace("fw%20v2.bin", "fw%20v3.bin"), SECRET, now=0)
    with pytest.raises(InvalidSignature):
        verify(url.replace("expires=2000000000", "expires=2000000009"), SECRET, now=0)


def test_upload_round_trip_and_binding():
    url = sign_upload_url("https://acs.example", DEV, "ck1", "2 Vendor Log File", 2_000_000_000, "s3cret")
    assert "/uploads/" in url
    assert verify(url, SECRET, now=0) == UploadGrant(DEV, "ck1", "2 Vendor Log File", 2_000_000_000)
    with pytest.raises(InvalidSignature):
        verify(url.replace("SN%252F1", "SN%252F2"), SECRET, now=0)
    with pytest.raises(InvalidSignature):
        verify(url, SECRET, now=2_000_000_001)
    with pytest.raises(InvalidSignature):
        verify("https://acs.example/elsewhere", SECRET)
