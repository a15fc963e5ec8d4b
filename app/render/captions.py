"""Captions, legend and credit burned into every picture after the 3D render (PIL, numpy).

Stills (``render``), clip frames (``export``) and the browser's screenshot all draw their words
here, onto the finished 3D picture, so text is always on top (no arrow crosses a title) and
looks the same everywhere; :func:`overlay_for` is the one way to get the drawing for a scene.

What a frame says comes from the spread state alone: the date, the stage title, its caption and
PSA, the figure it rests on, and the scene's credit line; the legend is the scenario's (the
scene file's) in the arrows' colours. Text is drawn once per distinct caption (the date changes
monthly, stages a few times) into small RGBA patches; per frame only those patches are blended
onto the picture, which keeps captions off the critical path.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.spread.calendar import month_year

FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)


@dataclass(frozen=True)
class LegendEntry:
    style: str  # "solid" | "dashed"
    label: str
    rgb: tuple[int, int, int]


def legend_entries(spread: Any) -> tuple[LegendEntry, ...]:
    """The scenario's legend (the scene file's, ``Spread.legend``) in the arrows' colours:
    what every picture's legend lists (none without a spread)."""
    if spread is None:
        return ()
    from app.render.spread_layer import ARROW_COLOURS

    return tuple(LegendEntry(e.style, e.text,
                             tuple(int(round(255 * c)) for c in ARROW_COLOURS[e.style]))
                 for e in spread.legend)


def overlay_for(scene: Any, size: tuple[int, int]) -> CaptionOverlay:
    """The drawing a picture of ``scene`` at ``size`` gets: its credit and its legend."""
    return CaptionOverlay(size, scene.credit, legend=legend_entries(scene.spread))


TEXT_RGB = (25, 25, 30)
MUTED_RGB = (80, 80, 90)
PANEL_RGBA = (255, 255, 255, 232)
EDGE_RGBA = (150, 150, 160, 160)


@dataclass(frozen=True)
class CaptionText:
    """Everything a frame's caption says (hashable: it keys the patch cache)."""

    date: str = ""  # "March 2012"
    title: str = ""
    caption: str = ""
    psa: str = ""  # "PSA 1.2 ng/ml"
    source: str = ""  # the paper's figure the stage rests on


def caption_text(state: Any) -> CaptionText:
    """The caption for a spread state (None: the anatomy alone, no caption)."""
    if state is None:
        return CaptionText()
    stage = getattr(state, "stage", None)
    return CaptionText(
        date=month_year(getattr(state, "date", "")),
        title=getattr(stage, "title", "") or "",
        caption=getattr(stage, "caption", "") or "",
        psa=getattr(state, "psa_text", "") or "",
        source=getattr(stage, "source", "") or "",
    )


# -- fonts ---------------------------------------------------------------------------------
def font_path(bold: bool = False) -> Path | None:
    """DejaVu Sans from the system, or the copy matplotlib ships; None if neither exists."""
    name = FONT_FILES[bold]
    dirs = list(FONT_DIRS)
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


@lru_cache(maxsize=32)
def load_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A TrueType font of ``size`` px; falls back to Pillow's built-in font (never fails)."""
    path = font_path(bold)
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)  # scalable since Pillow 10.1
    except TypeError:
        return ImageFont.load_default()


