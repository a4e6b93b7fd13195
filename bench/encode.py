"""What Encode costs on a CIFAR-10 test split (10,000 images, the reference ConvVAE, CPU), in one run:

- the bare encoder forward over the images (the reference),
- Encode now: encode the latent means, their kNN accuracy, PCA (core.maps.encode_and_project),
- what every Encode also ran before lenses were computed on demand: the encode-and-decode pass for the
  model's lens values, the image statistics, k-means, the Gaussian mixture and the raw pixels' kNN,
- each lens group alone, as a user asking for it pays it.

Usage: python bench/encode.py [--images 10000]
"""
from __future__ import annotations

import argparse

from common import Stopwatch, bench_dataset


def main() -> None:
    import torch

    from core.data import ImageSet
    from core.maps import MapLenses, encode_and_project, pixel_structure
    from core.model import ConvVAE

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10000)
    args = ap.parse_args()
    test = bench_dataset().test
    data = ImageSet(test.images[:args.images], test.labels[:args.images])
    torch.manual_seed(0)
    model = ConvVAE().eval()
    encode_and_project(model, "test", ImageSet(data.images[:500], data.labels[:500]))  # warm up every path
    with Stopwatch() as ref, torch.inference_mode():
        for i in range(0, len(data), 500):
            model.encode(torch.from_numpy(data.images[i:i + 500]).float() / 255)
    with Stopwatch() as now:
        m = encode_and_project(model, "test", data)
    lenses, groups = MapLenses(data.labels, data.images, m.projection.mu), {}
    for name, names in (("image statistics", ["brightness"]), ("model's view (encode + decode)", ["kl"]),
                        ("k-means", ["cluster"]), ("Gaussian mixture", ["mixture"])):
        with Stopwatch() as sw:
            lenses.add(lenses.compute(names, model))
        groups[name] = sw.seconds
    with Stopwatch() as pixels:
        pixel_structure(data)
    before = now.seconds + sum(groups.values()) + pixels.seconds
    print(f"bare encoder forward of {len(data):,} images: {ref.seconds:.2f} s (reference)")
    print(f"Encode now (encode, kNN, PCA): {now.seconds:.2f} s, ratio {now.seconds / ref.seconds:.2f} to the reference")
    print(f"Encode before (the same plus every lens and the pixels' kNN): {before:.2f} s, "
          f"ratio {before / ref.seconds:.2f}")
    for name, seconds in groups.items():
        print(f"  {name}: {seconds:.2f} s, when asked")
    print(f"  raw pixels' kNN accuracy: {pixels.seconds:.2f} s (the Lenses tab's pixel column instead)")


if __name__ == "__main__":
    main()
