"""Pulumi ComponentResources, one per concern (network, buckets, ECS, EKS, Aurora): to come."""
