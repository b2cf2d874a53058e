"""The Amazon EKS release calendar: when each Kubernetes minor version's standard support
ends. After that date a cluster bills extended support ($0.60 per cluster-hour instead of
$0.10, about +$365 a month), so the program refuses a version whose standard support has
ended and a test fails the day the committed stacks' version reaches its end.

Source: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (14 months
of standard support from the EKS release, then 12 of extended); 1.33 and 1.34 from the
awsdocs calendar (kubernetes-versions.adoc), 1.35 from endoflife.date/amazon-eks (EKS
release 2026-01-27 plus 14 months), checked December 2026.
"""

from __future__ import annotations

import datetime as dt

END_OF_STANDARD_SUPPORT: dict[str, dt.date] = {
    "1.33": dt.date(2026, 7, 29),
    "1.34": dt.date(2026, 12, 2),
    "1.35": dt.date(2027, 3, 27),
}
STANDARD_HOURLY_USD = 0.10
EXTENDED_HOURLY_USD = 0.60


def in_standard_support(version: str, on: dt.date) -> bool:
    """True while ``version`` is in standard support on day ``on`` (the end date itself is
    the first day billed as extended, from 00:00 UTC)."""
    end = END_OF_STANDARD_SUPPORT.get(version)
    return end is not None and on < end


def support_problem(version: str, on: dt.date) -> str | None:
    """Why ``version`` cannot be deployed on ``on``, or None."""
    if version not in END_OF_STANDARD_SUPPORT:
        known = ", ".join(sorted(END_OF_STANDARD_SUPPORT))
        return f"{version!r} is not in the EKS calendar this program knows ({known})"
    if not in_standard_support(version, on):
        current = [v for v in END_OF_STANDARD_SUPPORT if in_standard_support(v, on)]
        return (
            f"{version!r} left EKS standard support on {END_OF_STANDARD_SUPPORT[version]}: a "
            f"cluster on it bills extended support (${EXTENDED_HOURLY_USD:.2f}/h instead of "
            f"${STANDARD_HOURLY_USD:.2f}/h); use {' or '.join(current) or 'a newer version'}"
        )
    return None
