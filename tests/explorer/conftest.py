"""Fixtures of the GUI tests (the real window ones are in tests/conftest.py)."""
import pytest


@pytest.fixture
def map_view(qtbot):
    """A LatentMapView alone, shown at 900 x 700, its choices kept by a session as in the app (`view.session`)."""
    from explorer.latent_map import LatentMapView
    from explorer.session import Session

    view, session = LatentMapView(), Session()
    view.choice_requested.connect(lambda name, value: session.choose(**{name: value}))
    session.choices_changed.connect(lambda changed: view.set_choices(session.choices, changed))
    view.session = session  # lives as long as the view
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    return view
