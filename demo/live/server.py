"""A local news site for `make demo-live`: three feeds that publish one fixture report every --step s.

    python demo/live/server.py [--port 8765] [--step 20]

Reports come from stories.json (written for this demo), released in order, one every ``--step``
seconds, each in its outlet's RSS feed and as an HTML page; updates.json rewrites a report once
enough others are out (a page that changes after it was read). The aggregator feed also links to
the wire's reports through a redirect with tracking parameters, the way aggregators do, so the
same article arrives by two feeds. Feeds answer 304 to a matching If-None-Match. Listens on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import html
import http.server
import json
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
TITLES = {"wire": "Example Wire", "daily": "The Daily Example", "aggregator": "Example News Aggregator"}


class Site:
    def __init__(self, step: float) -> None:
        self.stories: list[dict[str, Any]] = json.loads((HERE / "stories.json").read_text(encoding="utf-8"))
        self.updates: list[dict[str, Any]] = json.loads((HERE / "updates.json").read_text(encoding="utf-8"))
        self.start = time.time()
        self.step = step

    def released(self) -> list[dict[str, Any]]:
        """The reports out by now, each with its release time and any update already applied."""
        count = min(len(self.stories), int((time.time() - self.start) // self.step) + 1)
        out = []
        for n, story in enumerate(self.stories[:count]):
            story = dict(story, released=self.start + n * self.step)
            for update in self.updates:
                if update["slug"] == story["slug"] and count > update["after"]:
                    story.update({k: update[k] for k in ("title", "summary", "text")})
            out.append(story)
        return out

    def feed(self, name: str, base: str) -> bytes | None:
        if name not in TITLES:
            return None
        items = []
        for story in reversed(self.released()):
            if story["feed"] == name:
                items.append((story["slug"], story, f"{base}/articles/{story['slug']}.html"))
            elif name == "aggregator" and story["feed"] == "wire":
                items.append(
                    (f"agg-{story['slug']}", story, f"{base}/go/{story['slug']}?utm_source=aggregator")
                )
        entries = "".join(
            f"<item><guid isPermaLink='false'>{html.escape(guid)}</guid>"
            f"<title>{html.escape(story['title'])}</title><link>{html.escape(link)}</link>"
            f"<description>{html.escape(story['summary'])}</description>"
            f"<pubDate>{email.utils.formatdate(story['released'], usegmt=True)}</pubDate></item>"
            for guid, story, link in items
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(TITLES[name])}</title><link>{base}/</link>"
            f"<description>storydesk live demo</description>{entries}</channel></rss>"
        ).encode()

    def page(self, slug: str) -> bytes | None:
        for story in self.released():
            if story["slug"] == slug:
                paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in _sentences(story["text"]))
                outlet = TITLES[story["feed"]]
                return (
                    f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(story['title'])}</title>"
                    f"<meta property='og:site_name' content='{html.escape(outlet)}'></head><body>"
                    f"<nav><a href='/'>Home</a> | World | Business</nav>"
                    f"<header><h1>{html.escape(story['title'])}</h1></header><article>{paragraphs}</article>"
                    f"<footer>Copyright {html.escape(outlet)}. Subscribe to our newsletter.</footer></body></html>"
                ).encode()
        return None


def _sentences(text: str) -> list[str]:
    """Two sentences a paragraph, as news pages set them."""
    parts = [s.strip() + "." for s in text.split(". ") if s.strip()]
    parts = [p[:-1] if p.endswith("..") else p for p in parts]
    return [" ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]


def serve(host: str, port: int, step: float) -> None:
    site = Site(step)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            print(
                f"demo server: {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True
            )

        def do_GET(self) -> None:
            base = f"http://{host}:{port}"
            path = self.path.split("?", 1)[0]
            body: bytes | None = None
            kind = "text/html; charset=utf-8"
            if path == "/robots.txt":
                body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
            elif path.startswith("/feeds/") and path.endswith(".xml"):
                body, kind = site.feed(path[len("/feeds/") : -4], base), "application/rss+xml"
            elif path.startswith("/articles/") and path.endswith(".html"):
                body = site.page(path[len("/articles/") : -5])
            elif path.startswith("/go/"):
                self.send_response(302)
                self.send_header("Location", f"{base}/articles/{path[4:]}.html?utm_medium=feed&fbclid=demo")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if body is None:
                self.send_error(404)
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    print(f"demo server: http://{host}:{port}/feeds/ - a new report every {step:g} s", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--step", type=float, default=20.0, help="seconds between two releases")
    args = parser.parse_args()
    serve("127.0.0.1", args.port, args.step)


if __name__ == "__main__":
    main()
