"""The map's fast frame reads pyqtgraph internals; without any one of them it must fall back to pyqtgraph's
own paint, never fail with an AttributeError on a later pyqtgraph."""
import pytest

from explorer.map_points import PRIVATE_MEMBERS, PRIVATE_METHODS, MapPoints, has_internals


def test_this_pyqtgraph_has_every_internal_the_fast_frame_reads(qapp):
    assert has_internals(MapPoints(size=5, pen=None))


@pytest.mark.parametrize("missing", ["_exportOpts", *PRIVATE_METHODS, *PRIVATE_MEMBERS,
                                     *(f"{name}.{member}" for name, members in PRIVATE_MEMBERS.items()
                                       for member in members if not member.startswith("__")),
                                     "fragmentAtlas.pixmap"])
def test_without_any_one_internal_the_map_falls_back(qapp, missing, monkeypatch):
    item = MapPoints(size=5, pen=None)
    owner, _, name = missing.rpartition(".")
    target = getattr(item, owner) if owner else item

    if name in vars(target):  # an attribute of the object
        delattr(target, name)
    else:  # a method: hidden on the class for this test. Never by giving a Qt object another __class__: shiboken
        # then leaves the wrapper registered after it is freed, and a later test crashed on the stale entry
        monkeypatch.setattr(type(target), name, None, raising=False)
    assert not has_internals(item)
