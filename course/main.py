"""Entry point of ``panel serve course/``: one page per browser session, chapter from ?chapter=."""

import logging
from functools import partial

import panel as pn
import torch
from panel.io.resources import LOCAL_DIST, patch_model_css

from course.shell import build, close_views

# Serving: every session's sim trains on the trainer pool's one thread, and many small sims
# share the machine's cores with the web server; torch's default intra-op pool of one thread
# per core would oversubscribe them.
torch.set_num_threads(1)
# `panel serve` logs Bokeh's INFO lines; the engine's (a session's run leaving the trainer pool,
# an orphaned run paused) belong in the same log.
logging.getLogger("course").setLevel(logging.INFO)

pn.extension("katex", throttled=True, notifications=False)

template, views = build(pn.state.session_args, doc=pn.state.curdoc)
if views:
    # Bokeh clears this module's globals once the script has run: the callback must carry
    # everything it needs with it, not look up ``views`` here when the session ends.
    pn.state.on_session_destroyed(partial(close_views, tuple(views)))
template.servable(title="Making Views Agree")
# Panel points its stylesheets at this server (not at a CDN: the course works offline) when it
# renders the page's HTML. With several processes (course/workers.py) the page's websocket may
# reach another process, which builds the session again without rendering any HTML: point
# them here too.
for root in pn.state.curdoc.roots if pn.state.curdoc is not None else ():
    patch_model_css(root, dist_url=LOCAL_DIST)
