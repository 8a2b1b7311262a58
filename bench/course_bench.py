"""Benchmark the served course in headless Chromium; prints a Markdown table per measurement.

For each chapter: headless steps/s; served steps/s while streaming at top speed (and its ratio
to headless); frames/s the page applies at the chapter's default speed; milliseconds from the
click on Train to the first new frame; the server's CPU time per frame the page applied (all
of the server process: training, measuring, drawing, sending, and reading the browser's
messages), and from it how many students one core holds at 10 frames/s. Then the same for 1, 3,
5 and 10 sessions training the collapse chapter at once. Figures, not pass/fail: the machine is
shared.

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_chapter(page: Page, base: str, chapter, seconds: float, pid: int) -> dict[str, float]:
    name = watched_source(chapter)
    # Frame rate, first-frame latency and server CPU per frame at the chapter's default speed.
    open_chapter(page, f"{base}?chapter={chapter.slug}", name)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_timeout(1000)  # skip the first second (warm-up)
    start, cpu = page.evaluate("() => performance.now()"), cpu_seconds(pid)
    page.wait_for_timeout(seconds * 1000)
    cpu = cpu_seconds(pid) - cpu
    stats = page.evaluate(
        """() => {
          const after = window.__frames.filter(t => t > window.__clicked);
          return {first: after[0] - window.__clicked, now: performance.now()};
        }"""
    )
    frames = frames_between(page, start, stats["now"])
    fps = frames / ((stats["now"] - start) / 1000)
    page.get_by_role("button", name="Pause").first.click()

    # Throughput at top speed, steps counted by the page's own step readout.
    open_chapter(page, f"{base}?chapter={chapter.slug}&speed={TOP_SPEED}", name)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_timeout(1000)
    s0, t0 = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    s1, t1 = step_count(page), time.perf_counter()
    page.get_by_role("button", name="Pause").first.click()
    return {
        "fps": fps,
        "first_ms": stats["first"],
        "served": (s1 - s0) / (t1 - t0),
        "cpu_ms": 1000 * cpu / max(frames, 1),
    }


def per_core(cpu_ms: float) -> str:
    """Students one core holds at 10 frames/s each, from the server's CPU time per frame."""
    return f"{1000 / (10 * cpu_ms):.0f}" if cpu_ms > 0 else "–"


def measure_sessions(browser, base: str, n: int, seconds: float, pid: int) -> tuple[list, float]:
    chapter = next(c for c in chapters() if c.slug == "collapse")
    name = watched_source(chapter)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pages = [context.new_page() for _ in range(n)]
    for page in pages:
        open_chapter(page, f"{base}?chapter=collapse", name)
    for page in pages:
        page.get_by_role("button", name="Train").first.click()
    time.sleep(1.0)
    cpu = cpu_seconds(pid)
    time.sleep(seconds)
    cpu = cpu_seconds(pid) - cpu
    rates = []
    for page in pages:
        now = page.evaluate("() => performance.now()")
        start = now - seconds * 1000
        rates.append(frames_between(page, start, now) / seconds)
    context.close()
    return rates, 1000 * cpu / max(sum(rates) * seconds, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--out",
        type=lambda text: Path(text) if text else None,
        default=ROOT / "docs" / "benchmarks.md",
        help="the doc whose measured section is replaced ('' writes nothing)",
    )
    parser.add_argument(
        "--sessions",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[1, 3, 5, 10],
        help="comma-separated counts of simultaneous collapse sessions ('' for none)",
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
                m = measure_chapter(page, base, chapter, args.seconds, server.pid)
                rows.append(
                    [
                        chapter.slug,
                        f"{headless:,.0f}",
                        f"{m['served']:,.0f}",
                        f"{m['served'] / headless:.0%}",
                        f"{m['fps']:.1f}",
                        f"{m['first_ms']:.0f}",
                        f"{m['cpu_ms']:.1f}",
                        per_core(m["cpu_ms"]),
                    ]
                )
                print(rows[-1], flush=True)
            page.close()
            for n in args.sessions:
                rates, cpu_ms = measure_sessions(browser, base, n, args.seconds, server.pid)
                session_rows.append(
                    [
                        str(n),
                        f"{min(rates):.1f}",
                        f"{statistics.median(rates):.1f}",
                        f"{max(rates):.1f}",
                        f"{cpu_ms:.1f}",
                        per_core(cpu_ms),
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
            "server ms/frame",
            "students/core",
        ],
        rows,
    )
    session_table = format_table(
        [
            "sessions training",
            "min frames/s",
            "median frames/s",
            "max frames/s",
            "server ms/frame",
            "students/core",
        ],
        session_rows,
    )
    report = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; browser and server on the same machine; "
        f"{args.seconds:.0f} s windows.\n\n"
        f"Per chapter (served steps/s at speed {TOP_SPEED}; frames/s, first frame and server "
        f"CPU per applied frame at the chapter's default speed; students/core at 10 frames/s "
        f"each):\n\n```\n{chapter_table}\n```\n\n"
        f"Several sessions training the collapse chapter at once (frames/s each page applies; "
        f"server CPU per applied frame over all of them):"
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
