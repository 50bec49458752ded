"""The study framework: study description and verdicts, results folders and provenance (experiment), the claim list, the report, the command line, the stability check and plotting helpers."""
