"""What exporters see of a project: proposals awaiting review are left out.

A proposal (:attr:`labeler.core.shapes.Shape.is_proposal`: a model pre-label or an autolabel /
SAM / GrabCut result that no person has accepted) is a prediction, not a label. Exports follow
the rule training follows (:mod:`labeler.train.dataset`): on an image marked ``done`` or
``reviewed`` the person has looked at everything on it, so its proposals are kept; on any other
image they are left out of the export and counted in the report. ``include_proposals=True``
exports them everywhere.
"""

from __future__ import annotations

import copy

from ..core.annotation import LOOKED_AT_STATUSES


class ReviewedView:
    """``project`` with each annotation's unreviewed proposals removed (the files are untouched)."""

    def __init__(self, project) -> None:
        self._project = project
        self.proposals_left_out = 0
        self.images_with_proposals_left_out: set[str] = set()

    def __getattr__(self, name: str):
        return getattr(self._project, name)

    def load(self, key: str, *args, **kwargs):
        return self._reviewed(key, self._project.load(key, *args, **kwargs))

    def load_with_problems(self, key: str, *args, **kwargs):
        ann, problems = self._project.load_with_problems(key, *args, **kwargs)
        return self._reviewed(key, ann), problems

    def iter_annotations(self, keys=None, strict: bool = False):
        for key, ann, problems in self._project.iter_annotations(keys, strict=strict):
            yield key, self._reviewed(key, ann), problems

    def _reviewed(self, key: str, ann):
        if ann is None or ann.status in LOOKED_AT_STATUSES:
            return ann
        kept = [s for s in ann.shapes if not s.is_proposal]
        if len(kept) == len(ann.shapes):
            return ann
        self.proposals_left_out += len(ann.shapes) - len(kept)
        self.images_with_proposals_left_out.add(key)
        out = copy.copy(ann)
        out.shapes = kept
        return out

    def summary(self) -> str:
        return (f"{self.proposals_left_out} proposals awaiting review on "
                f"{len(self.images_with_proposals_left_out)} images not marked done were left out "
                "(accept them, mark the images done, or export with include_proposals=true)")


def view_for_export(project, include_proposals: bool = False):
    """What an exporter should be given: ``project`` itself, or its :class:`ReviewedView`."""
    return project if include_proposals else ReviewedView(project)


def report_left_out(view, report) -> None:
    """Say in ``report`` (a :class:`labeler.core.jobs.Report`) how many proposals were left out."""
    if isinstance(view, ReviewedView) and view.proposals_left_out:
        report.warn(view.summary())
        report.outputs["proposals_left_out"] = view.proposals_left_out
