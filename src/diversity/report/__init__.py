"""Reports: BibTeX from one citation source, tables and figures for papers."""
