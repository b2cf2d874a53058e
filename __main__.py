"""Pulumi entry point. Not built yet: the AWS program is a later step (see README, Roadmap)."""

raise SystemExit(
    "the Pulumi program is not implemented yet; the service runs locally with `make serve`"
)
