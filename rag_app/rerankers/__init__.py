"""Reranking of fused search candidates before they are returned or answered from."""
