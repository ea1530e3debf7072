"""Request-side HTTP rules: conditional requests and content-coding negotiation."""

from __future__ import annotations

from functools import lru_cache

from starlette.types import Scope

from serve.release import Document, Variant

# Header values longer than this are parsed every time instead of memoised, so
# a client cannot fill the memo with large strings.
_MEMO_MAX_LENGTH = 256


def route_path(scope: Scope) -> str:
    """The request path below the app's mount point (the ASGI `root_path`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path


def conditional_headers(scope: Scope) -> tuple[str, str]:
    """(If-None-Match, Accept-Encoding), repeated headers joined as one list."""
    if_none_match: list[bytes] = []
    accept_encoding: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if_none_match.append(value)
        elif name == b"accept-encoding":
            accept_encoding.append(value)
    return b",".join(if_none_match).decode("latin-1"), b",".join(accept_encoding).decode("latin-1")


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag == etag or (tag.startswith("W/") and tag[2:] == etag):
            return True
    return False


def select_variant(document: Document, accept_encoding: str) -> Variant:
    """The representation to send: br, then gzip, then the plain file."""
    if not accept_encoding or not document.has_encodings:
        return document.identity
    accepted = accepted_codings(accept_encoding)
    if document.br is not None and "br" in accepted:
        return document.br
    if document.gzip is not None and "gzip" in accepted:
        return document.gzip
    return document.identity


def accepted_codings(accept_encoding: str) -> frozenset[str]:
    """Which of br/gzip the client accepts (q > 0, explicitly or through `*`)."""
    if len(accept_encoding) > _MEMO_MAX_LENGTH:
        return _parse_accept_encoding(accept_encoding)
    return _memo_accept_encoding(accept_encoding)


def _parse_accept_encoding(accept_encoding: str) -> frozenset[str]:
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if coding:
            weights.setdefault("gzip" if coding == "x-gzip" else coding, _qvalue(params))
    wildcard = weights.get("*", 0.0)
    return frozenset(c for c in ("br", "gzip") if weights.get(c, wildcard) > 0)


_memo_accept_encoding = lru_cache(maxsize=128)(_parse_accept_encoding)


def _qvalue(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0  # unparseable weight: safest to fall back to the plain file
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
