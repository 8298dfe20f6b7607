"""acs_contracts.device_id: ids are GenieACS's OUI-ProductClass-Serial with each part escaped,
so they split back to the same parts whatever characters the CPE put in them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acs_contracts.device_id import make_device_id, split_device_id


def test_genieacs_form():
    assert make_device_id("00D09E", "IGD-X", "SN/1") == "00D09E-IGD%2DX-SN%2F1"
    assert make_device_id("00D09E", "", "SN 1") == "00D09E-SN%201"


@given(st.text(min_size=1), st.text(), st.text(min_size=1))
def test_parts_split_back(oui, product_class, serial):
    assert split_device_id(make_device_id(oui, product_class, serial)) == (oui, product_class, serial)


@pytest.mark.parametrize("bad", ["", "no-dashes-at-all-here", "single"])
def test_what_is_not_an_id_is_refused(bad):
    with pytest.raises(ValueError, match="not a device id"):
        split_device_id(bad)