# -- patches -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Patch:
    """An RGBA image placed at (x, y), stored premultiplied for a cheap blend."""

    x: int
    y: int
    premul: np.ndarray  # (h, w, 3) uint16: rgb * alpha
    inv_alpha: np.ndarray  # (h, w, 1) uint16: 255 - alpha

    @classmethod
    def from_image(cls, image: Image.Image, x: int, y: int) -> Patch:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        return cls(int(x), int(y), rgba[:, :, :3] * alpha, 255 - alpha)

    def blend(self, frame: np.ndarray) -> None:
        """Blend onto ``frame`` (H, W, 3) uint8 in place, clipped to the frame."""
        h, w = self.inv_alpha.shape[:2]
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + w, frame.shape[1]), min(self.y + h, frame.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        px, py = x0 - self.x, y0 - self.y
        inv = self.inv_alpha[py:py + y1 - y0, px:px + x1 - x0]
        pre = self.premul[py:py + y1 - y0, px:px + x1 - x0]
        region = frame[y0:y1, x0:x1]
        region[...] = ((region * inv + pre + 127) // 255).astype(np.uint8)


class CaptionOverlay:
    """Draws the caption panel, the legend and the credit line for a frame size.

    ``credit`` is the scene's citation of the paper (its first sentence is shown); ``legend``
    lists the arrow styles to explain (empty for a scene with no spread).
    """

    def __init__(self, size: tuple[int, int], credit: str = "",
                 legend: tuple[LegendEntry, ...] = (), max_cached: int = 64):
        self.width, self.height = size
        self.s = min(self.width / 1280.0, self.height / 720.0)
        self.credit = first_sentence(credit)
        self.legend = tuple(legend)
        self.max_cached = max_cached
        self._cache: OrderedDict[Any, list[Patch]] = OrderedDict()
        self._fixed: list[Patch] | None = None

    def px(self, value: float) -> int:
        return max(1, int(round(value * self.s)))

    def patches(self, text: CaptionText) -> list[Patch]:
        """The patches for ``text``, each drawn once, then cached.

        The panel (title, caption, PSA, source) changes with the stage; the date, drawn over
        it, changes monthly: keeping them apart keeps text drawing rare.
        """
        if self._fixed is None:
            self._fixed = [p for p in (self._legend_patch(), self._credit_patch())
                           if p is not None]
        panel_key = dataclasses.replace(text, date="date" if text.date else "")
        out = list(self._fixed)
        out += self._cached(panel_key, lambda: self._caption_patch(panel_key))
        if text.date:
            out += self._cached(text.date, lambda: self._date_patch(text.date))
        return out

    def _cached(self, key: Any, make: Any) -> list[Patch]:
        found = self._cache.get(key)
        if found is None:
            patch = make()
            found = [patch] if patch is not None else []
            self._cache[key] = found
            if len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return found

    def draw(self, frame: np.ndarray, state: Any) -> np.ndarray:
        """Burn the captions for ``state`` into ``frame`` in place; returns it."""
        for patch in self.patches(caption_text(state)):
            patch.blend(frame)
        return frame

    # -- the three panels --------------------------------------------------------------------
    def _panel(self, w: int, h: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=self.px(10), fill=PANEL_RGBA,
                               outline=EDGE_RGBA, width=max(1, self.px(1)))
        return img, draw

    def _caption_patch(self, text: CaptionText) -> Patch | None:
        if not (text.date or text.title or text.caption):
            return None
        pad, margin = self.px(16), self.px(24)
        # 36% of the width: in the anterior view the spine and the spread stay clear of it
        width = min(max(int(self.width * 0.36), self.px(420)), self.width - 2 * margin)
        inner = width - 2 * pad
        lines: list[tuple[str, Any, tuple[int, int, int], int]] = []  # text, font, colour, gap
        if text.date:  # room for the date, drawn by _date_patch
            lines.append(("", self._date_font(), TEXT_RGB, self.px(6)))
        if text.title:
            font = load_font(self.px(22), True)
            lines += [(ln, font, TEXT_RGB, self.px(4)) for ln in wrap(text.title, font, inner, 2)]
        if text.caption:
            font = load_font(self.px(17))
            lines += [(ln, font, TEXT_RGB, self.px(3))
                      for ln in wrap(text.caption, font, inner, 6)]
        if text.psa:
            lines.append((text.psa, load_font(self.px(17), True), MUTED_RGB, self.px(3)))
        if text.source:
            font = load_font(self.px(14))
            lines += [(ln, font, MUTED_RGB, self.px(2))
                      for ln in wrap(f"Paper: {text.source}", font, inner, 1)]
        heights = [line_height(f) + gap for _, f, _, gap in lines]
        img, draw = self._panel(width, 2 * pad + sum(heights) - lines[-1][3])
        y = pad
        for (ln, font, rgb, _gap), h in zip(lines, heights, strict=True):
            draw.text((pad, y), ln, font=font, fill=rgb + (255,))
            y += h
        return Patch.from_image(img, margin, margin)

    def _date_font(self) -> Any:
        return load_font(self.px(34), True)

    def _date_patch(self, date: str) -> Patch:
        """The date alone (text coverage as alpha), placed on the panel's first line."""
        font = self._date_font()
        pad, margin = self.px(16), self.px(24)
        size = (int(font.getlength(date)) + 2, line_height(font))
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).text((0, 0), date, font=font, fill=255)
        img = Image.new("RGBA", size, TEXT_RGB + (0,))
        img.putalpha(mask)
        return Patch.from_image(img, margin + pad, margin + pad)

    def _legend_patch(self) -> Patch | None:
        if not self.legend:
            return None
        pad, margin = self.px(12), self.px(24)
        font = load_font(self.px(16))
        sample = self.px(56)
        row = max(line_height(font), self.px(22)) + self.px(4)
        text_w = max(int(font.getlength(e.label)) for e in self.legend)
        w = pad * 3 + sample + text_w
        h = pad * 2 + row * len(self.legend) - self.px(4)
        img, draw = self._panel(w, h)
        for k, entry in enumerate(self.legend):
            y = pad + k * row + row // 2 - self.px(2)
            draw_arrow(draw, pad, y, sample, entry.style, entry.rgb, self.px(4))
            draw.text((pad * 2 + sample, y), entry.label, font=font, fill=TEXT_RGB + (255,),
                      anchor="lm")
        credit_h = self._credit_height()
        return Patch.from_image(img, margin, self.height - margin - h - credit_h)

    def _credit_height(self) -> int:
        return line_height(load_font(self.px(13))) + self.px(10) if self.credit else 0

    def _credit_patch(self) -> Patch | None:
        """A thin strip along the bottom: the scene's citation of the paper."""
        if not self.credit:
            return None
        font = load_font(self.px(13))
        margin, pad = self.px(24), self.px(6)
        line = wrap(self.credit, font, self.width - 2 * margin - 2 * pad, 1)[0]
        w = int(font.getlength(line)) + 2 * pad
        h = line_height(font) + pad
        img = Image.new("RGBA", (w, h), (255, 255, 255, 190))
        ImageDraw.Draw(img).text((pad, pad // 2), line, font=font, fill=MUTED_RGB + (255,))
        return Patch.from_image(img, margin, self.height - margin // 2 - h)


def first_sentence(text: str) -> str:
    """The citation part of a scene's credit: its first sentence (dots inside a DOI stay)."""
    text = " ".join(text.split())
    m = re.search(r"\.\s+(?=[A-Z])", text)
    return text[:m.start() + 1] if m else text


def line_height(font: Any) -> int:
    left, top, right, bottom = font.getbbox("Ág")
    return int(bottom) + 2


def wrap(text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` px; the last line gets an ellipsis when text is cut."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if font.getlength(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(lines[-1] + " …", font, width)
    return [_ellipsize(ln, font, width) for ln in lines] or [""]


def _ellipsize(line: str, font: Any, width: int) -> str:
    if font.getlength(line) <= width:
        return line
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


def draw_arrow(draw: ImageDraw.ImageDraw, x: int, y: int, length: int, style: str,
               rgb: tuple[int, int, int], width: int) -> None:
    """A short legend arrow: a solid or dashed shaft with a filled head."""
    head = width * 3
    end = x + length - head
    fill = rgb + (255,)
    if style == "dashed":
        dash, gap = width * 3, width * 2
        pos = x
        while pos < end:
            draw.line((pos, y, min(pos + dash, end), y), fill=fill, width=width)
            pos += dash + gap
    else:
        draw.line((x, y, end, y), fill=fill, width=width)
    draw.polygon([(end, y - head * 0.6), (x + length, y), (end, y + head * 0.6)], fill=fill)
