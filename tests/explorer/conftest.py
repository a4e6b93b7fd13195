"""Fixtures of the GUI tests (the real window ones are in tests/conftest.py)."""
import pytest


@pytest.fixture
def map_view(qtbot):
    """A LatentMapView alone, shown at 900 x 700."""
    from explorer.latent_map import LatentMapView

    view = LatentMapView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    return view

