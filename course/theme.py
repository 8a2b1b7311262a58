"""Colours and styles shared by every page.

Okabe & Ito's palette stays distinguishable under the common forms of colour blindness;
viridis does the same for continuous values and stays readable in greyscale.
"""

from bokeh.palettes import Viridis256

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
CATEGORICAL = [OKABE_ITO[i] for i in (4, 0, 2, 5, 6, 1, 3)]  # strongest contrasts first
VIRIDIS = Viridis256
VIEW_A = "#0072B2"  # blue: view A, left camera, "seen"
VIEW_B = "#D55E00"  # vermilion: view B, right camera
SEEN = "#56B4E9"  # sky blue (the lesson calls it cyan)
HIDDEN = "#E69F00"  # orange-amber

CSS = """
:root { --course-accent: #0072B2; }
.course-title { margin-bottom: 0; }
.question { font-size: 1.2em; font-style: italic; opacity: 0.85; margin-top: 0.2em; }
.status { font-weight: 600; padding: 0.45em 0.8em; border-radius: 6px; border-left: 6px solid;
          font-size: 1.05em; }
.status-ready { border-color: #56B4E9; background: rgba(86,180,233,0.12); }
.status-training { border-color: #009E73; background: rgba(0,158,115,0.12); }
.status-paused { border-color: #E69F00; background: rgba(230,159,0,0.12); }
.status-diverged { border-color: #D55E00; background: rgba(213,94,0,0.15); }
.status-collapsed { border-color: #CC79A7; background: rgba(204,121,167,0.15); }
.notice { margin-top: 0.3em; padding: 0.3em 0.8em; border-radius: 6px;
          background: rgba(240,228,66,0.25); font-size: 0.95em; }
table.readouts { border-collapse: collapse; width: 100%; font-size: 0.98em; }
table.readouts th { text-align: left; font-weight: 500; padding: 2px 6px 2px 0; }
table.readouts td.value { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600;
                     padding: 2px 6px; }
.shortcut-hint { font-size: 0.85em; opacity: 0.7; }
.chapter-list li { margin-bottom: 0.6em; font-size: 1.05em; }
.key-idea { font-size: 1.15em; border-left: 6px solid var(--course-accent); padding: 0.4em 1em;
            background: rgba(0,114,178,0.08); border-radius: 6px; }
.pager { display: flex; justify-content: space-between; font-size: 1.05em; }
.nav a.current { font-weight: 700; }
.nav ol { padding-left: 1.3em; }
.nav li { margin: 0.35em 0; }
"""

# Panel renders each pane in its own shadow root: pass these to every HTML pane. (A raw Bokeh
# Div needs its own InlineStyleSheet(css=CSS): a Bokeh model belongs to one document only.)
STYLESHEETS = [CSS]

# The status line and readouts are raw Bokeh Divs that Panel restyles, so they carry inline
# styles: (border colour, background) per state.
STATUS_COLOURS = {
    "ready": ("#56B4E9", "rgba(86,180,233,0.12)"),
    "training": ("#009E73", "rgba(0,158,115,0.12)"),
    "paused": ("#E69F00", "rgba(230,159,0,0.12)"),
    "waiting": ("#999999", "rgba(153,153,153,0.15)"),
    "diverged": ("#D55E00", "rgba(213,94,0,0.15)"),
    "collapsed": ("#CC79A7", "rgba(204,121,167,0.15)"),
}


def status_style(state: str) -> str:
    border, background = STATUS_COLOURS[state]
    return (
        f"font-weight:600;padding:0.45em 0.8em;border-radius:6px;font-size:1.05em;"
        f"border-left:6px solid {border};background:{background}"
    )


NOTICE_STYLE = (
    "margin-top:0.3em;padding:0.3em 0.8em;border-radius:6px;"
    "background:rgba(240,228,66,0.25);font-size:0.95em"
)
READOUT_TABLE_STYLE = "border-collapse:collapse;width:100%;font-size:0.98em"
READOUT_LABEL_STYLE = "text-align:left;font-weight:500;padding:2px 6px 2px 0"
READOUT_VALUE_STYLE = (
    "text-align:right;font-variant-numeric:tabular-nums;font-weight:600;padding:2px 6px"
)

# A prediction's verdict: (border colour, background) per state.
PREDICTION_COLOURS = {
    "waiting": ("#56B4E9", "rgba(86,180,233,0.12)"),
    "right": ("#009E73", "rgba(0,158,115,0.15)"),
    "wrong": ("#D55E00", "rgba(213,94,0,0.13)"),
    "cancelled": ("#999999", "rgba(150,150,150,0.12)"),
    "unavailable": ("#999999", "rgba(150,150,150,0.12)"),
}


def prediction_style(state: str) -> str:
    border, background = PREDICTION_COLOURS[state]
    return (
        f"padding:0.4em 0.8em;border-radius:6px;margin-top:0.3em;"
        f"border-left:6px solid {border};background:{background}"
    )
