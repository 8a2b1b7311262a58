"""The course around the chapters: home page, navigation, chapter pages, themes."""

from __future__ import annotations

import html
from typing import Any

import panel as pn
from panel.theme import fast

from course.chapters import chapters
from course.classroom import classroom
from course.classview import class_page
from course.engine import address
from course.engine.chapter import Chapter, Text
from course.engine.markdown import markdown
from course.engine.settings import unknown_settings
from course.engine.view import SimView
from course.theme import CSS, STYLESHEETS


class Fast(fast.Fast):
    """Panel's Fast design without its web font: the course must work with no internet.
    (Same class name, so Panel finds the design's own bundled files.)"""

    _resources = {**fast.Fast._resources, "font": {}}  # noqa: RUF012


COURSE_TITLE = "Making Views Agree"
CLASS_VIEW = "class"  # /course?view=class: the instructor's view
INTRO = (
    "A hands-on course on self-supervised learning. Each chapter asks one question, explains "
    "it in a few paragraphs, and lets you train a small network live in your browser to see "
    "the answer: how two views of the same thing can teach a representation without labels, "
    "why the obvious way to do it collapses, and how prediction, contrast and mutual "
    "information repair it."
)


def first(args: dict[str, list[bytes]], name: str) -> str | None:
    values = args.get(name)
    return values[0].decode("utf-8", "replace") if values else None


def nav(current: str | None) -> pn.pane.HTML:
    items = []
    for chapter in chapters():
        text = chapter.text()
        cls = ' class="current" aria-current="page"' if chapter.slug == current else ""
        items.append(
            f'<li><a href="?chapter={chapter.slug}"{cls}>{html.escape(text.title)}</a></li>'
        )
    home = ' class="current"' if current is None else ""
    room = ' class="current"' if current == CLASS_VIEW else ""
    return pn.pane.HTML(
        f'<nav class="nav"><a href="?"{home}>Home</a><ol>{"".join(items)}</ol>'
        f'<a href="?view={CLASS_VIEW}"{room}>Your class (for instructors)</a></nav>',
        sizing_mode="stretch_width",
        stylesheets=STYLESHEETS,
    )


def home_page(notice: str | None = None) -> list[Any]:
    items = "".join(
        f'<li><a href="?chapter={c.slug}"><b>{html.escape(c.text().title)}</b></a>: '
        f"{html.escape(c.text().summary)}</li>"
        for c in chapters()
    )
    parts: list[Any] = []
    if notice:
        parts.append(
            pn.pane.HTML(
                f'<div class="notice">{html.escape(notice)}</div>',
                sizing_mode="stretch_width",
                stylesheets=STYLESHEETS,
            )
        )
    parts += [
        pn.pane.Markdown(f"# {COURSE_TITLE}\n\n{INTRO}", sizing_mode="stretch_width"),
        pn.pane.HTML(
            f'<h2>Chapters</h2><ol class="chapter-list">{items}</ol>',
            sizing_mode="stretch_width",
            stylesheets=STYLESHEETS,
        ),
        pn.pane.Markdown(
            "Each chapter has the same shape: a question, a short lesson, a simulation with "
            "**Train**, **Step** and **Reset** (keys: Space, S, R), experiments to try, and a "
            "*Go deeper* section for the maths. Before a run you can predict what will happen "
            "and let the sim grade you; you can pin a run to compare it with the next, and take "
            "any run away as a Python script. The address always holds the page's settings, so "
            "*Copy link* shares one run, e.g. `?chapter=collapse&variance_floor=true&seed=3`; "
            "add `&step=300` to open it already trained to step 300.",
            sizing_mode="stretch_width",
        ),
    ]
    return parts


class PageAddress:
    """Keeps the browser's address equal to the page: the chapter, the settings the page
    keeps (``lock``, ``hide``, ``theme``) and every sim's controls, speed and paused step."""

    def __init__(self, slug: str, settings: dict[str, str]) -> None:
        self.page = [("chapter", slug)] + [
            (k, settings[k]) for k in ("theme", "lock", "hide") if settings.get(k)
        ]
        self.views: list[SimView] = []
        self.location = pn.state.location

    def __call__(self) -> None:
        if self.location is None:  # built outside a server (tests, notebooks)
            return
        pairs = [*self.page, *(pair for view in self.views for pair in view.address_pairs())]
        search = address.query(pairs)
        if self.location.search != search:
            self.location.search = search


class Presence:
    """This session as the instructor's class view counts it: open on a chapter, training or
    not, and the predictions it answered (counts only: no names, no addresses)."""

    def __init__(self, slug: str, doc: Any) -> None:
        self.slug, self.training, self.waiting = slug, False, False
        context = getattr(doc, "session_context", None)
        self.session: str | None = getattr(context, "id", None)
        self.views: list[SimView] = []
        if self.session is not None:
            classroom().opened(self.session, slug)
            doc.on_session_destroyed(self._destroyed)

    def _destroyed(self, _session_context: Any) -> None:
        self.close()

    def update(self) -> None:
        """Called whenever a view's controls are refreshed: writes only a change."""
        training = any(view.training for view in self.views)
        waiting = any(view.runner.running and view.runner.waiting for view in self.views)
        if self.session is not None:
            if training != self.training:
                classroom().training(self.session, training)
            if waiting != self.waiting:
                classroom().waiting(self.session, waiting)
        self.training, self.waiting = training, waiting

    def answered(self, prediction: Any, answer: str, right: bool) -> None:
        if self.session is not None:
            classroom().answered(self.slug, prediction.name, answer, right)

    def close(self) -> None:
        if self.session is not None:
            classroom().closed(self.session)


