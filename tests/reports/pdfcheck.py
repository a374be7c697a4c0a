"""What the assurance pack's tests look for in a PDF (and its HTML): the text of each page, page sizes, fonts
not embedded, blank pages, PDF tags, pictures of the pages for people to look at, and axe-core's serious and
critical findings on the HTML in a real browser.

A page counts as blank when nothing is drawn on it outside its top and bottom `band_mm` (15 mm): the bands
where WeasyPrint's page-margin boxes (the page number, a running header) sit, so a page holding only its page
number is blank. The pack's @page margins must therefore be at least 15 mm, or its first line of text would
fall in the band."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

MM_PER_PT = 25.4 / 72
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
BAND_MM = 15.0
# A pixel darker than this (0 black, 255 white) is ink; a page with fewer ink pixels than INK_PIXELS in its
# body is blank (a few stray anti-aliased pixels do not make a page).
INK_LEVEL = 250
INK_PIXELS = 4
# axe-core: WCAG 2.0, 2.1 and 2.2, levels A and AA, as tests/e2e/test_accessibility.py checks the dashboard;
# heading-order too, "moderate" for axe but a skipped level misleads a screen-reader user.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
ALWAYS_CHECKED = {"heading-order"}


def pdf_pages_text(data: bytes) -> list[str]:
    """The extracted text of each page, in page order (pypdf)."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def page_sizes_mm(data: bytes) -> list[tuple[float, float]]:
    """(width, height) of each page as shown, in millimetres to 0.1 mm (A4 portrait is (210.0, 297.0))."""
    sizes = []
    for page in PdfReader(io.BytesIO(data)).pages:
        width = round(float(page.mediabox.width) * MM_PER_PT, 1)
        height = round(float(page.mediabox.height) * MM_PER_PT, 1)
        sizes.append((height, width) if page.rotation % 180 else (width, height))
    return sizes


def unembedded_fonts(data: bytes) -> list[str]:
    """The names (BaseFont, sorted, once each) of fonts used anywhere on the pages (the page's resources, and
    those of its Form XObjects, tiling patterns, Type 3 fonts and annotation appearances, however deep)
    whose descriptor has no FontFile, FontFile2 or FontFile3; for a Type 0 font, its descendant's. A font
    with no descriptor at all (a standard 14 font named only) is not embedded either."""
    seen: set[int] = set()
    missing: set[str] = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        _walk_resources(page.get("/Resources"), seen, missing)
        for annotation in _resolve(page.get("/Annots")) or []:
            appearances = _resolve(_resolve(annotation).get("/AP")) or {}
            for key in ("/N", "/R", "/D"):
                appearance = _resolve(appearances.get(key))
                if appearance is None:
                    continue
                # an appearance is a stream, or a dictionary of streams by state
                streams = [appearance] if "/Resources" in appearance else list(appearance.values())
                for stream in streams:
                    _walk_resources(_resolve(stream).get("/Resources"), seen, missing)
    return sorted(missing)


def is_tagged(data: bytes) -> bool:
    """Whether the PDF is tagged: its catalogue has a structure tree (StructTreeRoot) and MarkInfo /Marked
    true."""
    root = _resolve(PdfReader(io.BytesIO(data)).trailer["/Root"])
    mark_info = _resolve(root.get("/MarkInfo")) or {}
    return "/StructTreeRoot" in root and bool(mark_info.get("/Marked", False))


def blank_pages(data: bytes, dpi: int = 40, *, band_mm: float = BAND_MM) -> list[int]:
    """The 1-based numbers of the pages with (almost) no ink outside their top and bottom `band_mm`,
    rendered in grey at `dpi` by PDFium: an empty page, or one with only its page number (the module's
    docstring has the rule)."""
    import pypdfium2 as pdfium

    blank = []
    document = pdfium.PdfDocument(data)
    try:
        for number in range(1, len(document) + 1):
            page = document[number - 1]
            try:
                pixels = page.render(scale=dpi / 72, grayscale=True).to_numpy()
            finally:
                page.close()
            pixels = pixels.reshape(pixels.shape[0], -1)  # one channel
            band = round(band_mm / 25.4 * dpi)
            body = pixels[band : pixels.shape[0] - band]
            if int((body < INK_LEVEL).sum()) < INK_PIXELS:
                blank.append(number)
    finally:
        document.close()
    return blank


def pdf_to_pngs(data: bytes, folder: Path, dpi: int = 70) -> list[Path]:
    """Each page as folder/page-001.png, page-002.png, ... (folder made if missing), for people to look at."""
    import pypdfium2 as pdfium

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    document = pdfium.PdfDocument(data)
    try:
        for number in range(1, len(document) + 1):
            page = document[number - 1]
            try:
                path = folder / f"page-{number:03d}.png"
                page.render(scale=dpi / 72).to_pil().save(path)
                paths.append(path)
            finally:
                page.close()
    finally:
        document.close()
    return paths


def axe_serious(page: Any, html_path: Path) -> list[str]:
    """Open the HTML file in a Playwright page and return axe-core's serious and critical findings (and any
    heading-order finding), WCAG 2.2 A and AA rules, one line per rule: "rule-id: help (n nodes)"."""
    from axe_playwright_python.sync_playwright import Axe

    page.goto(html_path.resolve().as_uri())
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "rules": {"heading-order": {"enabled": True}}}
    response = Axe().run(page, options=options).response
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} node{'' if len(v['nodes']) == 1 else 's'})"
        for v in response["violations"]
        if v["impact"] in BLOCKING_IMPACTS or v["id"] in ALWAYS_CHECKED
    ]


def _resolve(obj: PdfObject | None) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _walk_resources(resources: PdfObject | None, seen: set[int], missing: set[str]) -> None:
    """Record the unembedded fonts of a resource dictionary and of everything drawn through it."""
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject):
        return
    for ref in (_resolve(resources.get("/Font")) or {}).values():
        if _first_visit(ref, seen):
            _check_font(_resolve(ref), seen, missing)
    for group in ("/XObject", "/Pattern"):
        for ref in (_resolve(resources.get(group)) or {}).values():
            if _first_visit(ref, seen):
                drawn = _resolve(ref)
                # Form XObjects and tiling patterns carry resources of their own; images and shadings do not
                if drawn.get("/Subtype") == "/Form" or drawn.get("/PatternType") == 1:
                    _walk_resources(drawn.get("/Resources"), seen, missing)


def _check_font(font: DictionaryObject, seen: set[int], missing: set[str]) -> None:
    name = str(font.get("/BaseFont", "(unnamed)")).lstrip("/")
    subtype = font.get("/Subtype")
    if subtype == "/Type3":  # glyphs drawn by content streams, which may use fonts of their own
        _walk_resources(font.get("/Resources"), seen, missing)
        return
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not isinstance(descendants, ArrayObject) or not descendants:
            missing.add(name)
            return
        font = _resolve(descendants[0])
    descriptor = _resolve(font.get("/FontDescriptor"))
    if not isinstance(descriptor, DictionaryObject) or not any(key in descriptor for key in FONT_FILES):
        missing.add(name)


def _first_visit(ref: PdfObject, seen: set[int]) -> bool:
    """False for an indirect object already walked (resources are shared, and may refer back to
    themselves)."""
    if not isinstance(ref, IndirectObject):
        return True
    if ref.idnum in seen:
        return False
    seen.add(ref.idnum)
    return True
