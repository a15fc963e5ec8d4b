"""Structure panel: the scene tree, search, show/hide, isolate, opacity, colour, reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.web.engine import hex_color, parse_hex
from app.web.keys import Structure as K
from app.web.keys import Trigger

if TYPE_CHECKING:
    from app.web.app import ViewerApp


def tree_rows(scene: Any, search: str = "", expanded: set[str] | None = None,
              hidden: set[str] | None = None) -> list[dict]:
    """The rows the tree shows, in file order.

    Without a search, children of closed groups are left out. With one, every node whose name or
    id contains the text shows, with its ancestors (so the match is seen in its place).
    """
    text = search.strip().lower()
    hidden = hidden or set()
    if text:
        hits = {n.id for n in scene.nodes.values()
                if text in n.name.lower() or text in n.id.lower()}
        keep = set(hits)
        for nid in hits:
            keep.update(scene.ancestors(nid))
    rows = []
    for node in _depth_first(scene):
        if text:
            if node.id not in keep:
                continue
        elif expanded is not None and any(a not in expanded for a in scene.ancestors(node.id)):
            continue
        rows.append({"id": node.id, "name": node.name, "depth": scene.depth(node.id),
                     "kind": node.kind, "side": node.side,
                     "group": bool(scene.children(node.id)),
                     "off": any(a in hidden for a in [node.id, *scene.ancestors(node.id)])})
    return rows


def _depth_first(scene: Any) -> list[Any]:
    """Nodes with each group's children right under it (file order among siblings)."""
    out: list[Any] = []

    def visit(parent: str | None) -> None:
        for child in scene.children(parent):
            out.append(child)
            visit(child.id)

    visit(None)
    return out


class StructureLogic:
    """Reacts to the panel's state; the engine turns it into looks."""

    def __init__(self, app: ViewerApp):
        self.app = app
        state, ctrl = app.state, app.ctrl
        state.setdefault(K.SEARCH, "")
        state.change(K.SEARCH, K.EXPANDED, K.HIDDEN)(self._on_tree)
        state.change(K.HIDDEN, K.ISOLATED, K.OPACITY, K.COLOR)(self._on_looks)
        ctrl.trigger(Trigger.ST_TOGGLE)(self.toggle)
        ctrl.trigger(Trigger.ST_ISOLATE)(self.isolate)
        ctrl.trigger(Trigger.ST_EXPAND)(self.expand)
        ctrl.trigger(Trigger.ST_SET_OPACITY)(self.set_opacity)
        ctrl.trigger(Trigger.ST_SET_COLOR)(self.set_color)
        ctrl.trigger(Trigger.ST_RESET)(self.reset)
        ctrl.trigger(Trigger.ST_SHOW_ALL)(self.show_all)

    # -- scene switch ------------------------------------------------------------------------
    def reset_for_scene(self) -> None:
        scene = self.app.engine.scene
        groups = [n.id for n in scene.nodes.values() if scene.children(n.id)]
        spread_nodes = []
        if self.app.engine.layer is not None:
            spread_nodes = list(self.app.engine.layer.nerve_actors)
        defaults = {n.id: {"opacity": n.opacity, "color": hex_color(n.color)}
                    for n in scene.nodes.values()}
        self.app.state.update({
            K.EXPANDED: [g for g in groups if scene.depth(g) == 0],
            K.SPREAD_NODES: spread_nodes,
            K.DEFAULTS: defaults,
        })
        self.reset()
        self._on_tree()

    # -- handlers ----------------------------------------------------------------------------
    def _on_tree(self, **_: Any) -> None:
        s = self.app.state
        s[K.ROWS] = tree_rows(self.app.engine.scene, s[K.SEARCH] or "",
                              set(s[K.EXPANDED] or []), set(s[K.HIDDEN] or []))

    def _on_looks(self, **_: Any) -> None:
        self.app.apply_looks()

    def current_looks(self) -> dict:
        s = self.app.state
        isolated = s[K.ISOLATED] or None
        return self.app.engine.looks(set(s[K.HIDDEN] or []), isolated,
                                     dict(s[K.OPACITY] or {}), dict(s[K.COLOR] or {}))

    def toggle(self, node_id: str) -> None:
        """Show or hide a node with its subtree. Showing a node inside a hidden group shows
        that node alone, not its hidden neighbours."""
        scene = self.app.engine.scene
        if node_id not in scene.nodes:
            return
        hidden = set(self.app.state[K.HIDDEN] or [])
        chain = scene.ancestors(node_id)  # parent first
        hidden_above = [i for i, a in enumerate(chain) if a in hidden]
        if node_id not in hidden and not hidden_above:
            hidden.add(node_id)
        else:
            path = {node_id, *chain}
            hidden.discard(node_id)
            if hidden_above:
                for anc in chain[: hidden_above[-1] + 1]:
                    hidden.discard(anc)
                    hidden.update(c.id for c in scene.children(anc) if c.id not in path)
        self.app.state[K.HIDDEN] = [n for n in scene.nodes if n in hidden]

    def isolate(self, node_id: str | None) -> None:
        """This node fully, everything else faintly; the same node again (or None) ends it."""
        current = self.app.state[K.ISOLATED]
        if not node_id or node_id == current or node_id not in self.app.engine.scene.nodes:
            self.app.state[K.ISOLATED] = ""
        else:
            self.app.state[K.ISOLATED] = node_id
            self.app.state[K.SELECTED] = node_id

    def expand(self, node_id: str) -> None:
        expanded = list(self.app.state[K.EXPANDED] or [])
        if node_id in expanded:
            expanded.remove(node_id)
        else:
            expanded.append(node_id)
        self.app.state[K.EXPANDED] = expanded

    def set_opacity(self, node_id: str, value: Any) -> None:
        if node_id not in self.app.engine.scene.nodes:
            return
        try:
            v = max(0.0, min(1.0, float(value)))
        except (TypeError, ValueError):
            return
        opacity = dict(self.app.state[K.OPACITY] or {})
        opacity[node_id] = round(v, 3)
        self.app.state[K.OPACITY] = opacity

    def set_color(self, node_id: str, value: Any) -> None:
        if node_id not in self.app.engine.scene.nodes:
            return
        try:
            rgb = parse_hex(str(value))
        except ValueError:
            return
        color = dict(self.app.state[K.COLOR] or {})
        color[node_id] = hex_color(rgb)
        self.app.state[K.COLOR] = color

    def show_all(self) -> None:
        self.app.state[K.HIDDEN] = []

    def reset(self) -> None:
        """Back to the scene file's own visibility, opacity and colours."""
        scene = self.app.engine.scene
        self.app.state.update({
            K.HIDDEN: [n.id for n in scene.nodes.values() if not n.visible],
            K.ISOLATED: "",
            K.SELECTED: "",
            K.OPACITY: {},
            K.COLOR: {},
            K.SEARCH: "",
        })
