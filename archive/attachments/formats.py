"""Text from one attachment file, by format: pure functions of (path, options) -> Extracted.

Run only inside the bounded worker process (archive/attachments/worker.py), never in the crawl or the
writer: a hostile or broken file can take a parser's time and memory, and here it takes only its own.

| format | how | method |
| --- | --- | --- |
| PDF | pdfminer.six (CID fonts, ToUnicode maps); no text layer: OCR if enabled | text-layer / ocr |
| DOCX | python-docx (paragraphs, then tables) | text-layer |
| DOC, WPS (Word 97 format) | antiword -m UTF-8.txt, else catdoc -d utf-8 | text-layer |
| XLSX | openpyxl, read-only: one line per row, cells tab-separated | text-layer |
| XLS | xlrd (BIFF8: strings as the file stores them), as XLSX | text-layer |

antiword reads the document's piece table; catdoc (0.95) drops the first 256 characters of every longer
paragraph, so it is the fallback, for a file antiword cannot read or crashes on. catdoc's xls2csv reads
every cell holding a character whose low byte is zero (一, U+4E00) as 8-bit text: xlrd reads XLS.
A reader program that crashes is named in the reason recorded ("antiword: crashed (SIGSEGV)").
| OFD | ofdkit (GB/T 33190 packages) | text-layer |
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# A PDF page with fewer letters/digits than this in its text layer is taken for a scan.
MIN_CHARS_PER_PAGE = 10


@dataclass
class Extracted:
    format: str | None
    text: str = ""
    method: str = "none"  # "text-layer", "ocr" or "none"
    pages: int | None = None
    errors: list[str] = field(default_factory=list)
    extractor: str | None = None


class ExtractionError(Exception):
    """The file cannot be read as its format: the message is the reason recorded."""


def detect(head: bytes, path: Path, url: str = "", mime: str | None = None) -> str | None:
    """The format from the file's first bytes (and, for Word/Excel binaries and zips, what they hold)."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(OLE_MAGIC):
        raw = path.read_bytes()[:1 << 20]
        if "WordDocument".encode("utf-16-le") in raw:
            return "wps" if url.lower().split("?")[0].endswith(".wps") else "doc"
        if "Workbook".encode("utf-16-le") in raw or "Book".encode("utf-16-le") in raw:
            return "xls"
        return None
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if any(n.lower() == "ofd.xml" or n.lower().endswith("/ofd.xml") for n in names):
            return "ofd"
    return None


def _clean(text: str) -> str:
    """Lines without trailing spaces, at most one blank line in a row, no NUL or form feeds."""
    text = text.replace("\x00", "").replace("\x0c", "\n").replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def letters(text: str) -> int:
    return sum(c.isalnum() for c in text)


# -- PDF ---------------------------------------------------------------------------------------------

def pdf(path: Path, ocr: bool, lang: str, ocr_max_pages: int) -> Extracted:
    import pdfminer
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    out = Extracted("pdf", extractor=f"pdfminer.six {pdfminer.__version__}")
    pages: list[str] = []
    try:
        for page in extract_pages(str(path), laparams=LAParams()):
            pages.append("".join(el.get_text() for el in page if isinstance(el, LTTextContainer)))
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AssertionError) as e:
        raise ExtractionError(f"not a readable PDF: {type(e).__name__}: {e}") from None
    out.pages = len(pages)
    text = _clean("\n\n".join(pages))
    if pages and letters(text) >= MIN_CHARS_PER_PAGE * len(pages):
        out.text, out.method = text, "text-layer"
        return out
    # No (or almost no) text layer: a scan.
    if not ocr:
        out.text, out.method = text, "text-layer" if letters(text) else "none"
        out.errors.append("no text layer (a scanned document?): OCR is off (--ocr turns it on)")
        return out
    ocr_text, errors = ocr_pdf(path, lang, ocr_max_pages, out.pages or 0)
    out.errors += errors
    out.text, out.method = ocr_text, "ocr"
    out.extractor = f"tesseract ({lang}) via pdftoppm"
    return out


def ocr_pdf(path: Path, lang: str, max_pages: int, pages: int) -> tuple[str, list[str]]:
    """Render each page at 200 dpi (pdftoppm) and read it with Tesseract."""
    for tool in ("pdftoppm", "tesseract"):
        if shutil.which(tool) is None:
            raise ExtractionError(f"OCR needs {tool}, which is not installed (Debian: poppler-utils, tesseract-ocr)")
    errors = []
    if pages > max_pages:
        errors.append(f"OCR of the first {max_pages} of {pages} pages only")
    texts = []
    with tempfile.TemporaryDirectory(prefix="govnews-ocr-") as tmp:
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-l", str(max_pages), str(path), f"{tmp}/p"],
                       check=True, capture_output=True)
        for img in sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
            done = subprocess.run(["tesseract", str(img), "stdout", "-l", lang, "--psm", "6"],
                                  capture_output=True)
            if done.returncode != 0:
                raise ExtractionError(f"tesseract failed: {done.stderr.decode('utf-8', 'replace').strip()[-200:]}")
            texts.append(join_cjk(done.stdout.decode("utf-8", "replace")))
    return _clean("\n\n".join(texts)), errors


