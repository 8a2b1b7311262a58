"""Benchmark the served course in headless Chromium; prints a Markdown table per measurement.

For each chapter: headless steps/s; served steps/s while streaming at top speed (and its ratio
to headless); frames/s the page receives at the chapter's default speed; milliseconds from the
click on Train to the first new frame. Then frames/s in every session with 1, 5 and 10
sessions training the collapse chapter at once. Figures, not pass/fail: the machine is shared.

    python bench/course_bench.py [--seconds 5] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.chapters import chapters  # noqa: E402
from course.devserver import BROWSER_ARGS, free_port, serve, stop  # noqa: E402
from sims.check import format_table, steps_per_second  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOP_SPEED = 500

# Count every data change of one source, and remember when the Train button was pressed.
INSTRUMENT = """(name) => {
  window.__frames = [];
  window.__clicked = null;
  document.addEventListener("pointerdown", () => { window.__clicked = performance.now(); },
                            {capture: true});
  for (const doc of Bokeh.documents) {
    const source = doc.get_model_by_name(name);
    if (source) {
      const note = () => window.__frames.push(performance.now());
      source.connect(source.properties.data.change, note);
      source.connect(source.streaming, note);
      return true;
    }
  }
  return false;
}"""


def watched_source(chapter) -> str:
    part = chapter.part_classes()[0]()
    part.plots()
    return next(iter(part.sources))


def open_chapter(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.locator("[data-state]").first.wait_for()
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    page.wait_for_timeout(500)  # let the websocket settle
    assert page.evaluate(INSTRUMENT, name), f"no data source named {name}"


def step_count(page: Page) -> int:
    return int(page.locator('td[data-key="step"]').first.inner_text().replace(",", ""))


def frames_between(page: Page, start: float, end: float) -> int:
    return page.evaluate(
        "([a, b]) => window.__frames.filter(t => t >= a && t <= b).length", [start, end]
    )


def measure_chapter(page: Page, base: str, chapter, seconds: float) -> dict[str, float]:
    name = watched_source(chapter)
    # Frame rate and first-frame latency at the chapter's default speed.
    open_chapter(page, f"{base}?chapter={chapter.slug}", name)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_timeout(seconds * 1000)
    stats = page.evaluate(
        """() => {
          const after = window.__frames.filter(t => t > window.__clicked);
          return {first: after[0] - window.__clicked, now: performance.now(),
                  clicked: window.__clicked};
        }"""
    )
    settle = stats["clicked"] + 1000  # skip the first second (warm-up)
    fps = frames_between(page, settle, stats["now"]) / ((stats["now"] - settle) / 1000)
    page.get_by_role("button", name="Pause").first.click()

    # Throughput at top speed, steps counted by the page's own step readout.
    open_chapter(page, f"{base}?chapter={chapter.slug}&speed={TOP_SPEED}", name)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_timeout(1000)
    s0, t0 = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    s1, t1 = step_count(page), time.perf_counter()
    page.get_by_role("button", name="Pause").first.click()
    return {"fps": fps, "first_ms": stats["first"], "served": (s1 - s0) / (t1 - t0)}


def measure_sessions(browser, base: str, n: int, seconds: float) -> list[float]:
    chapter = next(c for c in chapters() if c.slug == "collapse")
    name = watched_source(chapter)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pages = [context.new_page() for _ in range(n)]
    for page in pages:
        open_chapter(page, f"{base}?chapter=collapse", name)
    for page in pages:
        page.get_by_role("button", name="Train").first.click()
    time.sleep(1.0 + seconds)
    rates = []
    for page in pages:
        now = page.evaluate("() => performance.now()")
        start = now - seconds * 1000
        rates.append(frames_between(page, start, now) / seconds)
    context.close()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--out",
        type=lambda text: Path(text) if text else None,
        default=ROOT / "docs" / "benchmarks.md",
        help="the doc whose measured section is replaced ('' writes nothing)",
    )
    parser.add_argument("chapters", nargs="*", help="only these chapter slugs (default: all)")
    args = parser.parse_args()
    selected = [c for c in chapters() if not args.chapters or c.slug in args.chapters]

    port = free_port()
    server = serve(port)
    base = f"http://127.0.0.1:{port}/course"
    rows, session_rows = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for chapter in selected:
                headless = steps_per_second(chapter.part_classes()[0].sim, seconds=args.seconds)
                m = measure_chapter(page, base, chapter, args.seconds)
                rows.append(
                    [
                        chapter.slug,
                        f"{headless:,.0f}",
                        f"{m['served']:,.0f}",
                        f"{m['served'] / headless:.0%}",
                        f"{m['fps']:.1f}",
                        f"{m['first_ms']:.0f}",
                    ]
                )
                print(rows[-1], flush=True)
            page.close()
            for n in (1, 5, 10):
                rates = measure_sessions(browser, base, n, args.seconds)
                session_rows.append(
                    [
                        str(n),
                        f"{min(rates):.1f}",
                        f"{statistics.median(rates):.1f}",
                        f"{max(rates):.1f}",
                    ]
                )
                print(session_rows[-1], flush=True)
            browser.close()
    finally:
        stop(server)

    chapter_table = format_table(
        [
            "chapter",
            "headless steps/s",
            "served steps/s",
            "served / headless",
            "frames/s",
            "first frame (ms)",
        ],
        rows,
    )
    session_table = format_table(
        ["sessions training", "min frames/s", "median frames/s", "max frames/s"], session_rows
    )
    report = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; browser and server on the same machine; "
        f"{args.seconds:.0f} s windows.\n\n"
        f"Per chapter (served steps/s at speed {TOP_SPEED}; frames/s and first frame at the "
        f"chapter's default speed):\n\n```\n{chapter_table}\n```\n\n"
        f"Several sessions training the collapse chapter at once (frames/s each page receives):"
        f"\n\n```\n{session_table}\n```\n"
    )
    print("\n" + report)
    if args.out:
        write_report(args.out, report)
    return 0


def write_report(path: Path, report: str) -> None:
    """Replace the measured section of the benchmark doc, keeping its prose."""
    marker = "<!-- measured -->"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{marker}\n"
    head = text.split(marker)[0]
    path.write_text(f"{head}{marker}\n{report}")


if __name__ == "__main__":
    sys.exit(main())
