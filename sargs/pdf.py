"""Printing an HTML document to PDF with WeasyPrint.

WeasyPrint is loaded only when a PDF is asked for: the app starts and runs without it or
the system libraries it needs (a PDF download then answers 503 and the HTML one still
works). Documents bring their own print CSS (A4, page numbers, a font list starting with
"DejaVu Sans" so Latvian letters print) and no scripts: WeasyPrint runs none.
"""

from __future__ import annotations


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or the system libraries it needs) cannot be loaded here."""


def html_to_pdf(html: str, base_url: str) -> bytes:
    """The HTML printed to PDF; PdfUnavailable when WeasyPrint cannot load."""
    try:
        import weasyprint  # loaded here: the app starts without it and its libraries
    except (ImportError, OSError) as error:
        raise PdfUnavailable(str(error)) from error
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
