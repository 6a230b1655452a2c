"""Grading: rubric scores with verified evidence, by an LLM judge or by semantic similarity."""
