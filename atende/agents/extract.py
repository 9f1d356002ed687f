"""Text out of uploaded files: `.txt`, `.md`, `.csv`, `.pdf` (pypdf), `.docx` (python-docx).

Blocking and CPU-bound: call `extract` in a worker thread. A CSV with question and answer
columns (`question`/`answer` or `pergunta`/`resposta`) becomes FAQ pairs.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from atende.core.errors import InvalidInput, UnsupportedMediaType

SUPPORTED = (".txt", ".md", ".csv", ".pdf", ".docx")
_QUESTION = ("question", "pergunta")
_ANSWER = ("answer", "resposta")


@dataclass
class Extracted:
    text: str = ""
    pairs: list[tuple[str, str]] = field(default_factory=list)


class CorruptFile(InvalidInput):
    code, title = "corrupt-file", "The file cannot be read"


def suffix_of(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedMediaType(
            f"Upload one of: {', '.join(SUPPORTED)}.", field="file", supported=list(SUPPORTED)
        )
    return suffix


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise CorruptFile("This is not a text file (it contains binary data).", field="file")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorruptFile("The text is neither UTF-8 nor Windows-1252.", field="file")


def _csv(data: bytes) -> Extracted:
    content = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel()  # type: ignore[assignment]
    try:
        rows = [row for row in csv.reader(io.StringIO(content), dialect) if any(row)]
    except csv.Error as exc:
        raise CorruptFile(f"The CSV cannot be parsed: {exc}.", field="file") from exc
    if not rows:
        return Extracted()
    header = [h.strip().lower() for h in rows[0]]
    q = next((header.index(n) for n in _QUESTION if n in header), None)
    a = next((header.index(n) for n in _ANSWER if n in header), None)
    if q is not None and a is not None:
        pairs = [
            (row[q].strip(), row[a].strip())
            for row in rows[1:]
            if len(row) > max(q, a) and row[q].strip() and row[a].strip()
        ]
        return Extracted(pairs=pairs)
    lines = [
        "; ".join(f"{h}: {v.strip()}" for h, v in zip(rows[0], row, strict=False) if v.strip())
        for row in rows[1:]
    ]
    return Extracted(text="\n".join(lines))


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.startswith(b"%PDF"):
        raise CorruptFile("This is not a PDF file.", field="file")
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptFile("The PDF is damaged or encrypted.", field="file") from exc
    return Extracted(text="\n\n".join(p.strip() for p in pages if p.strip()))


def _docx(data: bytes) -> Extracted:
    from docx import Document

    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CorruptFile("The .docx file is damaged.", field="file") from exc
    parts = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                parts.append(" | ".join(cells))
    return Extracted(text="\n\n".join(parts))


def extract(filename: str, data: bytes) -> Extracted:
    """The text (or FAQ pairs) of a file; 415 for other types, 422 when it cannot be read or
    holds no text."""
    suffix = suffix_of(filename)
    if suffix == ".pdf":
        found = _pdf(data)
    elif suffix == ".docx":
        found = _docx(data)
    elif suffix == ".csv":
        found = _csv(data)
    else:
        found = Extracted(text=_decode(data))
    found.text = found.text.replace("\x00", "").strip()
    if not found.text and not found.pairs:
        raise CorruptFile("The file has no text to learn from.", field="file")
    return found
