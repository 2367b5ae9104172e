"""Supervision figures (督办统计): rates, trends, the annual assessment (考核) and ledgers (台账)."""
