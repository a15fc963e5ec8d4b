"""Lecture mode: one presenter drives, a hall of followers watches.

Followers do not share the trame state: they load the case once as a static bundle (the
browser player) and receive only the presenter's events (play with a time anchor, seek,
scenario, camera, visibility, labels), each packed once and sent to all, so playback costs the
server nothing per frame.

- ``hall``: the followers' websocket, the snapshot and its packed messages (no trame, no VTK).
- ``assets``: the follower page and its content-hashed, compressed files (bundles built in a
  child process).
- ``hub``: ``serve --lecture``: the presenter's key, who may write, the snapshot fed from the
  presenter's trame state.
- ``relay``: the Redis channel between ``serve --lecture --relay`` and ``pelvic-spread relay``.
"""
