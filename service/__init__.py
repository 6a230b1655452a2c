"""The mock interviewer: trap catalog, retrieval, LLM layer, grader, interviewer agent and interfaces."""

__version__ = "0.1.0"
