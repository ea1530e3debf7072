"""Route trees too large to hold: trips parked on disk past a threshold, written back in order, and the
streamed document byte for byte what orjson writes for the whole dict."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.errors import BuildError
from builder.release.output import DocumentWriter, Streamed
from builder.snapshot import spool as spool_module
from builder.snapshot.kinds import kind
from builder.snapshot.spool import SortedParking, Spool
from tests.conftest import SAMPLE_FEED, Builder
from tests.test_build import GOLDEN, _tree

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
    max_leaves=8,
)


@given(
    head=st.dictionaries(st.text(alphabet="abcs", max_size=5), json_values, max_size=4),
    items=st.lists(json_values, max_size=6),
)
def test_streamed_pieces_are_the_bytes_orjson_writes(head: dict[str, object], items: list[object]) -> None:
    doc = Streamed(head, "trips", [orjson.dumps(i, option=orjson.OPT_SORT_KEYS) for i in items])
    whole = orjson.dumps({**head, "trips": items}, option=orjson.OPT_SORT_KEYS)
    assert b"".join(doc.pieces()) == whole


def test_streamed_refuses_a_key_that_would_not_be_written_last() -> None:
    with pytest.raises(ValueError, match="must sort after"):
        Streamed({"zone": 1}, "trips", [])


def test_document_writer_streamed_entry_matches_the_file(tmp_path: Path) -> None:
    writer = DocumentWriter(tmp_path)
    items = [orjson.dumps({"n": i, "pad": "x" * i}) for i in range(2000)]  # several writev batches
    (tmp_path / "routes").mkdir()
    writer.write(kind("route"), "R", Streamed({"route": "R"}, "trips", items))
    data = (tmp_path / "routes/R.json").read_bytes()
    assert orjson.loads(data) == {"route": "R", "trips": [{"n": i, "pad": "x" * i} for i in range(2000)]}
    entry = writer.entries[0]
    assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.bytes == len(data)
    assert (entry.path, entry.kind, entry.id) == ("routes/R.json", "route", "R")
    assert entry.media_type == "application/json"
    assert writer.bytes_written == len(data)


def test_sorted_parking_spills_past_the_threshold_and_reads_back_in_key_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "SPILL_BYTES", 10)
    with Spool(tmp_path) as spool:
        parking = SortedParking(spool)
        for key in [5, 3, 9, 1, 7, 2]:
            parking.add(key, f"item-{key}".encode())
        assert parking._spooled > 0  # some went to disk
        assert list(parking.in_order()) == [f"item-{k}".encode() for k in (1, 2, 3, 5, 7, 9)]
        parking = SortedParking(spool)
        for key in range(3000, 0, -1):
            parking.add(key, b"%d" % key)
        assert list(parking.in_order()) == [b"%d" % key for key in range(1, 3001)]
        parking = SortedParking(spool)  # the next route reuses the file from its start
        parking.add(1, b"again" * 5)
        assert list(parking.in_order()) == [b"again" * 5]
    assert os.listdir(tmp_path) == []  # the spool file never had a name


@pytest.mark.parametrize("workers", [1, 2])
def test_build_spilling_every_route_tree_still_matches_golden(
    build_feed: Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(spool_module, "SPILL_BYTES", 1)  # every trip goes through the spool file
    release = build_feed(SAMPLE_FEED, out=tmp_path / "spilled", workers=workers).release
    assert _tree(release) == _tree(GOLDEN)


def test_spool_on_a_vanished_folder_is_a_build_error(tmp_path: Path) -> None:
    with Spool(tmp_path / "gone") as spool, pytest.raises(BuildError, match="cannot write the route spool"):
        spool.append(b"x")
