"""Keys must be safe file names and URLs, injective on case-insensitive disks, and readable when plain."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from builder.snapshot.keys import MAX_KEY_BYTES, decode_key, key_for

SAFE = re.compile(r"[A-Za-z0-9._~!-]+")
RESERVED = [
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{n}" for n in range(1, 10)),
    *(f"LPT{n}" for n in range(1, 10)),
]

# Any text, including surrogates (Python strs allow them), and text built from the characters that matter.
any_ids = st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=400) | st.text(
    min_size=1, max_size=400
)
tricky_ids = st.text(st.sampled_from("aAbBzZ09._-~!%+/ é\u0301ÔCONPRULTM1"), min_size=1, max_size=80)
ids = any_ids | tricky_ids


def assert_safe(key: str) -> None:
    assert SAFE.fullmatch(key), key
    assert key not in (".", "..")
    assert not key.startswith(".")
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
    assert len(f"{key}.json.br".encode()) < 255
    assert key.split(".", 1)[0].upper() not in RESERVED


def is_truncated(key: str) -> bool:
    return "~~" in key


@pytest.mark.parametrize(
    ("id_", "key"),
    [
        ("1234", "1234"),
        ("B41", "B41"),
        ("MTA_NYCT-B41", "MTA_NYCT-B41"),
        ("route_7", "!route_7"),
        ("RouteA", "R!oute!A"),
        ("stop.12", "!stop.12"),
        ("A", "A"),
    ],
)
def test_key_for_plain_ids_stay_readable(id_: str, key: str) -> None:
    assert key_for(id_) == key
    assert decode_key(key) == id_


@settings(max_examples=500)
@given(ids)
@example(".")
@example("..")
@example(".hidden")
@example("a/b/../c")
@example("con.txt")
@example("\x00")
def test_key_for_is_url_and_filename_safe(id_: str) -> None:
    key = key_for(id_)
    assert_safe(key)
    assert key_for(id_) == key  # deterministic


@settings(max_examples=500)
@given(ids)
@example("B41")
@example("b41")
@example("~41")
@example("!")
def test_key_for_is_injective_under_casefold(id_: str) -> None:
    key = key_for(id_)
    if is_truncated(key):
        with pytest.raises(ValueError):
            decode_key(key)
    else:
        # A case-insensitive disk may hand back any casing of the name it stored.
        assert decode_key(key) == id_
        assert decode_key(key.casefold()) == id_
        assert decode_key(key.upper()) == id_
        assert decode_key(key.lower()) == id_
        assert decode_key(key.swapcase()) == id_


@settings(max_examples=500)
@given(ids, ids)
def test_key_for_distinct_ids_never_share_a_casefolded_key(a: str, b: str) -> None:
    assume(a != b)
    assert key_for(a).casefold() != key_for(b).casefold()


@given(ids)
def test_key_for_case_and_normalisation_variants_get_distinct_keys(id_: str) -> None:
    for variant in (id_.swapcase(), id_.upper(), id_.lower(), unicodedata.normalize("NFD", id_)):
        if variant and variant != id_:
            assert key_for(variant).casefold() != key_for(id_).casefold()


@pytest.mark.parametrize(
    ("id_", "key"),
    [
        ("METRÔ L4-1", "METR~c3~94~20L4-1"),
        ("MTA NYCT_B41+", "MTA~20NYCT_B41~2b"),
        ("a/b/../c", "!a~2fb~2f..~2fc"),
        ("100%", "100~25"),
        ("@stop#1", "~40!stop~231"),
        (".", "~2e"),
        ("..", "~2e."),
        ("x~y", "!x~7ey"),
        ("!", "~21"),
    ],
)
def test_key_for_real_feed_examples(id_: str, key: str) -> None:
    assert key_for(id_) == key
    assert_safe(key)
    assert decode_key(key) == id_
    assert decode_key(key.upper()) == id_


def test_key_for_case_distinct_ids_differ_on_case_insensitive_disks() -> None:
    assert key_for("B41").casefold() != key_for("b41").casefold()
    assert key_for("Ab").casefold() != key_for("aB").casefold()


def test_key_for_nfc_and_nfd_forms_differ() -> None:
    nfc, nfd = unicodedata.normalize("NFC", "é"), unicodedata.normalize("NFD", "é")
    assert nfc != nfd
    assert key_for(nfc) == "~c3~a9"
    assert key_for(nfd) == "!e~cc~81"
    assert decode_key(key_for(nfd)) == nfd


def test_key_for_long_ids_are_truncated_with_hash() -> None:
    id_ = "Stop " * 60  # 300 characters
    key = key_for(id_)
    assert len(id_) == 300
    assert_safe(key)
    prefix, digest = key.split("~~")
    assert digest == hashlib.sha256(id_.encode()).hexdigest()[:32]
    assert len(prefix) <= MAX_KEY_BYTES - 34
    assert key.startswith("S!top~20!S!top")
    with pytest.raises(ValueError):
        decode_key(key)
    # Same readable prefix, different hash.
    assert key_for(id_ + "x") != key
    assert key_for(id_.upper()).casefold() != key.casefold()


@pytest.mark.parametrize(
    ("id_", "unit_len"),
    [("é" * 100, 3), ("aA" * 150, 2), ("~" * 100, 3)],
)
def test_key_for_truncation_never_splits_an_escape_or_marker(id_: str, unit_len: int) -> None:
    prefix = key_for(id_).split("~~")[0]
    assert len(prefix) == (MAX_KEY_BYTES - 34) // unit_len * unit_len
    assert not re.search(r"(!|~[0-9a-f]?)$", prefix)


def test_key_for_truncates_only_past_200_bytes() -> None:
    assert key_for("A" * 200) == "A" * 200
    assert key_for("a" * 199) == "!" + "a" * 199
    assert is_truncated(key_for("A" * 201))
    assert is_truncated(key_for("a" * 200))
    assert len(key_for("A" * 201)) <= MAX_KEY_BYTES


@pytest.mark.parametrize("name", RESERVED)
def test_key_for_windows_reserved_names_are_escaped(name: str) -> None:
    for id_ in (name, name.lower(), name.title(), f"{name}.txt", f"{name}.", f"{name.lower()}.x"):
        key = key_for(id_)
        assert_safe(key)
        assert decode_key(key) == id_
    assert key_for(name) == f"~{ord(name[0]):02x}{name[1:]}"
    assert key_for(name + "0") == name + "0"  # not a device name: stays plain


def test_key_for_rejects_empty_id() -> None:
    with pytest.raises(ValueError):
        key_for("")


@pytest.mark.parametrize(
    "key",
    ["", "~", "~4", "~zz", "A~~0123", "A B", "A+", "A%20", "~41", "!!A", ".x", "A!", "~ff", "ON/"],
)
def test_decode_key_rejects_what_key_for_never_writes(key: str) -> None:
    with pytest.raises(ValueError):
        decode_key(key)
