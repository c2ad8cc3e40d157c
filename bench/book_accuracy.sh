#!/usr/bin/env bash
# The book's chapter 1 and 3 results with its own settings (full runs; minutes, not in CI).
# Each run prints JSON lines; the last line holds test_accuracy (weights of the best validation epoch).
set -euo pipefail
out=${1:-runs/book-accuracy}
mkdir -p "$out"
for seed in 1 2 3; do   # chapter 1: [784,30,10], quadratic, N(0,1) weights, eta 3.0 (book: best of three 95.42%)
  nndl train --layers 784,30,10 --activation sigmoid --cost quadratic --init large --eta 3.0 --lmbda 0 \
    --epochs 30 --batch-size 10 --seed $seed --json --out "$out/ch1-30-seed$seed.npz" > "$out/ch1-30-seed$seed.jsonl"
done
# chapter 1: 100 hidden neurons, quadratic (book: 96.59%)
nndl train --layers 784,100,10 --activation sigmoid --cost quadratic --init large --eta 3.0 --lmbda 0 \
  --epochs 30 --batch-size 10 --seed 1 --json --out "$out/ch1-100.npz" > "$out/ch1-100.jsonl"
# chapter 3: [784,100,10], cross-entropy, eta 0.5, lambda 5.0 (book: validation 97.92%)
nndl train --layers 784,100,10 --activation sigmoid --cost cross_entropy --init default --eta 0.5 --lmbda 5.0 \
  --epochs 30 --batch-size 10 --seed 1 --json --out "$out/ch3-100.npz" > "$out/ch3-100.jsonl"
