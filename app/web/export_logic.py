"""Export dialog: clips rendered by ``app.export.jobs`` in their own processes.

The page stays responsive (nothing renders in the server's process); files land only in the
export folder, under names ``ExportJobs`` makes safe; the download route serves only the files
of finished jobs, by plain name.

Every page shares one server: all pages' jobs are in ``ex_jobs`` (one render process per core,
the rest waiting in order, each with its place in the queue); each page follows its own job
(``ex_mine``, a key the page keeps for itself, set from what ``ex_start`` returns), and only
the page that started a job may cancel it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import UserError
from app.web.keys import App, Timeline, Trigger, View
from app.web.keys import Export as K
from app.web.rules import EXPORT_CHOICES

if TYPE_CHECKING:
    from app.web.app import ViewerApp

ROUTE = "/exports"
POLL_S = 0.5
KEEP_ENDED = 40  # finished jobs listed (with their links) besides the running and waiting
FORMATS = ("mp4", "webm", "gif")
SIZES = ("640x360", "1280x720", "1920x1080")


class ExportLogic:
    def __init__(self, app: ViewerApp, out_dir: Path | str):
        from app.export.jobs import ExportJobs

        self.app = app
        self.out_dir = Path(out_dir).resolve()
        # made now, as the server starts: it sweeps the partial files of killed exports
        self.jobs = ExportJobs(self.out_dir)
        self._poll: asyncio.Task | None = None
        self._files: set[str] = set()  # names of finished clips: the only ones served
        s = app.state
        s.setdefault(K.DIALOG, False)
        s.setdefault(K.SIZE, "1280x720")
        s.setdefault(K.FPS, 30)
        s.setdefault(K.RANGE, "whole")
        s.setdefault(K.FROM, "")
        s.setdefault(K.TO, "")
        s.setdefault(K.FORMAT, "mp4")
        s.setdefault(K.JOBS, [])
        s.setdefault(K.MINE, None)
        app.ctrl.trigger(Trigger.EX_START)(self.start)
        app.ctrl.trigger(Trigger.EX_CANCEL)(self.cancel)
        app.ctrl.on_server_bind.add(self._bind)

    # -- options -----------------------------------------------------------------------------
    def options(self, choices: dict[str, Any] | None = None) -> dict[str, Any]:
        """The dialog's choices as ``ExportJobs`` options (UserError when they make no sense).

        ``choices``: the dialog's keys as the page sent them with its Export click (checked by
        ``rules``), over the shared state. A page writes state only when it has no call in
        flight while a trigger goes at once, so a choice made just before the click could
        still be on its way: the click carries them."""
        s = {**{k: self.app.state[k] for k in EXPORT_CHOICES}, **(choices or {})}
        opts: dict[str, Any] = {"size": s[K.SIZE], "fps": s[K.FPS], "format": s[K.FORMAT],
                                "captions": True,
                                "camera": self.app.state[View.CAMERA] or "anterior",
                                # the page's look: its camera once moved, hidden or isolated
                                # structures, opacities, colours and labels
                                "view": self.app.share.current().to_dict()}
        spread = self.app.engine.spread
        if spread is None:
            raise UserError("this scenario has no timeline to export")
        rng = s[K.RANGE]
        if rng == "stage":
            stages = self.app.state[Timeline.STAGES] or []
            i = self.app.state[Timeline.STAGE]
            if i is None or i < 0 or i >= len(stages):
                raise UserError("no current stage: move the timeline into one first")
            # by date, not rounded seconds: frame 0 is the stage's first day, never the day
            # before (which would show the previous stage's caption)
            opts["start"] = stages[i]["start"]
            opts["end"] = (stages[i + 1]["start"] if i + 1 < len(stages)
                           else spread.date_of_time(spread.duration))
        elif rng == "dates":
            a, b = str(s[K.FROM] or "").strip(), str(s[K.TO] or "").strip()
            ta, tb = spread.time_of_date(a), spread.time_of_date(b)  # SpreadTimeError: shown
            if tb <= ta:
                raise UserError(f"'to' ({b}) must come after 'from' ({a})")
            opts["start"], opts["end"] = a, b
        scenario = self.app.state[App.SCENARIO]
        label = (f"{opts.get('start', 'start')}-{opts.get('end', 'end')}"
                 if rng != "whole" else "whole")
        opts["name"] = f"{scenario}-{label}"
        return opts

    # -- jobs --------------------------------------------------------------------------------
    def start(self, choices: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a clip of what the asking page shows: ``{"id"}``, or ``{"error"}`` for that
        page alone (bad options, a full export folder, a queue too long)."""
        from app.web.guard import current_page

        try:
            opts = self.options(choices)
            job_id = self.jobs.start(self.app.engine.path, opts, owner=current_page())
        except UserError as exc:
            return {"error": str(exc)}
        self.refresh()
        if self._poll is None or self._poll.done():
            self._poll = asyncio.ensure_future(self._follow())
        return {"id": job_id}

    async def cancel(self, job_id: Any = None) -> dict[str, Any]:
        """Stop a job this page started (another page's: refused). Stopping a running job
        waits for its process to end (seconds on a busy machine): in a worker thread, so the
        server goes on answering every other page meanwhile."""
        from app.web.guard import current_page

        try:
            owner = self.jobs.owner(str(job_id))
        except KeyError:
            return {"error": "no such export"}
        if owner is not None and owner != current_page():
            return {"error": "only the page that started an export can cancel it"}
        await asyncio.get_running_loop().run_in_executor(None, self.jobs.cancel, str(job_id))
        with self.app.state:
            self.refresh()
        return {"id": job_id}

    def refresh(self) -> list[dict[str, Any]]:
        """Every page's jobs to the pages: running and waiting ones (with their place in the
        queue), and the latest finished ones with their download links."""
        listed = []
        for st in self.jobs.list():
            if st.get("done"):
                self._files.add(st["filename"])
                st["url"] = f"{ROUTE}/{st['filename']}"
            listed.append(st)
        active = [j for j in listed if j["state"] in ("queued", "running")]
        ended = [j for j in listed if j["state"] not in ("queued", "running")]
        shown = active + ended[-KEEP_ENDED:]
        self.app.state[K.JOBS] = shown
        return shown

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            with self.app.state:
                shown = self.refresh()
            if not any(j["state"] in ("queued", "running") for j in shown):
                return

    # -- download route ---------------------------------------------------------------------
    def file_for(self, name: str) -> Path | None:
        """The finished clip called ``name``, or None (anything else, any path: None)."""
        if name not in self._files or "/" in name or "\\" in name or name.startswith("."):
            return None
        path = (self.out_dir / name).resolve()
        if path.parent != self.out_dir or not path.is_file():
            return None
        return path

    def _bind(self, wslink_server: Any) -> None:
        from aiohttp import web

        async def download(request: web.Request) -> web.StreamResponse:
            path = self.file_for(request.match_info["name"])
            if path is None:
                raise web.HTTPNotFound(text="no such clip")
            return web.FileResponse(path, headers={
                "Content-Disposition": f'attachment; filename="{path.name}"'})

        wslink_server.app.add_routes([web.get(ROUTE + "/{name}", download)])
