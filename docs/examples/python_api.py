"""Grade an answer and run a short interview from Python (`python docs/examples/python_api.py`).

Semantic mode: no model is called, so this runs offline in a few seconds once the index is built.
"""

from interviewer import Interviewer, InterviewerError, Settings, grade

settings = Settings(mode="semantic")

g = grade(
    "I'd weight the fraud class by 10,000 in the cross-entropy, its inverse frequency, and classify at 0.5.",
    trap_id="mlsd-35",
    settings=settings,
)
print(f"{g.score}/100 ({g.verdict}); fell into the trap: {g.fell_into_trap}; may have meant: {list(g.unclear_flags)}")
for c in g.criteria:
    print(f"  {c.id}: {c.score}/{c.max}  evidence: {c.evidence!r}")

own = grade(
    "Metal pulls heat out of your hand faster.",
    question="Why does metal feel colder than wood?",
    reference_answer="Both are at room temperature. Metal conducts heat away from the hand faster.",
    max_score=5,
    settings=settings,
)
print(f"reference answer: {own.score_scaled}/5")

try:
    grade("anything", trap_id="mlsd-350", settings=settings)
except InterviewerError as exc:  # every error the package raises on purpose
    print(f"{type(exc).__name__}: {exc.message}")

with Interviewer(settings) as iv:
    reply = iv.start(trap_id="mlsd-33", user="example")
    print("interviewer:", reply.message[:80], "...")
    reply = iv.reply(
        reply.session_id,
        "Reservoir sampling, Algorithm R: after the first k events, accept the i-th with probability k/i "
        "and overwrite a uniformly chosen slot.",
    )
    print("interviewer:", reply.message)
    report = iv.report(reply.session_id)
    print(f"report: {report.grade.score if report.grade else 0}/100")
