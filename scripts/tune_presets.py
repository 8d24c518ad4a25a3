"""Write the built-in phenomenon presets (presets/*.json) and measure what they show.

    python scripts/tune_presets.py write            # (re)write every preset below
    python scripts/tune_presets.py check [NAME ...] # train each headless, print its figures

Each preset is a fixed base (the ring8 set-up with Adam 1e-3 for both nets, the learning rate
these presets were tuned at; pinned here so a change of the app's defaults cannot silently
change them) plus a few dotted-key changes, written with ``engine.save_preset`` so the files
stay normalised. The figures quoted in the descriptions come from ``check`` and from
tests/presets (seed 0, one CPU thread); tests/presets/test_builtin_preset_files.py checks
that paired presets differ only in their knob.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import load_preset, save_preset  # noqa: E402
from engine.config import default_config, with_changes  # noqa: E402
from engine.presets import LECTURES, TOPICS  # noqa: E402

BASE: dict[str, Any] = {
    "seed": 0, "device": "auto",
    "data.name": "ring8", "data.modes": 8, "data.radius": 2.0, "data.std": 0.02,
    "noise.dim": 2, "noise.dist": "gaussian",
    "generator.hidden": [128, 128], "generator.activation": "relu",
    "generator.norm": "none", "generator.ref_size": 64,
    "discriminator.hidden": [128, 128], "discriminator.activation": "leaky_relu",
    "discriminator.norm": "none", "discriminator.ref_size": 64,
    "discriminator.minibatch": "none", "discriminator.mb_kernels": 50, "discriminator.mb_dim": 5,
    "loss.name": "non-saturating", "loss.real_label": 1.0, "loss.fake_label": 0.0,
    "loss.clip": 0.01, "loss.gp_weight": 1.0,
    "optim.g.name": "adam", "optim.g.lr": 1e-3, "optim.g.betas": [0.5, 0.999],
    "optim.g.momentum": 0.0,
    "optim.d.name": "adam", "optim.d.lr": 1e-3, "optim.d.betas": [0.5, 0.999],
    "optim.d.momentum": 0.0,
    "train.batch_size": 256, "train.d_steps": 1, "train.g_steps": 1, "train.log_every": 1,
    "train.metrics_every": 100, "train.metrics_samples": 2500,
}

# Set-ups shared by a pair of presets (the pair then differs in one knob only).
STRONG_D_SGD_G = {  # D: Adam 1e-3, 5 steps per G step; G: SGD 1e-3 with momentum 0.9
    "train.d_steps": 5,
    "optim.g.name": "sgd",
    "optim.g.lr": 0.001,
    "optim.g.momentum": 0.9,
}
SMALL_D = {  # one hidden layer of 32 units, batch 64 (cheap minibatch discrimination)
    "discriminator.hidden": [32],
    "train.batch_size": 64,
    "discriminator.mb_kernels": 10,
}
LINES = {  # two vertical segments at x = 2.5 and 3.5, far from G's starting blob at x ~ 0
    "data.name": "lines", "data.count": 2, "data.gap": 1.0, "data.length": 2.0,
    "data.offset": 3.0, "data.std": 0.0, **STRONG_D_SGD_G,
}
STRONG_D_SLOW_G = {  # D: Adam 2e-3, 5 steps; G: Adam 1e-4
    "train.d_steps": 5,
    "optim.d.lr": 0.002,
    "optim.g.lr": 0.0001,
}

PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "minimax_vanishing": ({**STRONG_D_SGD_G, "loss.name": "minimax"}, (
        "The saturating (minimax) generator loss against a strong discriminator (5 D steps "
        "per G step; G on SGD with momentum 0.9, so its steps shrink with its gradient). D "
        "rejects the first fakes "
        "within a few dozen steps, and from then on dL_G/dl = -D(G(z)) is nearly 0. Watch "
        "the Gradient norms plot: G's gradient is ~5e-3 by step 100, below 1e-3 by step 200 "
        "and keeps sinking (~1e-5 by step 1000), while the outputs plot shows D(x) at 1 and "
        "D(G(z)) at ~0. The fakes stay frozen in a small blob at the centre (0 of 8 modes) "
        "for as long as you let it run. Load non_saturating_strong_d for the identical run "
        "with the non-saturating loss."
    )),
    "non_saturating_strong_d": ({**STRONG_D_SGD_G, "loss.name": "non-saturating"}, (
        "Exactly minimax_vanishing with the non-saturating generator loss (G maximises "
        "log D(G(z))). D is just as strong (D(x) ~0.85-0.9, D(G(z)) ~0.07-0.15 in the "
        "outputs plot), but G's gradient does not vanish: in the Gradient norms plot it is "
        "~4-5 over the first 200 steps (thousands of times the minimax run's) and 15-40 "
        "after that. The fakes leave the centre within ~100 steps and chase around the ring "
        "in clumps, touching a few modes at a time (up to ~5 of 8): with a D this strong G "
        "keeps hopping rather than settling, but it learns."
    )),
    "mode_collapse": ({**SMALL_D}, (
        "Mode collapse with the standard (non-saturating) loss: the discriminator is too "
        "small (one hidden layer of 32 units) to keep up, so G never spreads out. Watch the "
        "plane: all fakes stay in one small clump that chases D's favourite region around "
        "the plane, jumping to a new place every few hundred steps, and the status bar's "
        "mode count stays at 0-1 of 8 for the whole run. D(x) and D(G(z)) both sit at ~0.5 "
        "and W1 (Divergences tab) stays at ~2-3. Load minibatch_rescue for the same run "
        "with minibatch discrimination."
    )),
    "minibatch_rescue": ({**SMALL_D, "discriminator.minibatch": "discrimination"}, (
        "Exactly mode_collapse plus minibatch discrimination (Salimans et al. 2016; 10 "
        "kernels of dimension 5, cheap at batch 64): D now sees how close each sample is to "
        "the rest of its batch, so a collapsed batch is easy to reject. D(x) climbs from "
        "~0.65 to ~0.8 and D(G(z)) falls to ~0.2 (outputs plot), and instead of one clump "
        "the fakes spread around the whole ring within the first ~100-200 steps: the mode "
        "count reads 7-8 of 8 from then on (dipping to 4-5 now and then) and W1 falls to "
        "~0.3, where mode_collapse stays at 0-1 modes and W1 2-3."
    )),
    "wgan_clip": ({
        "loss.name": "wgan", "loss.clip": 0.01, "train.d_steps": 5,
        "optim.g.name": "rmsprop", "optim.g.lr": 5e-5,
        "optim.d.name": "rmsprop", "optim.d.lr": 5e-5,
    }, (
        "WGAN with weight clipping as in Arjovsky et al.: every critic weight clamped to "
        "[-0.01, 0.01] after each step, RMSprop lr 5e-5 for both nets, 5 critic steps per G "
        "step. D(x) and D(G(z)) in the outputs plot are raw critic scores and, with clipped "
        "weights, tiny (about -0.006); G's gradient norm is only ~1e-3 and falling, yet "
        "RMSprop turns it "
        "into steady progress: the blob at the centre stretches onto the ring, the mode "
        "count reaches 5-6 of 8 by step 200-400 and 7-8 by step ~1500, and W1 in the "
        "Divergences tab falls from ~1.9 to ~0.9 by step 400 and ~0.5 by step 2000. The "
        "fakes hover near the ring rather than on its tight modes (~1% high-quality)."
    )),
    "wgan_gp": ({
        "loss.name": "wgan-gp", "loss.gp_weight": 1.0, "train.d_steps": 5,
        "optim.g.lr": 1e-4, "optim.g.betas": [0.5, 0.9],
        "optim.d.lr": 1e-4, "optim.d.betas": [0.5, 0.9],
    }, (
        "WGAN-GP (Gulrajani et al.): gradient penalty with lambda = 1 (the reference's 2-D "
        "choice; 10 is for images), Adam 1e-4 with betas (0.5, 0.9), 5 critic steps per G "
        "step. D(x) and D(G(z)) in the outputs plot are raw critic scores; their gap is the "
        "critic's estimate of W1. The fakes grow from the centre onto the ring: the mode "
        "count reaches ~6 of 8 by step 400 and 8 by step ~800, and W1 in the Divergences "
        "tab falls from ~1.9 to ~0.8 by step 400, ~0.5 by step 800 and ~0.35 by step 2000."
    )),
    "lines_js": ({**LINES, "loss.name": "minimax"}, (
        "Disjoint supports (seed 003's parallel lines): the data are two vertical segments "
        "at x = 2.5 and 3.5 and G starts as a blob at x ~ 0, so the supports do not overlap. "
        "With the minimax loss and a strong D (5 steps per G step; G on SGD with momentum "
        "0.9) D "
        "separates them perfectly: D(x) = 1 and D(G(z)) ~ 0 in the outputs plot, JS in the "
        "Divergences tab sits at log 2 = 0.693 and W1 at ~3, G's gradient norm falls to "
        "~1e-2 by step 100 and ~2e-3 by step 200 and keeps sinking, and the fakes never "
        "leave x ~ 0. Compare lines_wgan."
    )),
    "lines_wgan": ({**LINES, "loss.name": "wgan-gp"}, (
        "Exactly lines_js with the WGAN-GP loss: the critic's slope does not vanish when "
        "the supports are apart, so G is pulled across at once. Watch the plane: the blob "
        "at x ~ 0 slides right and lands on the two segments (x = 2.5 and 3.5) within "
        "~100-200 steps, overshooting a little first; G's gradient norm stays at ~1.5-5. In "
        "the Divergences tab W1 drops from ~3 to ~0.65 by step 100 and ~0.3 by step 300, "
        "while JS only creeps down (0.57 at step 100, ~0.2 by step 1500) as the fakes come "
        "to overlap the thin lines."
    )),
    "label_smoothing_one_sided": ({**STRONG_D_SLOW_G, "loss.real_label": 0.9}, (
        "One-sided label smoothing (alpha = 0.1): D's target on real data is 0.9, on fakes "
        "0. D is strong (5 steps per G step, lr 2e-3) and G slow (lr 1e-4); without the "
        "smoothing this D's D(x) averages ~0.95 over the first 100 steps with single "
        "batches at 0.999. Here the D(x) on real curve in the outputs plot stays below "
        "0.9: ~0.85 early, ~0.8 from step ~200, no batch above ~0.93, as "
        "D* = 0.9 p_data / (p_data + p_g) says (on the real points D stays at ~0.9-0.95; off "
        "the data, where neither density lives, the heatmap is unconstrained and can still "
        "read 1). D(G(z)) is still free to fall to ~0.05-0.1. (The fakes end up on one or "
        "two modes: that is the strong D, with or without smoothing.)"
    )),
    "label_smoothing_two_sided": ({
        **STRONG_D_SLOW_G, "loss.real_label": 0.9, "loss.fake_label": 0.1,
    }, (
        "Two-sided label smoothing: targets 0.9 on real and 0.1 on fakes (otherwise exactly "
        "label_smoothing_one_sided). Both curves of the outputs plot settle inside "
        "[0.1, 0.9]: D(x) stays below 0.9 (~0.8) and D(G(z)) rises to ~0.2 by step 200, "
        "about twice the one-sided run's ~0.1, because D* = (0.9 p_data + 0.1 p_g) / "
        "(p_data + p_g) rewards fakes wherever they already are: the 'reinforces current "
        "generator behaviour' effect that makes Salimans et al. prefer one-sided smoothing."
    )),
    "batchnorm_generator": ({"generator.norm": "batch"}, (
        "Plain batch norm in G's hidden layers (statistics of the current minibatch), on "
        "ring8 with Adam 1e-3. It trains like a plain G (6-8 of 8 modes from step ~200), "
        "which is the trap: a "
        "fake is not a function of its own z but of its whole batch, so the samples of one "
        "minibatch move together. Put the same z in another batch of 256 and its point "
        "moves by ~0.6 after 100 steps and ~1-1.5 later, up to half the ring's radius. The "
        "plane draws its 512 fakes as two training batches of 256: lower the batch size "
        "to 16 and each group of 16 shifts together (over a third of a step's motion is shared "
        "within a group). Compare "
        "reference_norm_generator or virtual_norm_generator, where the same z always lands "
        "on the same point."
    )),
    "reference_norm_generator": ({"generator.norm": "reference"}, (
        "Reference batch norm in G (Salimans et al. 2016): every layer normalises with the "
        "statistics of a fixed reference batch of 64 noise vectors, passed through the "
        "network with the current weights at every step. Each fake depends only on its own "
        "z (the same z gives exactly the same point in any batch), unlike "
        "batchnorm_generator (otherwise the same run), and it learns the ring as well: 7-8 "
        "of 8 modes from step ~200."
    )),
    "virtual_norm_generator": ({"generator.norm": "virtual"}, (
        "Virtual batch norm in G: each sample is normalised with the statistics of the "
        "fixed reference batch plus itself, so, as with reference_norm_generator, a fake "
        "depends only on its own z and never on the rest of its minibatch (compare "
        "batchnorm_generator). It costs an extra pass of the reference batch per step and "
        "learns the ring as well: 7-8 of 8 modes from step ~200."
    )),
    "too_many_d_steps": ({"train.d_steps": 25}, (
        "Ring8 with Adam 1e-3 for both nets and k = 25 discriminator steps per generator "
        "step: D is trained "
        "to near-optimality before every G step, and wins. In the outputs plot D(x) sits at "
        "~0.9-0.95 and D(G(z)) at ~0.05-0.1 from the first steps; G's gradient norm "
        "(Gradient norms plot) passes 100 by step ~200 and reaches several hundred by step "
        "~1000, and instead of spreading around the ring the fakes collapse onto one or a "
        "few modes (this seed: 1 of 8 for 2000 steps). Each step does 26 updates, so it "
        "runs ~10x slower than a k = 1 run. Compare too_few_d_steps."
    )),
    "too_few_d_steps": ({"optim.d.lr": 2e-5}, (
        "The other direction: k = 1 D step per G step (otherwise too_many_d_steps) with a D "
        "learning rate 50x below G's (Adam 2e-5 vs 1e-3). D never learns to tell real from fake: D(x) and D(G(z)) both stay "
        "at ~0.5 in the outputs plot and D's heatmap stays nearly flat (0.4-0.55), so G "
        "gets only a weak, "
        "directionless gradient (~0.05-0.4 in the Gradient norms plot, against hundreds in "
        "too_many_d_steps), and its clump of fakes drifts around the plane, sometimes far "
        "outside the ring, without ever finding it: 0 of 8 modes, JS at or near log 2."
    )),
    "r1_ring8": ({"loss.r1": 0.1}, (
        "The ring8 set-up at Adam 1e-3 with the R1 penalty (Mescheder et al. 2018): "
        "(gamma/2) E|grad_x D(x)|^2 on real data is added to D's loss, gamma = 0.1, so D "
        "cannot grow steep around the data. Watch the outputs plot: D(x) on real data runs "
        "as a nearly flat line (its jitter from step to step is ~0.005, against ~0.03 with "
        "loss.r1 set to 0), where the unregularized run's D(x) and D(G(z)) chase each other. "
        "All 8 modes are reached in both by step ~1000. Set loss.r1 to 0 mid-run to see the "
        "jitter come back; too large a gamma (10) flattens D so much that G learns slowly."
    )),
    "gmmn_ring8": ({"loss.name": "mmd"}, (
        "Moment matching (GMMN, seeds 001 and 004): no discriminator at all. G is trained to "
        "minimise the MMD^2 between a batch of fakes and a batch of real points, with a sum "
        "of RBF kernels at several bandwidths (loss.mmd_bandwidths, in units of the data's "
        "spread). D is not trained, so its heatmap and figures mean nothing here. Watch the "
        "fakes reach all 8 modes within a few hundred steps (about 250) and then tighten "
        "onto them more slowly than a GAN does (a third to 40% of samples within 3 std of a "
        "mode by step 2000): the kernels pull on whole batches, not single points. Narrow the "
        "bandwidths to sharpen the modes, or widen them to see the fit blur."
    )),
    "infogan_ring8": ({"generator.codes": 8, "loss.info_weight": 1.0, "optim.g.lr": 2e-4,
                       "optim.d.lr": 2e-4}, (
        "InfoGAN (seed 001): G reads a categorical code c of 8 values next to z, and a head "
        "Q on D's features learns to guess c from a fake; both G and Q minimise "
        "lambda*CE(Q(G(z, c)), c), a lower bound on the mutual information I(c; G(z, c)) <= "
        "log 8 = 2.079. Watch the 'I(c; G(z, c)) bound' metric climb to log 8 within about "
        "1500 steps: by then each code has settled on a mode of its own (~99% of a code's "
        "samples on its mode; Session.sample(n, codes=k) draws from code k, and view "
        "snapshots carry each fake's code). Set loss.info_weight to 0 and the codes are free "
        "to mix again."
    )),
}


# Image presets start from their own base: DCGAN (Radford et al. 2016) on the digits that
# ship inside scikit-learn, upscaled to 16x16, with DCGAN's Adam 2e-4, beta1 0.5, batch 64.
IMAGE_BASE: dict[str, Any] = {
    **{k: v for k, v in BASE.items() if not k.startswith("data.")},
    "data.name": "digits", "data.size": 16,
    "noise.dim": 32,
    "generator.arch": "dcgan", "generator.width": 32, "generator.depth": 1,
    "generator.activation": "relu", "generator.norm": "batch",
    "discriminator.arch": "dcgan", "discriminator.width": 32, "discriminator.depth": 1,
    "discriminator.activation": "leaky_relu", "discriminator.norm": "batch",
    "optim.g.lr": 2e-4, "optim.d.lr": 2e-4,
    "train.batch_size": 64, "train.metrics_every": 500, "train.metrics_samples": 2000,
}

IMAGE_PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "dcgan_digits": ({}, (
        "A DCGAN on the 8x8 digits that ship inside scikit-learn, upscaled to 16x16: "
        "transposed convolutions in G (batch norm, ReLU), strided convolutions in D (batch "
        "norm, leaky ReLU), Adam 2e-4 with beta1 0.5, batch 64. The grid of fakes (fixed "
        "noise) turns from grey noise into blurry strokes within ~200 steps and into "
        "recognisable digits of every class by ~1500-3000 steps (about a minute or two on "
        "one CPU core). The FID/IS plot (a classifier trained once on the digits, a few seconds the "
        "first time) tracks it: FID falls from ~800 for the untrained G to ~20 by step 600 "
        "and ~13-17 by step 3000, IS rises from 1 to ~5 (real digits: ~9), and the "
        "classifier sees all 10 digits among the fakes. The "
        "histograms show D's outputs on real and generated images pulling apart and "
        "overlapping as the two players trade blows."
    )),
    "dcgan_digits_conditional": ({"conditional": True}, (
        "Exactly dcgan_digits with the class label fed to both networks (a one-hot vector "
        "next to G's noise, ten one-hot planes next to D's image): a conditional GAN. The "
        "grid of fakes now has one row per digit, so you can ask for 'a 7' and watch that "
        "row become sevens. Labels make the task much easier: by step ~1000 (about 30 s on "
        "one CPU core) the classifier sees the requested digit in ~95% of samples, FID is "
        "~5 against ~16 unconditional and IS ~8.6 (real digits: ~9). Draw a class from the "
        "command line with 'main.py sample generator.safetensors --n 100 --label 7 --out "
        "sevens.png'."
    )),
}
PRESETS.update(IMAGE_PRESETS)


LOSS, DIVERGENCES, OPTIMAL_D, COLLAPSE, NORMALIZATION, IMAGES = TOPICS
LI, AMMI, MARLIN, ISACHENKO, KOREAN = LECTURES  # the lecture notes 000 to 004
# Each preset's library group and the lecture note whose phenomenon it shows (ring8.json,
# written by hand, carries its own: the loss and its gradients, Marlin).
LIBRARY: dict[str, tuple[str, str]] = {
    "minimax_vanishing": (LOSS, ISACHENKO),          # "log(1 - D(G(z))) saturates"
    "non_saturating_strong_d": (LOSS, AMMI),         # G learns though D rejects every fake
    "lines_js": (DIVERGENCES, ISACHENKO),            # disjoint supports: JSD = log 2
    "lines_wgan": (DIVERGENCES, ISACHENKO),          # WGAN's gradients on disjoint supports
    "wgan_clip": (DIVERGENCES, ISACHENKO),           # weight clipping and its critic
    "wgan_gp": (DIVERGENCES, LI),                    # WGAN-GP's penalty
    "too_many_d_steps": (OPTIMAL_D, KOREAN),         # k D steps; D* and a D that wins
    "too_few_d_steps": (OPTIMAL_D, LI),              # learning rates and inner-loop K
    "label_smoothing_one_sided": (OPTIMAL_D, AMMI),  # D* with smoothed labels
    "label_smoothing_two_sided": (OPTIMAL_D, AMMI),  # "reinforces current generator behavior"
    "mode_collapse": (COLLAPSE, AMMI),               # mode collapse; D bigger than G
    "minibatch_rescue": (COLLAPSE, AMMI),            # minibatch features against it
    "batchnorm_generator": (NORMALIZATION, AMMI),    # intra-batch correlation
    "reference_norm_generator": (NORMALIZATION, AMMI),
    "virtual_norm_generator": (NORMALIZATION, AMMI),
    "dcgan_digits": (IMAGES, MARLIN),                # convolutional GANs; digits
    "dcgan_digits_conditional": (IMAGES, AMMI),      # labels improve samples; CGANs
    "r1_ring8": (OPTIMAL_D, KOREAN),                 # adversarial games; R1 steadies D
    "gmmn_ring8": (DIVERGENCES, AMMI),               # moment matching: MMD, no D
    "infogan_ring8": (COLLAPSE, AMMI),               # InfoGAN: a code per mode
}


def config_of(name: str) -> dict[str, Any]:
    changes, description = PRESETS[name]
    topic, lecture = LIBRARY[name]
    base = with_changes(default_config(), IMAGE_BASE if name in IMAGE_PRESETS else BASE)
    return with_changes(base, {**changes, "name": name, "description": description,
                               "topic": topic, "lecture": lecture})


def write(names: list[str]) -> None:
    for name in names:
        path = ROOT / "presets" / f"{name}.json"
        save_preset(config_of(name), str(path))
        print(f"wrote {path.relative_to(ROOT)}")


def check(names: list[str], steps: int, every: int) -> None:
    """Train each preset on the CPU (one thread) and print its figures every ``every`` steps:
    medians over the last ``every`` steps, then mode count, W1, JS and the fakes' mean x."""
    import numpy as np
    import torch

    from engine import Session

    torch.set_num_threads(1)
    for name in names:
        s = Session(with_changes(load_preset(name), {"device": "cpu"}))
        t = time.perf_counter()
        print(f"{name}:")
        while s.step < steps:
            s.train(min(every, steps - s.step))
            h = s.history
            tail = h["step"] > s.step - every
            figs = {c: float(np.median(h[c][tail])) for c in ("d_real", "d_fake", "g_grad_norm")}
            if s.dataset.is_image:
                q = s.quality_scores(2000)
                print(f"  step {s.step:5d} ({time.perf_counter() - t:5.1f}s): "
                      + ", ".join(f"{k} {v:.3g}" for k, v in figs.items())
                      + f"; FID {q.fid:.1f} IS {q.inception:.2f} classes {q.classes_seen}",
                      flush=True)
                continue
            ms = s.mode_stats()
            div = s.divergences(1000)
            x = s.sample(1000)
            print(f"  step {s.step:5d} ({time.perf_counter() - t:5.1f}s): "
                  + ", ".join(f"{k} {v:.3g}" for k, v in figs.items())
                  + (f"; modes {ms.captured}/{ms.total} HQ {ms.high_quality:.2f}" if ms else "")
                  + f"; W1 {div.w1:.3f} JS {div.js:.3f}; mean x {x[:, 0].mean():.2f}",
                  flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("write", "check"))
    ap.add_argument("names", nargs="*", help="presets (default: all of them)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    args = ap.parse_args()
    names = args.names or list(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        ap.error(f"unknown preset(s): {', '.join(unknown)}")
    if args.action == "write":
        write(names)
    else:
        check(names, args.steps, args.every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
