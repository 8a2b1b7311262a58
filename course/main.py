"""Entry point of ``panel serve course/``: one page per browser session, chapter from ?chapter=."""

import panel as pn

from course.shell import build

pn.extension("katex", throttled=True, notifications=False)

template, views = build(pn.state.session_args, doc=pn.state.curdoc)
if views:
    pn.state.on_session_destroyed(lambda _context: [view.close() for view in views])
template.servable(title="Making Views Agree")
