"""SMS segment counts and address normalisation."""

from __future__ import annotations

import pytest

from sargs.channels.contacts import AddressError, normalise
from sargs.channels.texts import sms_segments


@pytest.mark.parametrize("text, expected", [
    ("Storm warning for Jelgava", (1, "GSM-7")),
    ("a" * 160, (1, "GSM-7")),
    ("a" * 161, (2, "GSM-7")),
    ("€" * 80, (1, "GSM-7")),  # the euro sign takes two septets
    ("€" * 81, (2, "GSM-7")),
    ("Vētra" + "a" * 65, (1, "UCS-2")),  # 70 characters with a diacritic
    ("Vētra" + "a" * 66, (2, "UCS-2")),
    ("ā" * 134, (2, "UCS-2")),
    ("ā" * 135, (3, "UCS-2")),
])
def test_latvian_diacritics_force_ucs2_segments(text, expected):
    assert sms_segments(text) == expected


@pytest.mark.parametrize("channel, raw, expected", [
    ("sms", "20 000 001", "+37120000001"),
    ("sms", "0037163000000", "+37163000000"),
    ("voice", "+44 20 7946 0958", "+442079460958"),
    ("email", " Anna@Jelgava.LV ", "anna@jelgava.lv"),
    ("telegram", "123456789", "123456789"),
])
def test_addresses_are_normalised(channel, raw, expected):
    assert normalise(channel, raw) == expected


@pytest.mark.parametrize("channel, raw", [("sms", "12345"), ("email", "anna@"),
                                          ("telegram", "@anna"), ("fax", "1"), ("pbx", ""),
                                          # would add a line to the AMI action
                                          ("pbx", "600\r\nAction: Logoff"),
                                          ("pbx", "600@other-context")])
def test_bad_addresses_are_refused_with_the_field(channel, raw):
    with pytest.raises(AddressError):
        normalise(channel, raw)


def test_a_paging_extension_is_kept_as_given():
    assert normalise("pbx", " 7004 ") == "7004"
    assert normalise("pbx", "*600") == "*600"
