"""Who is calling, and which collections they may read and write."""
