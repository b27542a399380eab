"""Fetching feeds and pages: one guarded, polite HTTP client, and canonical URLs.

Fetcher       GET with timeouts, a size cap, redirects checked hop by hop, conditional
              requests, robots.txt, per-host delay and concurrency
canonical_url one spelling per article URL: tracking parameters out, wrappers unwrapped
"""

from __future__ import annotations

from storydesk.fetch.client import Fetcher, FetchResult, FetchStats
from storydesk.fetch.guard import AddressPolicy
from storydesk.fetch.urls import canonical_url, is_http_url

__all__ = ["AddressPolicy", "FetchResult", "FetchStats", "Fetcher", "canonical_url", "is_http_url"]
