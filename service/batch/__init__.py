"""Batch grading of answer files and transcripts (JSON Lines in, JSON Lines out)."""
