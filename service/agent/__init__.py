"""The interviewer: a LangGraph agent that picks a trap, probes, and ends with a graded report."""
