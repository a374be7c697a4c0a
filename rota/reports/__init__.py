"""The safeguarding partnership board's quarterly assurance pack (docs/reports.md): its figures gathered
from the services for one audience, written into one template as HTML, and as an A4 PDF."""
