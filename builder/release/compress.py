"""Precompressed sidecars: `<doc>.gz` and `<doc>.br` beside each document, for static hosts to send as is.

Both are deterministic (gzip with mtime 0 and no file name), so the same database still gives the same
bytes and the same build id. Each is listed in its document's manifest entry under `encodings`, with its
own sha256 and size, because that is what a server sends as the ETag of the compressed representation.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable

import brotli

from builder.errors import BuildError

# Sidecars are rebuilt on every build, so build time counts. Measured on caltrain's documents: brotli
# quality 5-9 all give 13.0% of the size, but 9 runs at ~3 MB/s against ~40-70 MB/s up to 8 (11: 11.4%
# at 0.5 MB/s); gzip 9 saves 0.2% over 6 at three quarters of the speed.
BROTLI_QUALITY = 7
GZIP_LEVEL = 6


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _brotli(data: bytes) -> bytes:
    result: bytes = brotli.compress(data, mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)
    return result


# content-coding (as in Content-Encoding and the manifest) -> (file suffix, compressor)
CODINGS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": (".gz", _gzip),
    "br": (".br", _brotli),
}


def parse_codings(spec: str | Iterable[str]) -> tuple[str, ...]:
    """`"gzip,br"` -> ("br", "gzip"): known codings only, each once, in a fixed order."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = wanted - CODINGS.keys()
    if unknown:
        raise BuildError(
            f"unknown compression {', '.join(sorted(unknown))}: choose from {', '.join(sorted(CODINGS))}"
        )
    return tuple(sorted(wanted))


def sidecars(path: str, data: bytes, codings: tuple[str, ...]) -> list[tuple[str, str, bytes]]:
    """(coding, sidecar path, compressed bytes) for each coding."""
    return [(coding, path + CODINGS[coding][0], CODINGS[coding][1](data)) for coding in codings]
