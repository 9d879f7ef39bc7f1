#!/usr/bin/env python3
"""Check the internal links of a built mdBook (the HTML under BOOK_DIR).

Every relative `href`/`src` must point at a file in the book and, with a
`#fragment`, at an element with that id. External links (http:, mailto:)
are not fetched: CI has no network. Exits 1 listing every broken link.
"""
import html.parser
import os
import sys
import urllib.parse


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.links.append(value)


def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    return page


def main(book):
    pages = {}
    for dirpath, _, files in os.walk(book):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(dirpath, name)
                pages[os.path.normpath(path)] = parse(path)
    broken = []
    checked = 0
    for path, page in sorted(pages.items()):
        # mdBook's own chrome (theme assets, the print page) is not ours.
        if os.path.basename(path) in ("print.html", "404.html", "toc.html"):
            continue
        for link in page.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or link.startswith("//"):
                continue
            checked += 1
            target = path
            if url.path:
                target = os.path.normpath(
                    os.path.join(os.path.dirname(path), urllib.parse.unquote(url.path))
                )
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                if not os.path.exists(target):
                    broken.append(f"{os.path.relpath(path, book)}: {link} (no such file)")
                    continue
            if url.fragment and target.endswith(".html"):
                ids = pages.get(target) or parse(target)
                if url.fragment not in ids.ids:
                    broken.append(
                        f"{os.path.relpath(path, book)}: {link} (no #{url.fragment} there)"
                    )
    if not pages:
        print(f"check_links: no HTML pages under {book}", file=sys.stderr)
        return 1
    if broken:
        print(f"check_links: {len(broken)} broken internal links:", file=sys.stderr)
        for b in broken:
            print(f"  {b}", file=sys.stderr)
        return 1
    print(f"check_links: {checked} internal links in {len(pages)} pages, none broken")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/book"))
