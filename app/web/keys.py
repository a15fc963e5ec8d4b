"""Every trame state name the page uses, defined once.

The UI binds to these names and the logic reacts to them; nothing else spells a state key as a
string literal. Names are short because they travel over the websocket with every change.
"""

from __future__ import annotations

from typing import Final

# The 3D view: the browser player's container (local rendering), and trame-vtk's image stream
# from the server, mounted over it in remote mode only (so that local mode costs no server render).
PLAYER_ID: Final = "ps-player"
REMOTE_REF: Final = "view_remote"


class App:
    SCENE_TITLE: Final = "app_title"
    SCENARIO: Final = "app_scenario"  # the scene file's stem: bilateral_plexopathy, ...
    SCENARIOS: Final = "app_scenarios"  # [{value, title}]
    CREDIT: Final = "app_credit"
    HAS_SPREAD: Final = "app_has_spread"
    LEGEND: Final = "app_legend"  # [{style, text}]: the arrow styles this scenario draws
    MESSAGES: Final = "app_messages"  # [{id, text, kind}] shown on the page
    NOTES: Final = "app_notes"  # [{id, text, kind}] this page's own (client only)
    PRESENTING: Final = "app_presenting"  # presentation mode: large captions, no panels
    PANEL: Final = "app_panel"  # the side panel is open


class View:
    MODE: Final = "viewMode"  # "local" (vtk.js) | "remote" (server images)
    LABELS: Final = "view_labels"  # labels on key structures shown
    LABEL_ANCHORS: Final = "view_label_anchors"  # [{id, text, pos: [x, y, z]}]
    CAMERA: Final = "view_camera"  # the preset last chosen, "" once the user moved
    PRESETS: Final = "view_presets"  # [{name, label, key}]
    CAMERA_GOTO: Final = "view_goto"  # {seq, camera: {position, focalPoint, viewUp, viewAngle}}
    BUNDLE: Final = "view_bundle"  # {url, scenario, bytes}: the player's bundle (a static file)
    LOOKS: Final = "view_looks"  # {id: [visible 0|1, opacity, "#rrggbb"]} of every drawable
    REMOTE_LIB: Final = "view_remote_lib"  # {scripts, use}: trame-vtk, loaded after the picture
    REMOTE_READY: Final = "view_remote_ready"  # this page has loaded it (client only)


class Slab:
    """The slab through the scene and the schematic MR panel beside the 3D view
    (``slab_logic``; a browser rendering by itself clips its own surfaces with ``PLANES``)."""

    ON: Final = "sl_on"  # a slab is shown
    ORIENT: Final = "sl_orient"  # axial | coronal | sagittal
    POS: Final = "sl_pos"  # mm along the slab's axis (the slider)
    THICK: Final = "sl_thick"  # mm
    MIN: Final = "sl_min"  # the slider's range for the orientation (mm)
    MAX: Final = "sl_max"
    SPEC: Final = "sl_spec"  # the slab as text (axial:S1,thickness=6), "" when off
    LABEL: Final = "sl_label"  # "axial S1 (z -1 mm, 6 mm thick)"
    LABELS: Final = "sl_labels"  # labels on the panel's structures
    PRESETS: Final = "sl_presets"  # [{id, label, slab}] buttons (the paper's figures)
    FINDINGS: Final = "sl_findings"  # [{id, date, time, modality, slab, text, figure}]
    FINDING: Final = "sl_finding"  # the finding the caption shows now, or None
    PANEL: Final = "sl_panel"  # the MR panel as a data: URL (JPEG), "" when off
    PLANES: Final = "sl_planes"  # [[x, y, z, nx, ny, nz] x 2] keeping the inside, or None
    MESSAGE: Final = "sl_msg"  # the slab for the page's player (render.slab.slab_message, no
    # panel: planes, caps, axes, ghosts, look), or None; the player moves mass discs itself


class Timeline:
    TIME: Final = "tl_time"  # animation seconds (while playing: at stage changes, 2x a second)
    ANCHOR: Final = "tl_anchor"  # {time, wall, speed} while playing (wall: server ms), else None
    NOW: Final = "tl_now"  # {time, date, label, psa, stage, title, caption, source}: what this
    # page's player shows (client only)
    START: Final = "tl_start"
    DURATION: Final = "tl_duration"
    PLAYING: Final = "tl_playing"
    SPEED: Final = "tl_speed"  # 0.25 .. 4
    DATE: Final = "tl_date"  # YYYY-MM-DD at TIME
    DATE_LABEL: Final = "tl_date_label"  # "March 2012"
    STAGES: Final = "tl_stages"  # [{id, title, start, time}]
    STAGE: Final = "tl_stage"  # index of the current stage, -1 before the first
    CAPTION: Final = "tl_caption"  # {title, caption, psa, source}
    TICKS: Final = "tl_ticks"  # [{time, label}] year marks under the scrubber
    PSA: Final = "tl_psa"  # [{time, date, value, text, note}] the record's marker values
    MARKER: Final = "tl_marker"  # {name, unit}: the record's tumour marker ("PSA", "ng/ml")
    EVENTS: Final = "tl_events"  # [{id, label, short, date, time, side}] clinical events
    PSA_SVG: Final = "tl_psa_svg"  # the PSA curve as an SVG (drawn once per scenario)
    PSA_TOP: Final = "tl_psa_top"  # ng/ml at the top of the chart


