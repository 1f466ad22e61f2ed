"""Bake and unbake Open Badges credentials in PNG images, by splicing an ``iTXt`` chunk.

https://www.imsglobal.org/spec/ob/v3p0/#png

The image is never decoded: chunks are walked, checked (length, type, CRC, order) and
copied byte for byte; only the badge chunk is added or replaced. Compressed text is never
inflated, so a hostile image cannot make us decompress anything.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from credentials.baking import (
    BakedPayload,
    _check_size,
    _ob2_payload,
    _ob3_payload,
    _prepare_payload,
)
from credentials.errors import BakingError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Keywords include their NUL terminator so a prefix test cannot match a longer keyword.
_OB3_KEYWORD = b"openbadgecredential\0"
_OB2_KEYWORD = b"openbadges\0"
# CLR 2.0 bakes a ClrCredential the same way under its own keyword (1EdTech validator's enums).
_CLR_KEYWORD = b"clrcredential\0"
_MAX_CHUNK_LENGTH = 2**31 - 1  # PNG spec: lengths are limited to 2^31 - 1


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    data: bytes
    raw: bytes  # length + type + data + CRC, exactly as in the input


def _read_chunks(image: bytes) -> list[_Chunk]:
    """Walk and validate every chunk of a PNG.

    :raises BakingError: on a bad signature, truncation, bad CRC, bad chunk order or
        trailing data after ``IEND``.
    """
    _check_size(image)
    if not image.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (the 8-byte PNG signature is missing)")
    chunks: list[_Chunk] = []
    pos = len(PNG_SIGNATURE)
    end = len(image)
    while True:
        if pos == end:
            raise BakingError("the PNG has no IEND chunk (the file is truncated or incomplete)")
        if end - pos < 12:
            raise BakingError(f"the PNG is truncated inside a chunk header at byte {pos}")
        length, chunk_type = struct.unpack_from(">I4s", image, pos)
        if length > _MAX_CHUNK_LENGTH:
            raise BakingError(f"the PNG has an invalid chunk length at byte {pos}")
        if not chunk_type.isalpha():
            raise BakingError(f"the PNG has an invalid chunk type {chunk_type!r} at byte {pos}")
        chunk_end = pos + 12 + length
        if chunk_end > end:
            raise BakingError(
                f"the PNG is truncated: the {chunk_type.decode('ascii')} chunk at byte {pos} "
                f"needs {length} bytes of data"
            )
        data = image[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", image, pos + 8 + length)
        if zlib.crc32(chunk_type + data) != crc:
            raise BakingError(
                f"the PNG's {chunk_type.decode('ascii')} chunk at byte {pos} has a bad CRC "
                "(the file is corrupt)"
            )
        if not chunks and chunk_type != b"IHDR":
            raise BakingError("the PNG does not start with an IHDR chunk")
        if chunks and chunk_type == b"IHDR":
            raise BakingError("the PNG has more than one IHDR chunk")
        chunks.append(_Chunk(chunk_type, data, image[pos:chunk_end]))
        pos = chunk_end
        if chunk_type == b"IEND":
            break
    if pos != end:
        raise BakingError(f"the PNG has {end - pos} bytes of unexpected data after IEND")
    if chunks[-1].data:
        raise BakingError("the PNG's IEND chunk is not empty")
    return chunks


def _is_ob3_chunk(chunk: _Chunk) -> bool:
    return chunk.type == b"iTXt" and chunk.data.startswith(_OB3_KEYWORD)


def _itxt_text(chunk: _Chunk, keyword: bytes) -> str:
    """The text of an uncompressed iTXt chunk whose data starts with ``keyword``.

    Layout after the keyword's NUL: compression flag, compression method, language tag,
    NUL, translated keyword, NUL, text.

    :raises BakingError: when the chunk is compressed, malformed or not UTF-8.
    """
    name = keyword[:-1].decode("latin-1")
    rest = chunk.data[len(keyword) :]
    if len(rest) < 2:
        raise BakingError(f"the PNG's {name} iTXt chunk is malformed (too short)")
    flag = rest[0]
    if flag == 1:
        # The spec forbids compression; refusing also means never inflating attacker data.
        raise BakingError(
            f"the PNG's {name} iTXt chunk is compressed, which the Open Badges spec forbids"
        )
    if flag != 0:
        raise BakingError(f"the PNG's {name} iTXt chunk has an invalid compression flag")
    language_end = rest.find(b"\0", 2)
    translated_end = rest.find(b"\0", language_end + 1) if language_end >= 0 else -1
    if translated_end < 0:
        raise BakingError(f"the PNG's {name} iTXt chunk is malformed (missing separators)")
    try:
        return rest[translated_end + 1 :].decode("utf-8")
    except UnicodeDecodeError:
        raise BakingError(f"the PNG's {name} iTXt text is not valid UTF-8") from None


def _make_itxt(keyword: bytes, text: str) -> bytes:
    """An uncompressed iTXt chunk (flag 0, method 0, empty language and translated keyword)."""
    data = keyword + b"\0\0" + b"\0" + b"\0" + text.encode("utf-8")
    body = b"iTXt" + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def bake_png(image: bytes, payload: str) -> bytes:
    """Bake a credential into a PNG as one uncompressed ``openbadgecredential`` iTXt chunk.

    The chunk goes immediately before ``IEND``; every other chunk is copied byte for byte.
    An existing ``openbadgecredential`` chunk is replaced, so the result has exactly one.
    OB 2.0 ``openbadges`` chunks are left alone.

    :param image: the PNG bytes.
    :param payload: the signed credential as JSON text, or a compact JWS.
    :returns: the baked PNG bytes.
    :raises BakingError: when the PNG is invalid, already holds more than one
        ``openbadgecredential`` chunk, the payload is neither JSON nor a compact JWS,
        or the result would exceed the size limit.
    """
    _kind, text = _prepare_payload(payload)
    chunks = _read_chunks(image)
    if sum(1 for chunk in chunks if _is_ob3_chunk(chunk)) > 1:
        raise BakingError("the PNG already has more than one openbadgecredential chunk")
    kept = [chunk.raw for chunk in chunks[:-1] if not _is_ob3_chunk(chunk)]
    baked = b"".join([PNG_SIGNATURE, *kept, _make_itxt(_OB3_KEYWORD, text), chunks[-1].raw])
    _check_size(baked, "the baked image")
    return baked


def bake_ob2_png(image: bytes, assertion_url: str) -> bytes:
    """Bake an Open Badges 2.0 hosted assertion into a PNG: one uncompressed ``openbadges``
    iTXt chunk holding the assertion's URL, for backpacks that only read OB 2.0.

    https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/baking/index.html

    Every other chunk is copied byte for byte, except earlier badges: any ``openbadges`` or
    ``openbadgecredential`` chunk is dropped, so the image carries exactly this one badge (an
    OB 3.0 chunk would win over it in readers that know both).

    :param image: the PNG bytes.
    :param assertion_url: the hosted assertion's http(s) URL.
    :returns: the baked PNG bytes.
    :raises BakingError: when the PNG is invalid, the URL is not an http(s) URL, or the
        result would exceed the size limit.
    """
    kind = _ob2_payload(assertion_url, "png").kind if assertion_url.strip() else None
    if kind != "url" or assertion_url != assertion_url.strip():
        raise BakingError("an Open Badges 2.0 hosted badge needs the assertion's http(s) URL")
    chunks = _read_chunks(image)
    kept = [chunk.raw for chunk in chunks[:-1] if not _is_badge_chunk(chunk)]
    baked = b"".join(
        [PNG_SIGNATURE, *kept, _make_itxt(_OB2_KEYWORD, assertion_url), chunks[-1].raw]
    )
    _check_size(baked, "the baked image")
    return baked


def _is_badge_chunk(chunk: _Chunk) -> bool:
    return chunk.type in (b"iTXt", b"tEXt", b"zTXt") and chunk.data.startswith(
        (_OB3_KEYWORD, _OB2_KEYWORD)
    )


def unbake_png(image: bytes) -> BakedPayload | None:
    """Read the credential baked into a PNG.

    OB 3.0 (``iTXt`` keyword ``openbadgecredential``) wins over OB 2.0 (``iTXt`` keyword
    ``openbadges``, then legacy ``tEXt`` keyword ``openbadges`` holding a URL).

    :param image: the PNG bytes.
    :returns: the baked payload, or ``None`` when the PNG carries no badge.
    :raises BakingError: when the PNG is invalid, a badge chunk appears more than once, is
        compressed, or holds something that is not a credential.
    """
    chunks = _read_chunks(image)
    ob3 = [chunk for chunk in chunks if _is_ob3_chunk(chunk)]
    if len(ob3) > 1:
        raise BakingError("the PNG has more than one openbadgecredential chunk")
    if ob3:
        return _ob3_payload(_itxt_text(ob3[0], _OB3_KEYWORD), "png")
    for chunk in chunks:
        if chunk.type == b"zTXt" and chunk.data.startswith((_OB3_KEYWORD, _OB2_KEYWORD)):
            raise BakingError("the PNG's badge is in a compressed zTXt chunk, which is not allowed")
    ob2_itxt = [c for c in chunks if c.type == b"iTXt" and c.data.startswith(_OB2_KEYWORD)]
    if len(ob2_itxt) > 1:
        raise BakingError("the PNG has more than one openbadges iTXt chunk")
    if ob2_itxt:
        return _ob2_payload(_itxt_text(ob2_itxt[0], _OB2_KEYWORD), "png")
    ob2_text = [c for c in chunks if c.type == b"tEXt" and c.data.startswith(_OB2_KEYWORD)]
    if len(ob2_text) > 1:
        raise BakingError("the PNG has more than one openbadges tEXt chunk")
    if ob2_text:
        # tEXt is Latin-1 by definition; OB 1.x put the hosted assertion URL there.
        return _ob2_payload(ob2_text[0].data[len(_OB2_KEYWORD) :].decode("latin-1"), "png")
    return None


def _is_clr_chunk(chunk: _Chunk) -> bool:
    return chunk.type == b"iTXt" and chunk.data.startswith(_CLR_KEYWORD)


def bake_clr_png(image: bytes, payload: str) -> bytes:
    """Bake a CLR 2.0 ``ClrCredential`` into a PNG as one uncompressed ``clrcredential`` iTXt
    chunk just before ``IEND`` (an existing one is replaced; other chunks are copied as they are).

    :param image: the PNG bytes.
    :param payload: the signed ClrCredential as JSON text, or a compact JWS.
    :raises BakingError: as :func:`bake_png` does.
    """
    _kind, text = _prepare_payload(payload)
    chunks = _read_chunks(image)
    if sum(1 for chunk in chunks if _is_clr_chunk(chunk)) > 1:
        raise BakingError("the PNG already has more than one clrcredential chunk")
    kept = [chunk.raw for chunk in chunks[:-1] if not _is_clr_chunk(chunk)]
    baked = b"".join([PNG_SIGNATURE, *kept, _make_itxt(_CLR_KEYWORD, text), chunks[-1].raw])
    _check_size(baked, "the baked image")
    return baked


def unbake_clr_png(image: bytes) -> str | None:
    """The text of the ClrCredential baked into a PNG (``clrcredential`` iTXt), or ``None``.

    :raises BakingError: when the PNG is invalid, or the chunk is repeated, compressed or empty.
    """
    chunks = _read_chunks(image)
    found = [chunk for chunk in chunks if _is_clr_chunk(chunk)]
    if len(found) > 1:
        raise BakingError("the PNG has more than one clrcredential chunk")
    if not found:
        return None
    text = _itxt_text(found[0], _CLR_KEYWORD).strip()
    if not text:
        raise BakingError("the image has a CLR credential slot, but it is empty")
    return text
