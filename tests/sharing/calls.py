"""Generated metering data: reasoning calls as sharing.metering records them, made at chosen
moments in the past (which no real call can be), for the usage figures per hour and day."""

from datetime import datetime

from sharing.models import InferenceOutcome, InferenceRecord


def record_calls(
    version,
    caller,
    *,
    at: datetime,
    latencies: list[float],
    outcome: str = InferenceOutcome.OK,
    count: int = 1,
) -> list[InferenceRecord]:
    """One metered call per latency (ms), all made at `at`."""
    return InferenceRecord.objects.bulk_create(
        InferenceRecord(
            version=version,
            caller=caller,
            count=count,
            latency_ms=latency,
            outcome=outcome,
            error="" if outcome == InferenceOutcome.OK else "The call failed.",
            created_at=at,
        )
        for latency in latencies
    )


def nearest_rank(latencies: list[float], p: int) -> float:
    """The p-th percentile by the nearest-rank method, computed directly: the value at rank
    ceil(p·n/100) of the sorted values."""
    ordered = sorted(latencies)
    return ordered[-(-p * len(ordered) // 100) - 1]
