"""Document.last_change: which shapes a change replaced in place, so views redraw only those."""

from __future__ import annotations

from labeler.core.annotation import ImageAnnotation
from labeler.core.document import Document
from labeler.core.shapes import Shape


def _doc(n=4):
    shapes = [Shape("rectangle", "a", [(i, i), (i + 5, i + 5)]) for i in range(n)]
    return Document(ImageAnnotation("x.png", 100, 100, shapes)), [s.id for s in shapes]


def test_in_place_edits_name_their_shapes_and_structure_changes_name_none():
    doc, ids = _doc()
    seen = []
    doc.changed.connect(lambda _t: seen.append((doc.last_change, doc.last_change_revision == doc.revision)))
    doc.update_shape(ids[1], label="b")
    with doc.group("move two"):
        doc.replace_shape(ids[0], doc.get(ids[0]).translated(3, 0))
        doc.replace_shape(ids[2], doc.get(ids[2]).translated(3, 0))
    doc.undo()
    doc.redo()
    doc.set_status("done")
    doc.add_shape(Shape("point", "a", [(1, 1)]))
    doc.undo()  # undoing an insert removes a shape: structure again
    with doc.group("relabel then delete"):
        doc.update_shape(ids[3], label="c")
        doc.remove_shape(ids[0])
    doc.raise_shape(ids[1])
    assert seen == [
        (frozenset({ids[1]}), True),
        (frozenset({ids[0], ids[2]}), True),
        (frozenset({ids[0], ids[2]}), True),
        (frozenset({ids[0], ids[2]}), True),
        (frozenset(), True),  # status only: no shape to redraw
        (None, True),
        (None, True),
        (None, True),
        (frozenset({ids[1]}), True),
    ]
