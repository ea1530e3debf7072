"""File-name keys for GTFS IDs: a document lives at e.g. `routes/<key>.json` (builder.snapshot.kinds places each
kind), and that path is also its URL.

GTFS IDs are arbitrary text (`/`, `..`, spaces, `%`, `+`, non-ASCII, hundreds of characters), and the
snapshot must be copyable to any disk and servable by any static web server. So a key must be

* URL-safe without quoting: only `[A-Za-z0-9._~!-]` (RFC 3986 unreserved plus `!`). `+` is out because
  some servers read it as a space; `%` is out so no layer double-decodes.
* a safe file name: never `.`/`..`, never starting with `.` (hidden files), at most 200 bytes so that
  `<key>.json.br` stays under the usual 255-byte name limit, and no Windows device name (CON, PRN, AUX,
  NUL, COM1-9, LPT1-9, any case) before the first dot, since Windows opens the device instead.
* injective even on case-insensitive disks (macOS, Windows) and after Unicode normalisation: distinct
  IDs give keys that differ after `casefold()`. Keys are pure ASCII, so normalisation cannot merge them.
* readable for the common plain IDs (`B41` -> `B41`), and a function of the ID alone, so links between
  documents can be written without a lookup table.

Scheme, from the ID's characters, left to right:

* Letters keep their spelling, but their case is carried by a mode, as in Go's module-proxy
  case-encoding: the encoder starts in "upper" mode and emits `!` and flips the mode whenever a letter's
  case differs from it (`B41` -> `B41`, `route_7` -> `!route_7`, `RouteA` -> `R!oute!A`). The decoder
  takes a letter's case from the mode, never from the letter, so a disk that changes the letters'
  case cannot change the ID. Uppercase is the start mode because real IDs are mostly upper or digits.
* ASCII digits, `-` and `_` pass through; `.` too, except as the first character.
* Every other UTF-8 byte (space, `/`, `%`, `+`, `!`, `~`, a leading `.`, non-ASCII, controls) becomes `~`
  and two lowercase hex digits; the decoder accepts either hex case. (Lone surrogates, which Python
  strings allow, are encoded as their 3 "surrogatepass" bytes, so every str has a key.)
* If the first character starts a Windows device name, it is written as its escape (`CON` -> `~43ON`).
* A key longer than 200 bytes keeps the longest prefix that fits in 200 - 34 bytes without splitting a
  `~xx` escape or a `!` from its letter, followed by `~~` and the first 32 hex digits of sha256 of the
  ID's UTF-8. A full key never holds `~~` (after `~` always comes a hex digit), so truncated keys are
  recognisable; they cannot be decoded, and their uniqueness rests on the 128-bit hash.

Every full key decodes back to its ID, including after any change of letter case, and `decode_key`
accepts only the spellings `key_for` produces (up to case), so no two URLs name the same document.
"""

from __future__ import annotations

import hashlib
import re

MAX_KEY_BYTES = 200
_HASH_HEX = 32
_TRUNCATED_MARK = "~~"
# Room left for the readable prefix of a truncated key.
_PREFIX_BUDGET = MAX_KEY_BYTES - len(_TRUNCATED_MARK) - _HASH_HEX

_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)]
)
# Most real IDs: they encode to themselves, so the builder's ~100k calls skip the character loop.
_PLAIN = re.compile(rf"[A-Z0-9_-]{{1,{MAX_KEY_BYTES}}}")
# One unit that truncation must keep whole: an escape, a case marker with its letter, or one character.
_UNIT = re.compile(r"~[0-9a-f]{2}|![A-Za-z]|.", re.DOTALL)
_PASS = frozenset("0123456789-_.")
_HEX = frozenset("0123456789abcdefABCDEF")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def key_for(id_: str) -> str:
    """The file-name key of a GTFS ID; see the module docstring for the scheme and its guarantees."""
    if _PLAIN.fullmatch(id_) and id_ not in _RESERVED:
        return id_
    if not id_:
        raise ValueError("a GTFS ID cannot be empty")
    key = _encode(id_)
    if len(key) <= MAX_KEY_BYTES:
        return key
    prefix_len = 0
    for unit in _UNIT.finditer(key):
        if unit.end() > _PREFIX_BUDGET:
            break
        prefix_len = unit.end()
    digest = hashlib.sha256(id_.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX]
    return key[:prefix_len] + _TRUNCATED_MARK + digest


def _encode(id_: str) -> str:
    out: list[str] = []
    upper = True
    for ch in id_:
        if ch in _ASCII_LETTERS:
            if ch.isupper() != upper:
                out.append("!")
                upper = not upper
            out.append(ch)
        elif ch in _PASS and not (ch == "." and not out):
            out.append(ch)
        else:
            out.extend(f"~{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
    key = "".join(out)
    # Only an all-uppercase start can spell a device name: any lowercase letter brings a `!` in.
    if key.split(".", 1)[0].upper() in _RESERVED:
        key = f"~{ord(key[0]):02x}{key[1:]}"
    return key


def decode_key(key: str) -> str:
    """The ID whose key is `key`, in any letter case. Raises ValueError for truncated or foreign keys."""
    if _TRUNCATED_MARK in key:
        raise ValueError(f"key {key!r} was truncated and cannot be decoded; look the ID up instead")
    out = bytearray()
    upper = True
    i = 0
    while i < len(key):
        ch = key[i]
        if ch == "!":
            upper = not upper
        elif ch == "~":
            pair = key[i + 1 : i + 3]
            if len(pair) != 2 or not _HEX.issuperset(pair):
                raise ValueError(f"key {key!r}: `~` at {i} is not followed by two hex digits")
            out.append(int(pair, 16))
            i += 2
        elif ch in _ASCII_LETTERS:
            out += (ch.upper() if upper else ch.lower()).encode("ascii")
        elif ch in _PASS:
            out += ch.encode("ascii")
        else:
            raise ValueError(f"key {key!r}: {ch!r} cannot occur in a key")
        i += 1
    try:
        id_ = out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as err:
        raise ValueError(f"key {key!r} does not encode UTF-8 text") from err
    # Reject spellings key_for never writes (`~41` for `A`, `!!`, leading `.`) so each ID has one URL.
    if not id_ or key_for(id_).casefold() != key.casefold():
        raise ValueError(f"key {key!r} is not a key that key_for produces")
    return id_
