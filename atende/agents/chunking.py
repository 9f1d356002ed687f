"""Splits text into overlapping chunks on paragraph boundaries (then sentences, then words)."""

import re

CHUNK_CHARS = 800
OVERLAP_CHARS = 150
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?…])\s+")


def _pieces(paragraph: str, size: int) -> list[str]:
    """A paragraph as pieces of at most `size` characters: itself, its sentences, or words."""
    if len(paragraph) <= size:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCES.split(paragraph):
        if len(sentence) <= size:
            pieces.append(sentence)
            continue
        line = ""
        for whole in sentence.split():
            word = whole
            while len(word) > size:  # a "word" longer than a chunk (a URL, a hash...)
                if line:
                    pieces.append(line)
                    line = ""
                pieces.append(word[:size])
                word = word[size:]
            if line and len(line) + 1 + len(word) > size:
                pieces.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            pieces.append(line)
    return pieces


Unit = tuple[str, int]  # a piece of text and the paragraph it comes from


def _overlap(units: list[Unit], overlap: int) -> list[Unit]:
    """The end of a chunk to repeat at the start of the next: its last whole pieces that fit
    in `overlap` characters, or else the last words of its last piece."""
    kept: list[Unit] = []
    total = 0
    for unit in reversed(units):
        total += len(unit[0]) + 1
        if total > overlap:
            break
        kept.insert(0, unit)
    if kept or not units or overlap <= 0:
        return kept
    piece, para = units[-1]
    words = piece[-overlap:].split(" ", 1)
    return [(words[1], para)] if len(words) > 1 and words[1] else []


def _render(units: list[Unit]) -> str:
    out = ""
    for n, (piece, para) in enumerate(units):
        if n:
            out += "\n\n" if para != units[n - 1][1] else " "
        out += piece
    return out


def chunk_text(text: str, *, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Chunks of at most `size` characters, packed from whole paragraphs where they fit, each
    starting with up to `overlap` characters of the end of the previous chunk."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    units = [(piece, i) for i, p in enumerate(paragraphs) for piece in _pieces(p, size)]
    chunks: list[str] = []
    current: list[Unit] = []
    fresh = False  # whether `current` holds more than the overlap of the previous chunk
    for unit in units:
        if fresh and len(_render([*current, unit])) > size:
            chunks.append(_render(current))
            current = _overlap(current, overlap)
            if len(_render([*current, unit])) > size:
                current = []
        current.append(unit)
        fresh = True
    if fresh:
        chunks.append(_render(current))
    return chunks
