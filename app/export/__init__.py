"""Clip export (MP4, WebM, GIF, numbered PNGs) for the command line and the browser.

``export_clip`` streams frames from the still renderer to an encoder; ``ExportJobs`` runs
exports in their own processes for the web viewer.
"""

from app.export.pipeline import ExportOptions, ExportResult, Progress, export_clip

__all__ = ["ExportOptions", "ExportResult", "Progress", "export_clip"]
