"""The text a PDF shows, read by PDFium (a real PDF reader), for the tests of Cairn's PDFs."""

from __future__ import annotations

import pypdfium2


def pdf_text(data: bytes) -> str:
    """Every page's text, each run of whitespace (line breaks included) as one space."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pdf)
    finally:
        pdf.close()
