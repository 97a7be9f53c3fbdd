"""Tool-call answer parsing, scoring against gold calls, interval statistics and markdown reports."""
