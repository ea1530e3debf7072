from __future__ import annotations

import pytest

from serve.http import accepted_codings, etag_matches, route_path, select_variant
from serve.release import Document, Variant

TAG = '"' + "ab" * 32 + '"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (TAG, True),
        (f"W/{TAG}", True),
        (f'"x", {TAG}', True),
        (f'"x",W/{TAG}', True),
        ("*", True),
        (" * ", True),
        ('"x", W/"y"', False),
        (TAG[1:-1], False),  # unquoted is not the same tag
        ("", False),
        (f"w/{TAG}", False),  # the weak prefix is case-sensitive
    ],
)
def test_http_etag_matches_if_none_match(header: str, matches: bool) -> None:
    assert etag_matches(header, TAG) is matches


@pytest.mark.parametrize(
    ("header", "codings"),
    [
        ("gzip, deflate, br, zstd", {"br", "gzip"}),
        ("GZIP;Q=0.5", {"gzip"}),
        ("br;q=0, gzip;q=0.001", {"gzip"}),
        ("br;q=0.0, *", {"gzip"}),
        ("*;q=0, br", {"br"}),
        ("*", {"br", "gzip"}),
        ("identity", set()),
        ("gzip;q=nan, br;q=2", set()),
        ("gzip;q=abc", set()),
        (",,;", set()),
        ("br" + ", x" * 500, {"br"}),  # long headers skip the memo but parse the same
    ],
)
def test_http_accepted_codings_respects_q_values(header: str, codings: set[str]) -> None:
    assert accepted_codings(header) == codings


def test_http_select_variant_prefers_br_then_gzip() -> None:
    plain = Variant("a.json", TAG, 10, None)
    gz = Variant("a.json.gz", '"g"', 5, "gzip")
    br = Variant("a.json.br", '"b"', 4, "br")
    both, gzip_only = Document(plain, br, gz), Document(plain, None, gz)
    assert select_variant(both, "gzip, br") is br
    assert select_variant(both, "gzip") is gz
    assert select_variant(gzip_only, "br") is plain
    assert select_variant(Document(plain), "gzip, br") is plain


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/a.json", "", "/a.json"),
        ("/api/a.json", "/api", "/a.json"),
        ("/api", "/api", "/"),
        ("/apix", "/api", "/apix"),
    ],
)
def test_http_route_path_strips_root_path(path: str, root: str, expected: str) -> None:
    assert route_path({"path": path, "root_path": root}) == expected
