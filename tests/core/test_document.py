from labeler.core.annotation import ImageAnnotation
from labeler.core.document import Document
from labeler.core.shapes import Shape


def _doc():
    return Document(ImageAnnotation("a.png", 100, 100))


def _rect(x=0, label="a"):
    return Shape("rectangle", label, [[x, 0], [x + 5, 5]])


def test_add_undo_redo():
    doc = _doc()
    events = []
    doc.changed.connect(events.append)
    s = doc.add_shape(_rect())
    assert doc.shapes == [s] and doc.dirty
    assert doc.undo() and doc.shapes == []
    assert doc.redo() and doc.shapes[0] is s
    assert len(events) == 3


def test_group_is_one_step():
    doc = _doc()
    s = doc.add_shape(_rect())
    with doc.group("drag"):
        for dx in range(10):
            doc.replace_shape(s.id, doc.get(s.id).translated(1, 0))
    assert doc.get(s.id).points[0, 0] == 10
    doc.undo()
    assert doc.get(s.id).points[0, 0] == 0
    doc.redo()
    assert doc.get(s.id).points[0, 0] == 10


def test_hundred_steps_with_redo():
    doc = _doc()
    ids = [doc.add_shape(_rect(i)).id for i in range(150)]
    for _ in range(150):
        assert doc.undo()
    assert doc.shapes == [] and not doc.can_undo
    for _ in range(150):
        assert doc.redo()
    assert [s.id for s in doc.shapes] == ids


def test_new_edit_clears_redo():
    doc = _doc()
    doc.add_shape(_rect())
    doc.undo()
    doc.add_shape(_rect(10))
    assert not doc.can_redo


def test_remove_restores_position_on_undo():
    doc = _doc()
    a, b, c = (doc.add_shape(_rect(i * 10)) for i in range(3))
    doc.remove_shape(b.id)
    assert [s.id for s in doc.shapes] == [a.id, c.id]
    doc.undo()
    assert [s.id for s in doc.shapes] == [a.id, b.id, c.id]


def test_tags_status_and_dirty_tracking():
    doc = _doc()
    dirty = []
    doc.dirty_changed.connect(dirty.append)
    doc.set_tag("night")
    doc.set_status("done")
    assert doc.annotation.tags == {"night": True} and doc.annotation.status == "done"
    doc.mark_saved()
    assert not doc.dirty
    doc.undo()
    assert doc.annotation.status == "new" and doc.dirty
    doc.redo()
    assert not doc.dirty
    assert dirty == [True, False, True, False]


def test_history_limit_drops_oldest():
    doc = Document(ImageAnnotation("a.png", 10, 10), max_undo=100)
    for i in range(120):
        doc.add_shape(_rect(i))
    n = 0
    while doc.undo():
        n += 1
    assert n == 100 and len(doc.shapes) == 20
