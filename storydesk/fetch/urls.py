"""Canonical URLs: one spelling per article, whatever feed or tracker link brought it.

Tracking parameters (``utm_*``, ``fbclid``, ``gclid`` ...) are dropped, scheme and host lower-cased,
default ports and fragments removed, and an aggregator's wrapper link (``news.google.com/...?url=``)
unwrapped to the publisher's URL. Aggregator links that only redirect are resolved by fetching: the
fetcher follows them and the final URL is canonicalised again.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that say who linked, never what is linked to.
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga",
        "_gl", "ref_src", "ref_url", "cmpid", "ncid", "ocid", "smid", "sr_share", "twclid", "wt_mc",
        "oly_enc_id", "oly_anon_id", "vero_id", "_hsenc", "_hsmi", "mkt_tok", "guccounter", "spm",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "hmb_")

# Aggregator wrapper links that carry the publisher's URL in a query parameter: host -> parameters.
_WRAPPERS: dict[str, tuple[str, ...]] = {
    "news.google.com": ("url",),
    "www.google.com": ("url", "q"),
    "google.com": ("url", "q"),
    "www.bing.com": ("url",),
    "bing.com": ("url",),
    "l.facebook.com": ("u",),
    "lm.facebook.com": ("u",),
    "out.reddit.com": ("url",),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The canonical spelling of an http(s) URL (other strings come back stripped, unchanged)."""
    url = url.strip()
    for _ in range(3):  # a wrapper wrapping a wrapper: unwrap a few levels, never loop
        inner = _unwrap(url)
        if inner is None:
            break
        url = inner
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in _TRACKING or key.startswith(_TRACKING_PREFIXES)


def _unwrap(url: str) -> str | None:
    """The publisher URL inside an aggregator wrapper link, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    names = _WRAPPERS.get((parts.hostname or "").lower())
    if not names:
        return None
    for key, value in parse_qsl(parts.query):
        if key in names and is_http_url(value):
            return value
    return None