_CJK_GAP = re.compile(r"(?<=[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]) +(?=[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef])")


def join_cjk(text: str) -> str:
    """Tesseract puts spaces between Chinese characters: take them out (between Latin words they stay)."""
    return _CJK_GAP.sub("", text)


# -- Word, Excel, OFD ----------------------------------------------------------------------------------

def docx(path: Path) -> Extracted:
    import docx as python_docx

    try:
        d = python_docx.Document(str(path))
    except Exception as e:  # python-docx raises many kinds on a broken package
        raise ExtractionError(f"not a readable DOCX: {type(e).__name__}: {e}") from None
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.append("\t".join(c.text for c in row.cells))
    return Extracted("docx", _clean("\n".join(parts)), "text-layer", None, extractor="python-docx")


def word_binary(path: Path, fmt: str) -> Extracted:
    """Word 97-2003 (and WPS files in that format): antiword first, catdoc when antiword finds nothing."""
    errors = []
    for argv, name in ((["antiword", "-m", "UTF-8.txt", "-w", "0"], "antiword"), (["catdoc", "-d", "utf-8", "-w"], "catdoc")):
        if shutil.which(argv[0]) is None:
            errors.append(f"{name} is not installed")
            continue
        done = subprocess.run([*argv, str(path)], capture_output=True)
        text = _clean(done.stdout.decode("utf-8", "replace"))
        if done.returncode == 0 and text:
            return Extracted(fmt, text, "text-layer", None, errors, extractor=name)
        errors.append(f"{name}: {_program_failure(done)}")
    raise ExtractionError("; ".join(errors))


def _program_failure(done: subprocess.CompletedProcess) -> str:
    """Why a reader program gave no text: its crash (a signal), its exit status and last stderr, or none."""
    stderr = done.stderr.decode("utf-8", "replace").strip()[-200:]
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return f"crashed ({name})" + (f": {stderr}" if stderr else "")
    if done.returncode:
        return f"exit {done.returncode}" + (f": {stderr}" if stderr else "")
    return stderr or "no text"


def xls(path: Path) -> Extracted:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as e:  # xlrd.XLRDError, compound-file and struct errors on a broken file
        raise ExtractionError(f"not a readable XLS: {type(e).__name__}: {e}") from None
    try:
        lines = []
        for i in range(book.nsheets):
            sheet = book.sheet_by_index(i)
            lines.append(sheet.name)
            for r in range(sheet.nrows):
                cells = [_xls_cell(c) for c in sheet.row(r)]
                if any(cells):
                    lines.append("\t".join(cells).rstrip("\t"))
            lines.append("")
            book.unload_sheet(i)
        pages = book.nsheets
    finally:
        book.release_resources()
    return Extracted("xls", _clean("\n".join(lines)), "text-layer", pages, extractor=f"xlrd {xlrd.__version__}")


def _xls_cell(cell) -> str:
    """A cell as text: numbers without a spurious .0, empty and error cells empty."""
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return str(int(cell.value))
    return str(cell.value)


def xlsx(path: Path) -> Extracted:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(str(path), read_only=True, data_only=True)
    except Exception as e:  # zip, XML and openpyxl's own errors
        raise ExtractionError(f"not a readable XLSX: {type(e).__name__}: {e}") from None
    lines = []
    for ws in wb.worksheets:
        lines.append(ws.title)
        for row in ws.iter_rows(values_only=True):
            cells = ["" if v is None else str(v) for v in row]
            if any(cells):
                lines.append("\t".join(cells).rstrip("\t"))
        lines.append("")
    wb.close()
    return Extracted("xlsx", _clean("\n".join(lines)), "text-layer", len(wb.worksheets), extractor="openpyxl")


def ofd(path: Path) -> Extracted:
    import ofdkit

    try:
        with ofdkit.open(str(path)) as doc:
            text = doc.text("\n\n")
            pages, warnings = len(doc.pages), list(doc.warnings)
    except (ofdkit.OFDError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise ExtractionError(f"not a readable OFD: {e}") from None
    return Extracted("ofd", _clean(text), "text-layer", pages, warnings[:5], extractor=f"ofdkit {ofdkit.__version__}")


def extract(path: Path, fmt: str, ocr: bool = False, lang: str = "chi_sim", ocr_max_pages: int = 50) -> Extracted:
    """The text of one file of a known format (raises ExtractionError with the reason)."""
    if fmt == "pdf":
        return pdf(path, ocr, lang, ocr_max_pages)
    if fmt == "docx":
        return docx(path)
    if fmt in ("doc", "wps"):
        return word_binary(path, fmt)
    if fmt == "xls":
        return xls(path)
    if fmt == "xlsx":
        return xlsx(path)
    if fmt == "ofd":
        return ofd(path)
    raise ExtractionError(f"unsupported format {fmt!r}")
