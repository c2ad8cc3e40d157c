"""Write the stroke fixtures of the draw page's tests: digits as a user would draw them on the
280x280 pad (polylines of pointer positions), some off-centre and small.  Run once:

    python tests/data/strokes/make_strokes.py
"""
import json
import math
from pathlib import Path


def arc(cx, cy, rx, ry, start, end, n=24):
    """Points on an ellipse from angle ``start`` to ``end`` (degrees, 0 = right, 90 = down)."""
    return [[round(cx + rx * math.cos(math.radians(start + (end - start) * i / n)), 1),
             round(cy + ry * math.sin(math.radians(start + (end - start) * i / n)), 1)] for i in range(n + 1)]


DIGITS = {
    "0": [arc(140, 140, 62, 95, -90, 275, 40)],
    "1": [[[118, 80], [152, 45], [150, 140], [147, 238]]],
    "2": [arc(140, 100, 58, 55, 190, 380, 20) + [[110, 190], [85, 235], [150, 233], [205, 235]]],
    "3": [arc(138, 88, 52, 45, 200, 450, 20) + arc(138, 183, 60, 52, -90, 140, 20)],
    "4": [[[170, 238], [170, 45], [78, 172], [212, 172]]],
    "5": [[[198, 50], [105, 50], [95, 128]] + arc(140, 175, 60, 58, -130, 150, 22)],
    "6": [[[185, 50], [130, 85], [100, 150]] + arc(142, 185, 50, 50, 180, 540, 30)],
    "7": [[[78, 55], [205, 55], [165, 130], [125, 238]]],
    "8": [arc(140, 92, 45, 48, 90, 450, 28) + arc(140, 185, 55, 50, -90, 270, 28)],
    "9": [arc(138, 95, 50, 48, 0, 360, 28) + [[188, 110], [182, 170], [172, 238]]],
}


def moved(strokes, scale, dx, dy):
    return [[[round(x * scale + dx, 1), round(y * scale + dy, 1)] for x, y in s] for s in strokes]


def main():
    folder = Path(__file__).parent
    cases = {f"digit-{d}": (d, s) for d, s in DIGITS.items()}
    cases["small-3-top-left"] = ("3", moved(DIGITS["3"], 0.45, -10, -10))
    cases["off-centre-7-right"] = ("7", moved(DIGITS["7"], 0.7, 80, 40))
    cases["two-strokes-4"] = ("4", [[[110, 45], [82, 170], [212, 170]], [[175, 90], [172, 238]]])
    for name, (digit, strokes) in cases.items():
        record = {"digit": digit, "canvas": [280, 280], "line_width": 20, "strokes": strokes}
        (folder / f"{name}.json").write_text(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