class Structure:
    ROWS: Final = "st_rows"  # [{id, name, depth, kind, group, side}] in tree order
    SEARCH: Final = "st_search"
    EXPANDED: Final = "st_expanded"  # ids of open groups
    HIDDEN: Final = "st_hidden"  # ids switched off
    ISOLATED: Final = "st_isolated"  # id or ""
    SELECTED: Final = "st_selected"  # id or ""
    OPACITY: Final = "st_opacity"  # {id: 0..1}
    COLOR: Final = "st_color"  # {id: "#rrggbb"}
    SPREAD_NODES: Final = "st_spread_nodes"  # ids coloured by the spread (colour is fixed)
    DEFAULTS: Final = "st_defaults"  # {id: {opacity, color}} from the scene file


class Share:
    QUERY: Final = "sh_query"  # the current view as a URL query string
    DIALOG: Final = "sh_dialog"


class Export:
    DIALOG: Final = "ex_dialog"
    SIZE: Final = "ex_size"
    FPS: Final = "ex_fps"
    RANGE: Final = "ex_range"  # "whole" | "stage" | "dates"
    FROM: Final = "ex_from"
    TO: Final = "ex_to"
    FORMAT: Final = "ex_format"
    SIZES: Final = "ex_sizes"  # the choices offered for SIZE, FPS and FORMAT
    FPSS: Final = "ex_fpss"
    FORMATS: Final = "ex_formats"
    JOBS: Final = "ex_jobs"  # every page's jobs: [{id, state, position, progress, ...}]
    MINE: Final = "ex_mine"  # this page's: {id} or {error} (client only)

class Trigger:
    """Server functions a page calls (``trigger(NAME, [args])``): registered under these names
    by the logic modules, called by these names from the UI and ``static/viewer.js``."""

    APP_CLOCK: Final = "app_clock"
    APP_DISMISS: Final = "app_dismiss"
    APP_SCREENSHOT: Final = "app_screenshot"
    CAM_CURRENT: Final = "cam_current"
    CAM_MOVED: Final = "cam_moved"
    CAM_PRESET: Final = "cam_preset"
    CAM_PRESET_INDEX: Final = "cam_preset_index"
    EX_CANCEL: Final = "ex_cancel"
    EX_START: Final = "ex_start"
    SH_APPLY_JSON: Final = "sh_apply_json"
    SH_APPLY_QUERY: Final = "sh_apply_query"
    SH_JSON: Final = "sh_json"
    SH_REFRESH: Final = "sh_refresh"
    SL_FINDING: Final = "sl_finding_go"
    SL_PRESET: Final = "sl_preset"
    SL_STEP: Final = "sl_step"
    ST_EXPAND: Final = "st_expand"
    ST_ISOLATE: Final = "st_isolate"
    ST_RESET: Final = "st_reset"
    ST_SET_COLOR: Final = "st_set_color"
    ST_SET_OPACITY: Final = "st_set_opacity"
    ST_SHOW_ALL: Final = "st_show_all"
    ST_TOGGLE: Final = "st_toggle"
    TL_EVENT: Final = "tl_event"
    TL_NEXT: Final = "tl_next"
    TL_PREV: Final = "tl_prev"
    TL_SEEK: Final = "tl_seek"
    TL_STAGE: Final = "tl_stage"
    TL_TOGGLE: Final = "tl_toggle"


def js_names() -> dict[str, dict[str, str]]:
    """Every name above, for the browser: ``static/viewer.js`` reads them from
    ``window.PS_NAMES`` (``PS_NAMES.Timeline.TIME``) and spells none by hand."""
    out: dict[str, dict[str, str]] = {}
    for cls in (App, View, Slab, Timeline, Structure, Share, Export, Trigger):
        out[cls.__name__] = {k: v for k, v in vars(cls).items()
                             if k.isupper() and isinstance(v, str)}
    out["Refs"] = {"PLAYER": PLAYER_ID, "REMOTE": REMOTE_REF}
    return out


def js_module() -> str:
    """``names.js``: the names as a script the page loads before ``viewer.js``."""
    import json

    return "window.PS_NAMES = " + json.dumps(js_names(), sort_keys=True) + ";\n"
