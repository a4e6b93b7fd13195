"""The session document: where its background work runs."""
import torch

from core import devices
from explorer.session import Session, TrainingState


def test_background_work_stays_off_a_device_that_allows_one_thread(qtbot, monkeypatch):
    """On MPS an encode started before training would still be running when training starts there."""
    monkeypatch.setattr(devices, "select_device", lambda name="auto": torch.device("cpu" if name == "cpu" else "mps"))
    session = Session()
    assert session.background_device("auto").type == "cpu"  # not training yet, and still not on MPS
    monkeypatch.setitem(devices.BY_TYPE, "mps", devices.CPU)  # were MPS to allow a second thread...
    assert session.background_device("auto").type == "mps"
    session.set_training_state(TrainingState.RUNNING, "mps")
    assert session.background_device("auto").type == "cpu"  # ...training still gets the device to itself
