"""Server-side SVG of a BPMN diagram from its DI (shapes and edges as drawn in the modeler),
with optional overlays per element (a fill colour, a badge, a tooltip): the API's rendered
diagram, and heat maps on pages that must work without JavaScript."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape

from lxml import etree

from .engine.parser import _xml_parser

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

GATEWAY_MARKS = {
    "exclusiveGateway": "×",
    "parallelGateway": "+",
    "inclusiveGateway": "○",
    "eventBasedGateway": "◇",
    "complexGateway": "*",
}
EVENT_MARKS = {
    "messageEventDefinition": "✉",
    "timerEventDefinition": "◷",
    "signalEventDefinition": "△",
    "errorEventDefinition": "ϟ",
    "escalationEventDefinition": "⇑",
    "conditionalEventDefinition": "≡",
    "terminateEventDefinition": "●",
    "compensateEventDefinition": "«",
    "linkEventDefinition": "→",
}
TASK_MARKS = {
    "userTask": "",  # drawn as a small figure (no emoji font needed)
    "serviceTask": "⚙",
    "scriptTask": "✎",
    "businessRuleTask": "▦",
    "manualTask": "☛",
    "sendTask": "✉",
    "receiveTask": "✉",
}


@dataclass
class Overlay:
    fill: str = ""  # a CSS colour for the shape
    badge: str = ""  # short text in a bubble at the top right (a count, a duration)
    title: str = ""  # tooltip
    css_class: str = ""


class DiagramMissing(ValueError):
    """The file has no diagram interchange (DI) to draw."""


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def render_svg(xml: bytes | str, overlays: dict[str, Overlay] | None = None) -> str:
    """The first diagram of a BPMN file as standalone SVG."""
    content = xml.encode() if isinstance(xml, str) else xml
    root = etree.fromstring(content, _xml_parser())
    overlays = overlays or {}
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    plane = root.find(f".//{{{BPMNDI}}}BPMNPlane")
    if plane is None:
        raise DiagramMissing("The file has no diagram (BPMN DI): draw it in a modeler to get a picture")
    shapes, edges, xs, ys = [], [], [], []
    for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        bounds = shape.find(f"{{{DC}}}Bounds")
        if bounds is None:
            continue
        x, y, w, h = (float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))
        label = shape.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds")
        shapes.append((shape.get("bpmnElement"), x, y, w, h, shape.get("isExpanded"), label))
        xs += [x, x + w]
        ys += [y, y + h]
    for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
        points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.findall(f"{{{DI}}}waypoint")]
        if len(points) < 2:
            continue
        label = edge.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds")
        edges.append((edge.get("bpmnElement"), points, label))
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
    if not xs:
        raise DiagramMissing("The diagram is empty")
    # room for labels drawn under or beside shapes near the edges
    left, top = min(xs) - 50, min(ys) - 20
    width, height = max(xs) - left + 50, max(ys) - top + 50
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:.0f} {top:.0f} {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" class="bpmn-diagram" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1d2430"/></marker></defs>',
    ]
    # containers first, so flows and nodes sit on top of them
    order = {"participant": 0, "lane": 1, "subProcess": 2}
    shapes.sort(key=lambda s: order.get(_local(elements.get(s[0], etree.Element("x")).tag), 3))
    containers, nodes = [], []
    for element_id, x, y, w, h, expanded, label in shapes:
        element = elements.get(element_id)
        if element is None:
            continue
        svg = _shape(element, element_id, x, y, w, h, expanded, label, overlays.get(element_id))
        (containers if _local(element.tag) in order else nodes).append(svg)
    flows = [_edge(elements.get(eid), eid, pts, label) for eid, pts, label in edges]
    out += containers + flows + nodes
    out.append("</svg>")
    return "\n".join(out)


def _text(x: float, y: float, text: str, width_chars: int = 18, anchor: str = "middle") -> str:
    lines = textwrap.wrap(text, width_chars)[:4] or [""]
    first = y - (len(lines) - 1) * 7
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{first + i * 14:.1f}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}" dominant-baseline="middle" fill="#1d2430">{spans}</text>'


def _shape(element, element_id, x, y, w, h, expanded, label, overlay: Overlay | None) -> str:
    kind = _local(element.tag)
    name = element.get("name") or ""
    fill = (overlay.fill if overlay and overlay.fill else "#ffffff") if kind not in ("participant", "lane") else "none"
    attrs = f'data-element-id="{escape(element_id)}" class="bpmn-{kind}{" " + overlay.css_class if overlay and overlay.css_class else ""}"'
    parts = [f"<g {attrs}>"]
    if overlay and overlay.title:
        parts.append(f"<title>{escape(overlay.title)}</title>")
    cx, cy = x + w / 2, y + h / 2
    if kind.endswith("Event"):
        r = min(w, h) / 2
        stroke = 3 if kind == "endEvent" else 1.5
        dash = ' stroke-dasharray="4 2"' if element.get("cancelActivity") == "false" else ""
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" stroke="#1d2430" stroke-width="{stroke}"{dash}/>'
        )
        if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r - 3:.1f}" fill="none" stroke="#1d2430"{dash}/>')
        mark = next((EVENT_MARKS[_local(c.tag)] for c in element if _local(c.tag) in EVENT_MARKS), "")
        if mark:
            parts.append(
                f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" dominant-baseline="central">{mark}</text>'
            )
        parts.append(_outside_label(name, cx, y + h + 14, label))
    elif kind.endswith("Gateway"):
        points = f"{cx:.1f},{y:.1f} {x + w:.1f},{cy:.1f} {cx:.1f},{y + h:.1f} {x:.1f},{cy:.1f}"
        parts.append(f'<polygon points="{points}" fill="{fill}" stroke="#1d2430" stroke-width="1.5"/>')
        mark = GATEWAY_MARKS.get(kind, "")
        parts.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" dominant-baseline="central" font-size="20">{mark}</text>'
        )
        parts.append(_outside_label(name, cx, y + h + 14, label))
    elif kind in ("participant", "lane"):
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="none" stroke="#667085"/>')
        parts.append(
            f'<text transform="translate({x + 15:.1f},{cy:.1f}) rotate(-90)" text-anchor="middle" '
            f'dominant-baseline="middle" fill="#1d2430">{escape(name)}</text>'
        )
    elif kind in ("textAnnotation",):
        text = element.findtext(f"{{{BPMN}}}text") or ""
        parts.append(
            f'<path d="M{x + 10:.1f},{y:.1f} L{x:.1f},{y:.1f} L{x:.1f},{y + h:.1f} L{x + 10:.1f},{y + h:.1f}" fill="none" stroke="#667085"/>'
        )
        parts.append(_text(x + 5, cy, text, 24, "start"))
    elif kind in ("dataObjectReference", "dataStoreReference", "dataInput", "dataOutput"):
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" stroke="#667085"/>')
        parts.append(_outside_label(name, cx, y + h + 14, label))
    else:  # tasks, call activities, subprocesses
        thick = 3 if kind == "callActivity" else 1.5
        dash = ' stroke-dasharray="6 3"' if element.get("triggeredByEvent") == "true" else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="10" fill="{fill}" '
            f'stroke="#1d2430" stroke-width="{thick}"{dash}/>'
        )
        if kind == "userTask":
            parts.append(
                f'<circle cx="{x + 12:.1f}" cy="{y + 9:.1f}" r="3.5" fill="none" stroke="#1d2430"/>'
                f'<path d="M{x + 5:.1f},{y + 20:.1f} a7,6 0 0 1 14,0" fill="none" stroke="#1d2430"/>'
            )
        elif TASK_MARKS.get(kind):
            parts.append(f'<text x="{x + 6:.1f}" y="{y + 14:.1f}" font-size="12">{TASK_MARKS[kind]}</text>')
        if kind == "subProcess" and expanded == "true":
            parts.append(_text(x + 8, y + 16, name, 40, "start"))
        else:
            parts.append(_text(cx, cy, name, max(8, int(w / 7))))
            if kind in ("subProcess", "callActivity"):
                parts.append(
                    f'<rect x="{cx - 7:.1f}" y="{y + h - 16:.1f}" width="14" height="14" fill="none" stroke="#1d2430"/>'
                    f'<text x="{cx:.1f}" y="{y + h - 9:.1f}" text-anchor="middle" dominant-baseline="central">+</text>'
                )
        loop = next((c for c in element if _local(c.tag) == "multiInstanceLoopCharacteristics"), None)
        if loop is not None:
            mark = "≡" if loop.get("isSequential") == "true" else "⦀"
            parts.append(f'<text x="{cx:.1f}" y="{y + h - 6:.1f}" text-anchor="middle">{mark}</text>')
    if overlay and overlay.badge:
        bx, by = x + w, y
        parts.append(
            f'<g class="badge"><rect x="{bx - 14:.1f}" y="{by - 10:.1f}" rx="8" width="{max(28, 7 * len(overlay.badge) + 10)}" '
            f'height="18" fill="#1d2430"/><text x="{bx - 9:.1f}" y="{by:.1f}" fill="#ffffff" font-size="11" '
            f'dominant-baseline="middle">{escape(overlay.badge)}</text></g>'
        )
    parts.append("</g>")
    return "".join(parts)


def _outside_label(name: str, cx: float, y: float, label) -> str:
    if not name:
        return ""
    if label is not None:
        lx, ly, lw = float(label.get("x", 0)), float(label.get("y", 0)), float(label.get("width", 90))
        return _text(lx + lw / 2, ly + 7, name, max(10, int(lw / 6)))
    return _text(cx, y, name, 20)


def _edge(element, element_id, points, label) -> str:
    kind = _local(element.tag) if element is not None else "sequenceFlow"
    dash = {"messageFlow": ' stroke-dasharray="6 4"', "association": ' stroke-dasharray="2 3"'}.get(kind, "")
    marker = "" if kind == "association" else ' marker-end="url(#arrow)"'
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [
        f'<g data-element-id="{escape(element_id or "")}" class="bpmn-{kind}">'
        f'<polyline points="{path}" fill="none" stroke="#1d2430" stroke-width="1.3"{dash}{marker}/>'
    ]
    name = element.get("name") if element is not None else ""
    if name:
        if label is not None:
            lx, ly = float(label.get("x", 0)), float(label.get("y", 0))
            parts.append(_text(lx + float(label.get("width", 60)) / 2, ly + 7, name, 16))
        else:
            (x1, y1), (x2, y2) = points[0], points[1]
            parts.append(_text((x1 + x2) / 2, (y1 + y2) / 2 - 8, name, 16))
    parts.append("</g>")
    return "".join(parts)
