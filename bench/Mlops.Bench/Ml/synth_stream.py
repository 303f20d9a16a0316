#!/usr/bin/python3
"""Write a synthetic binary set of any size in constant memory: synth_stream.py ROWS OUT.csv [SAMPLE_SEED].

make_synth.py (the peers' generator) builds the whole matrix in memory and shuffles copies of it, which needs about
three times 8 bytes per value: 50M rows x 28 would take ~30 GB. This writes the same kind of data (28 columns f0..f27:
18 informative from two Gaussian clusters per class at hypercube vertices, 2 linear combinations of them, 8 noise
columns, columns permuted, 5% label noise) chunk by chunk. The generating model (centroids, per-cluster transforms,
permutation) is fixed by seed 7, so files written with different SAMPLE_SEEDs come from the same distribution and one
can serve as the held-out test set of another; a prefix of a file (head -n) is itself a valid smaller set.
"""
import sys
import numpy as np

INFORMATIVE, REDUNDANT, NOISE, CLUSTERS_PER_CLASS, FLIP = 18, 2, 8, 2, 0.05
FEATURES = INFORMATIVE + REDUNDANT + NOISE
CHUNK = 500_000


def generating_model():
    rng = np.random.default_rng(7)
    clusters = 2 * CLUSTERS_PER_CLASS
    vertices = set()
    while len(vertices) < clusters:  # distinct corners of the {-1, 1} hypercube, one per cluster
        vertices.add(tuple(rng.choice([-1.0, 1.0], size=INFORMATIVE)))
    centroids = np.array(sorted(vertices))
    transforms = rng.uniform(-1, 1, size=(clusters, INFORMATIVE, INFORMATIVE))
    redundant = rng.uniform(-1, 1, size=(INFORMATIVE, REDUNDANT))
    permutation = rng.permutation(FEATURES)
    return centroids, transforms, redundant, permutation


def chunk(rng, rows, model):
    centroids, transforms, redundant, permutation = model
    cluster = rng.integers(0, len(centroids), size=rows)
    label = cluster % 2
    informative = rng.standard_normal((rows, INFORMATIVE))
    for c in range(len(centroids)):
        members = cluster == c
        informative[members] = informative[members] @ transforms[c] + centroids[c]
    x = np.hstack([informative, informative @ redundant, rng.standard_normal((rows, NOISE))])[:, permutation]
    flip = rng.random(rows) < FLIP
    label[flip] = rng.integers(0, 2, size=int(flip.sum()))
    return x, label


def main():
    rows, out = int(sys.argv[1]), sys.argv[2]
    sample_seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    model = generating_model()
    rng = np.random.default_rng(sample_seed)
    with open(out, "w") as f:
        f.write(",".join([f"f{i}" for i in range(FEATURES)] + ["target"]) + "\n")
        written = 0
        while written < rows:
            n = min(CHUNK, rows - written)
            x, y = chunk(rng, n, model)
            np.savetxt(f, np.column_stack([x, y]), delimiter=",", fmt=["%.6g"] * FEATURES + ["%d"])
            written += n


if __name__ == "__main__":
    main()
