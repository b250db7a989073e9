"""The default model as a loss: 30 Adam steps on a noisy photo, and two ways to game it.

Takes a pristine photo, crops its centre, adds Gaussian noise (seeded) and minimises
``blindiqa.create_metric("default", as_loss=True)`` three ways, each starting from the
noisy image:

- ``filter``: a one-layer restoration network, a 5 x 5 convolution (weights summing to
  one, shared by the channels) starting as the identity, 30 Adam steps on its weights;
- ``pixels``: the pixels themselves, 30 Adam steps (clipped to [0, 1] after each);
- ``gamed``: a perturbation bounded by ``--eps`` per pixel (2/255: invisible), found by
  30 projected signed-gradient steps.

It prints the scores, PSNR and SSIM against the clean crop, the scores of the centre
crops of every photo of the folder (pristine photos, for comparison), and writes a
figure (clean | noisy | filter | pixels | gamed), the amplified changes, and the numbers
as JSON.

Usage::

    python benchmarks/loss_demo.py /work/shared/data/pristine/kodak24/03.png \
        --out /tmp/loss-demo

Photos of the shared data are not to be committed: keep the figure outside the tree.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import blindiqa
from blindiqa.io import decode_image


def centre_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """The ``size`` x ``size`` centre of ``(3, H, W)`` (the whole side where smaller)."""
    h, w = image.shape[-2:]
    sh, sw = min(size, h), min(size, w)
    y, x = (h - sh) // 2, (w - sw) // 2
    return image[:, y:y + sh, x:x + sw].contiguous()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of images in [0, 1]."""
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM of the luminance of two ``(3, H, W)`` images in [0, 1] (Gaussian window,
    sigma 1.5, 11 x 11; Wang et al. 2004's constants)."""
    luma = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(3, 1, 1)
    x, y = ((t.double() * luma).sum(0)[None, None] for t in (a, b))
    ax = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(ax**2) / (2 * 1.5**2))
    k = torch.outer(g, g)
    k = (k / k.sum())[None, None]

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, k)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def optimise(loss_fn: torch.nn.Module, start: torch.Tensor, steps: int, lr: float
             ) -> tuple[torch.Tensor, list[float]]:
    """Adam on the pixels from ``start``, clipped to [0, 1] after every step; the result
    and the loss before each step."""
    x = start.clone()[None].requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    trace = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(x)
        trace.append(float(loss.detach()))
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
    return x.detach()[0], trace


