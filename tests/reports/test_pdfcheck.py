"""The PDF checks the assurance pack's tests rely on, each tried on small PDFs made here: by WeasyPrint from
tiny HTML (A4, page numbers at the foot), and by hand where WeasyPrint cannot make the fault (a font left
unembedded)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from tests.reports.pdfcheck import (
    blank_pages,
    is_tagged,
    page_sizes_mm,
    pdf_pages_text,
    pdf_to_pngs,
    unembedded_fonts,
)

weasyprint = pytest.importorskip("weasyprint")

PAGE_CSS = """
@page { size: A4; margin: 20mm; @bottom-center { content: counter(page) } }
@page bare { @bottom-center { content: none } }
body { font-family: 'DejaVu Sans'; font-size: 11pt }
"""
# 1: text; 2: only its page number; 3: text; 4: nothing at all; 5: a single word at the top of the body.
FIVE_PAGES = f"""<!doctype html><html lang="en"><head><title>Pages</title><style>{PAGE_CSS}</style></head>
<body>
<h1>First page</h1><p>Coverage was 93.8% in the quarter.</p>
<div style="break-before: page; height: 10mm"></div>
<p style="break-before: page">Third page</p>
<div style="page: bare; break-before: page; height: 10mm"></div>
<p style="break-before: page">ok</p>
</body></html>"""


def html_pdf(html: str, **options: object) -> bytes:
    data: bytes = weasyprint.HTML(string=html).write_pdf(**options)
    return data


@pytest.fixture(scope="module")
def five_pages() -> bytes:
    return html_pdf(FIVE_PAGES, pdf_variant="pdf/ua-1")


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF file from its objects (numbered from 1, the first the catalogue), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (extra, len(content), content)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"


def page(resources: bytes) -> bytes:
    return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources %s /Contents 4 0 R >>" % (
        resources
    )


def form(resources: bytes, content: bytes = b"BT /F2 10 Tf 0 0 Td (In a form) Tj ET") -> bytes:
    return stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 200 50] /Resources " + resources)


def type0_font(descriptor_extra: bytes) -> tuple[bytes, ...]:
    """Objects 6-9: a Type 0 font, its CIDFontType2 descendant, the descriptor and a (pretend) font file."""
    return (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+NotoSans /Encoding /Identity-H"
        b" /DescendantFonts [7 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+NotoSans"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor 8 0 R >>",
        b"<< /Type /FontDescriptor /FontName /ABCDEF+NotoSans /Flags 32 /FontBBox [0 0 1000 1000]"
        b" /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 %s >>" % descriptor_extra,
        stream(b"not really a font"),
    )


def test_text_of_each_page(five_pages: bytes) -> None:
    texts = pdf_pages_text(five_pages)
    assert len(texts) == 5
    assert "Coverage was 93.8% in the quarter." in texts[0]
    assert "Third page" in texts[2]
    assert [t.split()[-1] for t in (texts[0], texts[1], texts[2], texts[4])] == ["1", "2", "3", "5"]
    assert texts[3].strip() == ""


def test_page_sizes_in_millimetres(tmp_path: Path) -> None:
    landscape = html_pdf(FIVE_PAGES.replace("size: A4;", "size: A4 landscape;"))
    assert page_sizes_mm(html_pdf(FIVE_PAGES)) == [(210.0, 297.0)] * 5
    assert page_sizes_mm(landscape) == [(297.0, 210.0)] * 5
    writer = PdfWriter(clone_from=io.BytesIO(html_pdf("<p>one</p><p style='break-before: page'>two</p>")))
    writer.pages[1].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)
    sizes = page_sizes_mm(rotated.getvalue())
    assert sizes[1] == (sizes[0][1], sizes[0][0])


def test_weasyprint_embeds_its_fonts(five_pages: bytes) -> None:
    fonts = PdfReader(io.BytesIO(five_pages)).pages[0]["/Resources"]["/Font"]
    assert fonts, "the check must have fonts to look at"
    assert unembedded_fonts(five_pages) == []


def test_a_standard_font_named_only_is_found_on_the_page_and_in_a_form() -> None:
    data = raw_pdf(
        CATALOG,
        PAGES,
        page(b"<< /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >>"),
        stream(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET /X1 Do"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        form(b"<< /Font << /F2 7 0 R >> >>"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
    )
    assert "Hello" in pdf_pages_text(data)[0]
    assert unembedded_fonts(data) == ["Courier", "Helvetica"]


def test_type0_font_is_judged_by_its_descendant() -> None:
    def with_form_font(descriptor_extra: bytes) -> bytes:
        return raw_pdf(
            CATALOG,
            PAGES,
            page(b"<< /XObject << /X1 5 0 R >> >>"),  # no font on the page itself: only in the form
            stream(b"/X1 Do"),
            form(b"<< /Font << /F2 6 0 R >> >>", b"BT /F2 10 Tf 0 0 Td <0001> Tj ET"),
            *type0_font(descriptor_extra),
        )

    assert unembedded_fonts(with_form_font(b"")) == ["ABCDEF+NotoSans"]
    assert unembedded_fonts(with_form_font(b"/FontFile2 9 0 R")) == []


def test_a_form_that_draws_itself_does_not_loop() -> None:
    data = raw_pdf(
        CATALOG,
        PAGES,
        page(b"<< /XObject << /X1 5 0 R >> >>"),
        stream(b"/X1 Do"),
        form(b"<< /XObject << /X1 5 0 R >> /Font << /F2 6 0 R >> >>", b"/X1 Do"),
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Arial >>",
    )
    assert unembedded_fonts(data) == ["Arial"]


def test_blank_pages_include_a_page_with_only_its_number(five_pages: bytes) -> None:
    # page 2 holds only its page number, page 4 nothing at all; page 5 a single short word
    assert blank_pages(five_pages) == [2, 4]
    assert blank_pages(five_pages, dpi=20) == [2, 4]


def test_no_blank_page_in_a_full_document() -> None:
    html = f"<style>{PAGE_CSS}</style>" + "".join(f"<p>Paragraph {i} of the pack.</p>" for i in range(120))
    data = html_pdf(html)
    assert len(pdf_pages_text(data)) > 1
    assert blank_pages(data) == []


def test_tagged_only_when_asked_for_pdf_ua(five_pages: bytes) -> None:
    assert is_tagged(five_pages)
    assert not is_tagged(html_pdf(FIVE_PAGES))
    assert not is_tagged(raw_pdf(CATALOG, PAGES, page(b"<< >>"), stream(b"")))


def test_pages_as_pictures(five_pages: bytes, tmp_path: Path) -> None:
    from PIL import Image

    paths = pdf_to_pngs(five_pages, tmp_path / "pages")
    assert [p.name for p in paths] == [f"page-00{n}.png" for n in range(1, 6)]
    with Image.open(paths[0]) as first:
        assert first.format == "PNG"
        width, height = first.size
    assert abs(width - 210 / 25.4 * 70) <= 1 and abs(height - 297 / 25.4 * 70) <= 1
    with Image.open(pdf_to_pngs(five_pages, tmp_path / "large", dpi=140)[0]) as large:
        assert abs(large.size[0] - 210 / 25.4 * 140) <= 1