def chapter_page(
    cls: type[Chapter], settings: dict[str, str], doc: Any
) -> tuple[list[Any], list[SimView]]:
    order = chapters()
    index = [c.slug for c in order].index(cls.slug)
    text: Text = cls.text()
    md = {"sizing_mode": "stretch_width", "stylesheets": STYLESHEETS}
    parts = cls.part_classes()
    follow = PageAddress(cls.slug, settings)
    presence = Presence(cls.slug, doc)
    views = [
        SimView(
            part(),
            settings=settings,
            doc=doc,
            keyboard=i == 0,
            index=i,
            n_parts=len(parts),
            on_change=follow,
            on_state=presence.update,
            on_answer=presence.answered,
        )
        for i, part in enumerate(parts)
    ]
    follow.views = presence.views = views
    if doc is not None and follow.location is not None:
        pn.state.onload(follow)  # the browser sends its own address first; then the page's
    known = {name for part in parts for name in part.sim.param}
    known |= {
        address.key(name, i, len(parts))
        for i, part in enumerate(parts)
        for name in [*part.sim.param, "speed", "step"]
    }
    controls = [{*part.controls, "speed"} for part in parts]
    views[0].notify(
        [
            *unknown_settings(settings, known),
            *address.unknown_names(settings.get("lock"), controls, "lock"),
            *address.unknown_names(settings.get("hide"), controls, "hide"),
        ]
    )

    sims: list[Any] = []
    for part, view in zip(parts, views, strict=True):
        if part.title:
            sims.append(pn.pane.HTML(f"<h2>{html.escape(part.title)}</h2>", **md))
        if part.title in text.parts:
            sims.append(markdown(text.parts[part.title]))
        sims.append(view.panel())

    def link(i: int, arrow_left: bool) -> str:
        if 0 <= i < len(order):
            title, href = html.escape(order[i].text().title), f"?chapter={order[i].slug}"
        else:
            title, href = "Home", "?"
        label = f"← {title}" if arrow_left else f"{title} →"
        rel = "prev" if arrow_left else "next"
        return f'<a href="{href}" rel="{rel}">{label}</a>'

    content = [
        pn.pane.HTML(
            f'<h1 class="course-title">{index + 1}. {html.escape(text.title)}</h1>'
            f'<p class="question">{html.escape(text.question)}</p>',
            **md,
        ),
        markdown(text.lesson),
        *sims,
        *what_to_try(text, views),
        pn.Card(
            markdown(text.deeper), title="Go deeper", collapsed=True, sizing_mode="stretch_width"
        ),
        pn.pane.HTML(
            f'<div class="key-idea"><b>Key idea.</b> {html.escape(text.key_idea)}</div>'
            f'<div class="pager">{link(index - 1, True)}{link(index + 1, False)}</div>',
            **md,
        ),
    ]
    return content, views


def what_to_try(text: Text, views: list[SimView]) -> list[Any]:
    """The experiments, each with a button that sets it up, after the questions to answer
    before running."""
    intro, items = text.experiments()
    section: list[Any] = [markdown("## What to try" + (f"\n\n{intro}" if intro else ""))]
    cards = [card for view in views for card in view.cards.values()]
    if cards:
        section.append(
            pn.pane.HTML(
                "<h3>Predict, then run</h3><p>Pick an answer before you train: the sim sets "
                "the run up, trains it and grades your answer against what it measures.</p>",
                sizing_mode="stretch_width",
                stylesheets=STYLESHEETS,
            )
        )
        section += [card.panel() for card in cards]
    if cards and items:
        section.append(pn.pane.HTML("<h3>Experiments</h3>", sizing_mode="stretch_width"))
    owner = {p.name: view for view in views for p in view.part.sim.presets}
    for item, preset in items:
        view = owner.get(preset or "")
        if view is None:
            section.append(markdown(item))
            continue
        button = pn.widgets.Button(
            label="Set this up",
            width=110,
            description="Apply this experiment's settings and go back to step 0",
            css_classes=["preset"],
        )
        button.on_click(lambda _, view=view, preset=preset: view.preset(preset))
        section.append(pn.Row(markdown(item), button, sizing_mode="stretch_width"))
    return section


def close_views(views: tuple[SimView, ...], session_context: Any) -> None:
    """When a browser session ends: stop its sims for good."""
    for view in views:
        view.close()


def build(
    args: dict[str, list[bytes]], doc: Any = None
) -> tuple[pn.template.BaseTemplate, list[SimView]]:
    """The whole page for one browser session, from the address's query arguments."""
    slugs = {c.slug: c for c in chapters()}
    slug = first(args, "chapter")
    views: list[SimView] = []
    if first(args, "view") == CLASS_VIEW:
        main, current = [class_page()], CLASS_VIEW
    elif slug is None or slug == "":
        main, current = home_page(), None
    elif slug not in slugs:
        shown = html.escape(slug[:40])
        main, current = home_page(f"There is no chapter called “{shown}”; here is the list."), None
    else:
        settings = {k: first(args, k) or "" for k in args if k != "chapter"}
        main, views = chapter_page(slugs[slug], settings, doc)
        current = slug
    template = pn.template.FastListTemplate(
        title=COURSE_TITLE,
        sidebar=[nav(current)],
        main=[pn.Column(*main, sizing_mode="stretch_width", max_width=1400)],
        accent="#0072B2",
        theme_toggle=True,
        sidebar_width=240,
        main_layout=None,
        raw_css=[CSS],
        design=Fast,
        busy_indicator=None,  # it would flash (two messages) for every frame of training
        font="system-ui, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
    )
    return template, views