def restoration_filter(loss_fn: torch.nn.Module, noisy: torch.Tensor, steps: int, lr: float,
                       size: int = 5) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Train a ``size`` x ``size`` convolution (the identity plus learnt offsets,
    normalised to sum to one, reflect padding) on the loss of its output; the output,
    the kernel and the loss before each step."""
    ident = torch.zeros(size, size)
    ident[size // 2, size // 2] = 1.0
    delta = torch.zeros(size, size, requires_grad=True)
    padded = F.pad(noisy[None], (size // 2,) * 4, mode="reflect")

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        w = ident + delta
        w = w / w.sum()
        return F.conv2d(padded, w.expand(3, 1, size, size), groups=3).clamp(0, 1), w

    opt = torch.optim.Adam([delta], lr=lr)
    trace = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(run()[0])
        trace.append(float(loss.detach()))
        loss.backward()
        opt.step()
    with torch.no_grad():
        out, w = run()
    return out[0], w, trace


def projected_attack(loss_fn: torch.nn.Module, start: torch.Tensor, eps: float, steps: int
                     ) -> torch.Tensor:
    """Signed-gradient steps lowering the loss, kept within ``eps`` of ``start`` per pixel
    and within [0, 1] (projected gradient descent)."""
    step = 2.5 * eps / steps
    x = start.clone()[None]
    for _ in range(steps):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(x), x)
        with torch.no_grad():
            x = x - step * grad.sign()
            x = torch.minimum(torch.maximum(x, start[None] - eps), start[None] + eps)
            x = x.clamp(0.0, 1.0)
    return x.detach()[0]


def to_pil(image: torch.Tensor) -> Image.Image:
    arr = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(arr)


def figure(panels: list[torch.Tensor], path: Path, gap: int = 8) -> None:
    """The panels side by side on white, as a PNG."""
    h = max(p.shape[1] for p in panels)
    w = sum(p.shape[2] for p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (w, h), "white")
    x = 0
    for p in panels:
        canvas.paste(to_pil(p), (x, 0))
        x += p.shape[2] + gap
    canvas.save(path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photo", type=Path, help="a pristine photo")
    ap.add_argument("--out", type=Path, default=Path("/tmp/loss-demo"))
    ap.add_argument("--size", type=int, default=256, help="centre crop side (px)")
    ap.add_argument("--sigma", type=float, default=0.08, help="noise standard deviation")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=0.01, help="Adam's step (filter, pixels)")
    ap.add_argument("--eps", type=float, default=2 / 255, help="the attack's bound")
    ap.add_argument("--attack-steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    metric = blindiqa.create_metric("default")
    loss_fn = blindiqa.create_metric("default", as_loss=True)
    clean = centre_crop(decode_image(args.photo), args.size)
    gen = torch.Generator().manual_seed(args.seed)
    noise = torch.randn(clean.shape, generator=gen, dtype=clean.dtype)
    noisy = (clean + args.sigma * noise).clamp(0.0, 1.0)

    t0 = time.perf_counter()
    filtered, kernel, filter_trace = restoration_filter(loss_fn, noisy, args.steps, args.lr)
    t_filter = time.perf_counter() - t0
    restored, trace = optimise(loss_fn, noisy, args.steps, args.lr)
    gamed = projected_attack(loss_fn, noisy, args.eps, args.attack_steps)

    others = sorted(p for p in args.photo.parent.iterdir()
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".bmp"))
    crops = torch.stack([centre_crop(decode_image(p), args.size) for p in others
                         if min(decode_image(p).shape[-2:]) >= args.size])
    folder_scores = metric(crops)
    images = {"clean": clean, "noisy": noisy, "filter": filtered, "pixels": restored,
              "gamed": gamed}
    scores = metric(torch.stack(list(images.values()))).tolist()
    result = {
        "photo": str(args.photo), "crop": args.size, "sigma": args.sigma,
        "steps": args.steps, "lr": args.lr, "filter_seconds": round(t_filter, 1),
        "score": dict(zip(images, scores, strict=True)),
        "psnr_db": {k: psnr(v, clean) for k, v in images.items() if k != "clean"},
        "ssim": {k: ssim(v, clean) for k, v in images.items() if k != "clean"},
        "kernel": [[round(float(v), 4) for v in row] for row in kernel],
        "gamed_max_change": float((gamed - noisy).abs().max()),
        "eps": args.eps,
        "folder_crops": {"n": len(folder_scores), "min": float(folder_scores.min()),
                         "median": float(folder_scores.median()),
                         "max": float(folder_scores.max())},
        "filter_trace": filter_trace,
        "pixels_trace": trace,
    }
    figure(list(images.values()), args.out / "loss_demo.png")
    # the top-left quarter of each, twice as large (nearest neighbour): the noise shows
    q = args.size // 2
    figure([p[:, :q, :q].repeat_interleave(2, 1).repeat_interleave(2, 2)
            for p in images.values()], args.out / "loss_demo_zoom.png")
    # what each changed in the noisy image, amplified (grey: no change)
    figure([(filtered - noisy) * 2 + 0.5, (restored - noisy) * 2 + 0.5,
            (gamed - noisy) / (2 * args.eps) + 0.5], args.out / "loss_demo_diff.png")
    (args.out / "loss_demo.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_trace")},
                     indent=2))


if __name__ == "__main__":
    main()
