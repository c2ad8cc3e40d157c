"""Continue the saved DBN's top RBM for 10 more epochs (momentum 0.9) and redraw the per-class dreams.

    python bench/experiment_dbn_top_more.py   # reads /tmp/rbmrun/dbn.npz (bench/experiment_dbn.py --save)
"""
import sys, time, json, numpy as np
sys.path.insert(0, "bench")
from experiment_dbn import draw_samples
from nndl.data import load_data
from nndl.models import generative
s = load_data("mnist", split="standard", standardize=False)
d = generative.load("/tmp/rbmrun/dbn.npz")
t = time.time()
pen = d.features_below(s.train.x, len(d.rbms) - 1)
top = d.rbms[-1]
v = np.hstack([pen, d.one_hot(s.train.y)])
top.fit(v, epochs=10, eta=0.1, init=False, on_epoch=lambda r: print(json.dumps(dict(r, part="top_rbm_more")), flush=True))
d.save("/tmp/rbmrun/dbn_top15.npz")
draw_samples(d, __import__("pathlib").Path("/tmp/rbmrun/dbn_samples_top15.png"))
print(json.dumps({"part": "top_rbm_more", "seconds": time.time() - t, "top_epochs": top.epochs_done}), flush=True)
