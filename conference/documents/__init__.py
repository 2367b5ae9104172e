"""Documents the office issues: their 文号 (numbers) and the papers of a meeting (papers)."""
