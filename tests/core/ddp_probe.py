"""Run under torchrun by tests/core/test_distributed.py: trains 20 steps and saves, per rank, the
logged losses and the flat parameter vector after every optimizer step (to DIR/rank<R>.npz)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core import distributed  # noqa: E402
from core.config import ModelConfig, TrainConfig  # noqa: E402
from core.data import make_shapes  # noqa: E402
from core.train import Trainer  # noqa: E402


def main(batch: int, out: Path) -> None:
    ranks = distributed.Ranks.from_environment()
    config = TrainConfig(steps=20, batch_size=batch, log_every=1, loss="elbo", live_map=False, eval_images=64,
                         device="cpu", threads=1)
    trainer = Trainer(make_shapes(n_train=1280, n_test=64, seed=0), config, ModelConfig(latent_dim=8, channels=8),
                      ranks=ranks)
    weights = []
    trainer.optimizer.register_step_post_hook(
        lambda *_: weights.append(torch.cat([p.detach().flatten() for p in trainer.model.parameters()]).numpy().copy()))
    trainer.run()
    np.savez(out / f"rank{ranks.rank}.npz", loss=trainer.history.steps.column("loss"), weights=np.stack(weights))
    distributed.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
