"""Run reports: a JSON file for machines and CI, a self-contained HTML file for people."""
