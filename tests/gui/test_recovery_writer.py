"""The recovery journal writes in a worker thread, coalescing bursts of edits."""

from __future__ import annotations

import json
import threading

from labeler.core.shapes import Shape


def test_journal_is_written_off_the_gui_thread_and_bursts_coalesce(qtbot, window):
    rec, doc, key = window.recovery, window.session.document, window.session.key
    journal = rec.journal
    real_write, threads, gate, started = journal.write, [], threading.Event(), threading.Event()

    def slow_write(k, ann):
        threads.append(threading.get_ident())
        started.set()
        gate.wait(5)  # the first write is still running while the user keeps editing
        return real_write(k, ann)

    journal.write = slow_write
    doc.add_shape(Shape("rectangle", "person", [(1, 1), (20, 20)]))
    assert started.wait(5)
    for i in range(6):
        doc.add_shape(Shape("point", "person", [(5 + i, 5)]))
    assert not journal.path_for(key).exists()  # the edits returned before anything was written
    gate.set()
    rec.flush()
    assert threading.get_ident() not in threads
    assert len(threads) == 2  # the first edit, then one write for the five that came meanwhile
    saved = json.loads(journal.path_for(key).read_text("utf-8"))
    assert len(saved["annotation"]["shapes"]) == 7  # the newest state won


def test_a_failing_journal_write_is_reported_in_the_status_bar(qtbot, window):
    rec, doc = window.recovery, window.session.document

    def broken(_k, _ann):
        raise OSError("disk full")

    rec.journal.write = broken
    doc.add_shape(Shape("point", "person", [(5, 5)]))
    rec.flush()
    assert "could not write the recovery file: disk full" in window.statusBar().currentMessage()
