"""Synthetic scenes for Stage-1 pre-training: pristine images, on-the-fly distortions,
and the two-halves crop sampler.

A *scene* (Babu et al., WACV 2023) is one pristine picture and ``k - 1`` distorted
versions of it. Here the picture is a random ``work_size`` x ``work_size`` crop of a
pristine image (smaller images are first enlarged so that their short side is
``work_size``); the ``k - 1`` distortions get distinct (type, level) pairs drawn from the
25 KADID-10k types x 5 levels of :mod:`blindiqa.distortions`. Every version is stored as
8-bit, as the distorted images of KADIS-700k are.

The views of a scene (``views="halves"``, the paper's two-halves sampler): split every
image along the height or the width (probability 1/2 each, the same split for the whole
scene) and take a random crop of side ``min(H, W) / 2`` from each half, at the same place
in every image of the scene (the official code crops the stacked scene). ``views="scales"``
gives CONTRIQUE's views instead: a crop at full scale and one of the image downscaled by 2.
Crops are resized to ``out_size`` when it is given.

Every random draw is made with a ``torch.Generator`` seeded from (run seed, epoch, scene
slot) by :func:`derive_seed`, so a scene is the same whatever the number of DataLoader
workers or processes, and a resumed run sees the very scenes it would have seen.

Where the distortions run (``SceneSpec.distort_on``):

* ``"workers"`` (default): a DataLoader worker decodes the image, cuts the working
  image, applies the ``k - 1`` distortions and cuts the crops; only 8-bit crops travel
  to the training process. Measured on one core of the 2-core development machine, at
  the paper's setting (working size 384, k = 4): 55 ms per scene (10 ms of it PNG
  decoding), i.e. ~18 scenes = ~145 crops per second per worker; 15 workers give about
  2,200 crops/s.
* ``"device"``: the worker only decodes, cuts and applies the Pillow types
  (:data:`CPU_TYPES`: JPEG, JPEG2000, colour quantisation: 22 ms per scene on that
  core) and sends whole 8-bit versions; the other types run batched over the scenes on
  the training device, in the training process. On the CPU this only moves the work
  into the training process; on a GPU it relieves the workers at the cost of GPU time
  and many small kernels. ``benchmarks/bench_train.py`` (and ``gpu_stage1.sh``, which
  picks the faster mode) measures the data pipeline of both modes against the model
  step alone: training runs at the smaller of the two.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, Sampler

from blindiqa.distortions import DISTORTIONS, NAMES, NUM_LEVELS, apply_distortion
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files

#: Class of the pristine version (CONTRIQUE's labels).
PRISTINE_CLASS = 0

#: Number of distorted classes (25 types x 5 levels).
NUM_DISTORTED_CLASSES = len(DISTORTIONS) * NUM_LEVELS

#: All classes: the distorted ones and the pristine class.
NUM_CLASSES = NUM_DISTORTED_CLASSES + 1

#: Types computed through Pillow on the CPU whatever the device of the images; with
#: ``distort_on="device"`` they are still applied in the DataLoader workers.
CPU_TYPES: frozenset[str] = frozenset({"jpeg", "jpeg2000", "color_quantization"})

#: Tags that keep the seeds of the different random streams apart.
TAG_SCENE, TAG_ORDER, TAG_BATCH = 1, 2, 3

VIEW_MODES = ("halves", "scales")


def derive_seed(*values: int) -> int:
    """A 63-bit seed mixed from non-negative integers (numpy's ``SeedSequence``).

    Different tuples give independent streams; the same tuple always the same seed.
    """
    words = np.random.SeedSequence([int(v) for v in values]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


def make_generator(*values: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``derive_seed(*values)``."""
    return torch.Generator(device=device).manual_seed(derive_seed(*values))


def randint(high: int, generator: torch.Generator) -> int:
    """One integer uniform in ``[0, high)`` drawn on the CPU generator ``generator``."""
    if high < 1:
        raise ValueError(f"high must be >= 1, got {high}")
    return int(torch.randint(high, (1,), generator=generator))


def distortion_class(type_index: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """CONTRIQUE class of (type index 0..24, level 1..5): ``1 + 5 * type + level - 1``."""
    return 1 + type_index * NUM_LEVELS + (level - 1)


def class_to_distortion(label: int) -> tuple[int, int]:
    """Inverse of :func:`distortion_class` for one distorted class: ``(type, level)``.

    Raises:
        ValueError: the pristine class or out of range.
    """
    if not 1 <= label < NUM_CLASSES:
        raise ValueError(f"a distorted class is in 1..{NUM_CLASSES - 1}, got {label}")
    return (label - 1) // NUM_LEVELS, (label - 1) % NUM_LEVELS + 1


# --------------------------------------------------------------------------- images


def list_training_images(sources: Sequence[str | os.PathLike]) -> list[tuple[Path, str]]:
    """The readable images under ``sources`` (folders walked recursively, or files).

    Files whose header Pillow cannot read are skipped with a warning naming them.

    Returns:
        ``(path, display name)`` pairs in a stable order.

    Raises:
        ValueError: no readable image at all.
    """
    found: list[tuple[Path, str]] = []
    for path, name in iter_image_files(sources):
        try:
            with Image.open(path) as im:
                w, h = im.size
        except Exception as exc:  # noqa: BLE001 - any failure means "unreadable"
            warnings.warn(f"skipping unreadable image {path}: {exc}", stacklevel=2)
            continue
        if min(w, h) < 1:
            warnings.warn(f"skipping empty image {path}", stacklevel=2)
            continue
        found.append((path, name))
    if not found:
        raise ValueError(f"no readable images in {', '.join(map(str, sources))}")
    return found


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` floats to 8-bit (rounded)."""
    return (images.clamp(0.0, 1.0) * 255.0).round_().to(torch.uint8)


def from_uint8(images: torch.Tensor) -> torch.Tensor:
    """8-bit to float32 in ``[0, 1]``."""
    return images.float().div_(255.0)


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round ``[0, 1]`` floats to the nearest 8-bit value (kept as floats)."""
    return (images.clamp(0.0, 1.0) * 255.0).round() / 255.0


def working_crop(image: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``size`` x ``size`` crop of ``image`` (3, H, W) in ``[0, 1]``.

    An image whose short side is below ``size`` is first enlarged (bicubic) so that it
    is exactly ``size``.
    """
    _, h, w = image.shape
    if min(h, w) < size:
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        image = F.interpolate(image[None], size=(nh, nw), mode="bicubic",
                              align_corners=False, antialias=True)[0].clamp(0.0, 1.0)
        h, w = nh, nw
    top = randint(h - size + 1, generator)
    left = randint(w - size + 1, generator)
    return image[:, top:top + size, left:left + size]


# ------------------------------------------------------------------------ distortions


def draw_distortion_classes(scenes: int, count: int, generator: torch.Generator
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``count`` distinct (type, level) pairs for each of ``scenes`` scenes.

    Returns:
        ``(types, levels)``, int64 ``(scenes, count)``: type indices in 0..24, levels 1..5.

    Raises:
        ValueError: ``count`` is negative or above the 125 distorted classes.
    """
    if not 0 <= count <= NUM_DISTORTED_CLASSES:
        raise ValueError(f"count must be in 0..{NUM_DISTORTED_CLASSES}, got {count}")
    picks = torch.stack([torch.randperm(NUM_DISTORTED_CLASSES, generator=generator)[:count]
                         for _ in range(scenes)]) if scenes else torch.empty(0, count)
    picks = picks.long()
    return picks // NUM_LEVELS, picks % NUM_LEVELS + 1


def apply_drawn_distortions(pristine: torch.Tensor, types: torch.Tensor, levels: torch.Tensor,
                            generator: torch.Generator | None, only: torch.Tensor | None = None,
                            out: torch.Tensor | None = None) -> torch.Tensor:
    """Distort each scene's pristine image with its drawn (type, level) pairs.

    Images that share a (type, level) are distorted together, the groups in increasing
    (type, level) order, so the result is fixed by the generator's seed.

    Args:
        pristine: ``(B, 3, H, W)`` in ``[0, 1]``.
        types: ``(B, m)`` type indices.
        levels: ``(B, m)`` levels.
        generator: source of the distortions' random draws.
        only: ``(B, m)`` bool, which pairs to apply now (default: all).
        out: ``(B, m + 1, 3, H, W)`` to fill in place (default: new, with the pristine
            image at index 0 and copies of it where nothing is applied).

    Returns:
        ``(B, m + 1, 3, H, W)``: version 0 pristine, version ``j + 1`` distorted with pair
        ``j``.
    """
    b, m = types.shape
    if out is None:
        out = pristine[:, None].repeat(1, m + 1, 1, 1, 1)
    todo = torch.ones_like(types, dtype=torch.bool) if only is None else only.cpu()
    keys = sorted({(int(t), int(v)) for t, v, d in zip(types.flatten().tolist(),
                                                      levels.flatten().tolist(),
                                                      todo.flatten().tolist(), strict=True)
                   if d})
    for t, v in keys:
        rows, cols = torch.nonzero((types.cpu() == t) & (levels.cpu() == v) & todo,
                                   as_tuple=True)
        rows_d, cols_d = rows.to(pristine.device), cols.to(pristine.device)
        out[rows_d, cols_d + 1] = apply_distortion(pristine[rows_d], NAMES[t], v, generator)
    return out


def scene_labels(types: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """``(B, m + 1)`` classes: :data:`PRISTINE_CLASS` then the distorted classes."""
    zeros = torch.full((types.shape[0], 1), PRISTINE_CLASS, dtype=torch.long,
                       device=types.device)
    return torch.cat([zeros, distortion_class(types, levels)], dim=1)


# ----------------------------------------------------------------------------- views


@dataclass(frozen=True)
class HalvesBoxes:
    """Where the two crops of the two-halves sampler lie (the same for a whole scene).

    Attributes:
        axis: 0 when the image is split along its height (top / bottom halves), 1 along
            its width (left / right).
        side: side of both square crops (``min(H, W) // 2``).
        first: ``(top, left)`` of the crop from half 1.
        second: ``(top, left)`` of the crop from half 2.
    """

    axis: int
    side: int
    first: tuple[int, int]
    second: tuple[int, int]


def two_halves_boxes(height: int, width: int, generator: torch.Generator) -> HalvesBoxes:
    """Draw the split and the two crops of the two-halves sampler.

    Half 1 is rows (or columns) ``[0, n // 2)``, half 2 ``[n // 2, n)``; each crop of side
    ``min(H, W) // 2`` lies inside its half, so the two never overlap.

    Raises:
        ValueError: an image side below 2.
    """
    if min(height, width) < 2:
        raise ValueError(f"image too small to split: {height} x {width}")
    side = min(height, width) // 2
    axis = randint(2, generator)
    if axis == 0:
        mid = height // 2
        first = (randint(mid - side + 1, generator), randint(width - side + 1, generator))
        second = (mid + randint(height - mid - side + 1, generator),
                  randint(width - side + 1, generator))
    else:
        mid = width // 2
        first = (randint(height - side + 1, generator), randint(mid - side + 1, generator))
        second = (randint(height - side + 1, generator),
                  mid + randint(width - mid - side + 1, generator))
    return HalvesBoxes(axis, side, first, second)


def crop(images: torch.Tensor, top_left: tuple[int, int], side: int) -> torch.Tensor:
    """The ``side`` x ``side`` square at ``top_left`` of ``(..., H, W)`` images."""
    top, left = top_left
    return images[..., top:top + side, left:left + side]


def resize_square(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize ``(..., 3, s, s)`` crops to ``size`` (antialiased bilinear); None: as is."""
    if size is None or images.shape[-1] == size:
        return images
    lead = images.shape[:-3]
    flat = images.reshape(-1, *images.shape[-3:])
    dtype = flat.dtype
    out = F.interpolate(flat.float(), size=(size, size), mode="bilinear", align_corners=False,
                        antialias=True)
    out = out.round().clamp(0, 255).to(dtype) if dtype == torch.uint8 else out.clamp(0, 1)
    return out.reshape(*lead, *out.shape[-3:])


def two_halves_views(scenes: torch.Tensor, generator: torch.Generator,
                     out_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The two-halves views of a batch of scenes.

    Args:
        scenes: ``(B, k, 3, H, W)``.
        generator: CPU generator of the split and crop positions (one draw per scene).
        out_size: resize the crops to this side (None: keep ``min(H, W) // 2``).

    Returns:
        ``(view1, view2)``, each ``(B, k, 3, c, c)``: the crops of half 1 and half 2.
    """
    h, w = scenes.shape[-2:]
    first, second = [], []
    for scene in scenes:
        box = two_halves_boxes(h, w, generator)
        first.append(crop(scene, box.first, box.side))
        second.append(crop(scene, box.second, box.side))
    return resize_square(torch.stack(first), out_size), resize_square(torch.stack(second),
                                                                      out_size)


def scale_views(scenes: torch.Tensor, generator: torch.Generator,
                out_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """CONTRIQUE's views: a crop of the image and a crop of the image downscaled by 2.

    Both crops have side ``min(H, W) // 2``; the second one covers the whole downscaled
    image when it is square. The positions are drawn once per scene.

    Returns:
        ``(full_scale, half_scale)``, each ``(B, k, 3, c, c)``.
    """
    b, k, _, h, w = scenes.shape
    side = min(h, w) // 2
    flat = scenes.reshape(b * k, 3, h, w)
    dtype = flat.dtype
    small = F.interpolate(flat.float(), size=(h // 2, w // 2), mode="bilinear",
                          align_corners=False, antialias=True)
    small = (small.round().clamp(0, 255).to(dtype) if dtype == torch.uint8
             else small.clamp(0, 1)).reshape(b, k, 3, h // 2, w // 2)
    full, half = [], []
    for i in range(b):
        full.append(crop(scenes[i], (randint(h - side + 1, generator),
                                     randint(w - side + 1, generator)), side))
        half.append(crop(small[i], (randint(h // 2 - side + 1, generator),
                                    randint(w // 2 - side + 1, generator)), side))
    return resize_square(torch.stack(full), out_size), resize_square(torch.stack(half),
                                                                     out_size)


def make_views(scenes: torch.Tensor, generator: torch.Generator, mode: str = "halves",
               out_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`two_halves_views` (``mode="halves"``) or :func:`scale_views` (``"scales"``)."""
    if mode == "halves":
        return two_halves_views(scenes, generator, out_size)
    if mode == "scales":
        return scale_views(scenes, generator, out_size)
    raise ValueError(f"unknown view mode {mode!r}; known: {', '.join(VIEW_MODES)}")


# ---------------------------------------------------------------------- dataset/sampler


@dataclass(frozen=True)
class SceneSpec:
    """How scenes are made.

    Attributes:
        k: versions per scene (pristine + ``k - 1`` distortions), 2..126.
        work_size: side of the square working image.
        views: ``"halves"`` or ``"scales"``.
        out_size: side the crops are resized to (None: ``work_size // 2``).
        distort_on: ``"workers"`` (everything in the dataset) or ``"device"`` (the
            dataset applies only the Pillow types of :data:`CPU_TYPES` and returns whole
            images; the rest is applied batched on the training device by
            :func:`finish_device_batch`).
    """

    k: int = 4
    work_size: int = 384
    views: str = "halves"
    out_size: int | None = None
    distort_on: str = "workers"

    def __post_init__(self) -> None:
        if not 2 <= self.k <= NUM_CLASSES:
            raise ValueError(f"k must be in 2..{NUM_CLASSES}, got {self.k}")
        if self.work_size < 64:
            raise ValueError(f"work_size must be at least 64, got {self.work_size}")
        if self.views not in VIEW_MODES:
            raise ValueError(f"views must be one of {VIEW_MODES}, got {self.views!r}")
        if self.out_size is not None and self.out_size < 16:
            raise ValueError(f"the crop size must be at least 16, got {self.out_size}")
        if self.distort_on not in ("workers", "device"):
            raise ValueError(f"distort_on must be 'workers' or 'device', got "
                             f"{self.distort_on!r}")

    @property
    def crop_size(self) -> int:
        """Side of the crops fed to the network."""
        return self.out_size if self.out_size is not None else self.work_size // 2


#: Type indices applied on the device in ``distort_on="device"`` mode.
DEVICE_TYPE_MASK = torch.tensor([name not in CPU_TYPES for name in NAMES])


def decode_first_readable(files: Sequence[Path], bad: set[int], index: int,
                          min_side: int = 0) -> torch.Tensor:
    """Decode ``files[index]``, or the next one of the list (cyclically) that decodes with
    both sides at least ``min_side``; each file that does not is added to ``bad``
    (skipped from then on) with a warning naming it, attributed to the dataset's caller.

    Raises:
        ValueError: no file of the list qualifies.
    """
    n = len(files)
    for i in range(n):
        j = (index + i) % n
        if j in bad:
            continue
        try:
            image = decode_image(files[j])
        except ValueError as exc:
            bad.add(j)
            warnings.warn(f"skipping unreadable image {files[j]}: {exc}", stacklevel=3)
            continue
        if min(image.shape[1:]) >= min_side:
            return image
        bad.add(j)
        warnings.warn(f"skipping too small image {files[j]}", stacklevel=3)
    raise ValueError("none of the training images can be decoded")


class SceneDataset(Dataset):
    """Scenes made on the fly from pristine images.

    Items are addressed by ``(seed_key, image_index)`` where ``seed_key`` is a tuple of
    ints identifying the scene (:class:`SceneSampler` gives ``(epoch, slot)``): all its
    random draws come from ``make_generator(seed, TAG_SCENE, *seed_key)``.

    With ``spec.distort_on == "workers"`` an item is ``{"views": uint8 (k, 2, 3, c, c),
    "labels": int64 (k,)}``; with ``"device"``, ``{"images": uint8 (k, 3, S, S),
    "types": (k-1,), "levels": (k-1,), "labels": (k,)}`` where the versions whose type is
    not in :data:`CPU_TYPES` are still pristine copies.

    An image that fails to decode is reported with a warning naming it and replaced by
    the next image of the list.
    """

    def __init__(self, files: Sequence[str | os.PathLike], spec: SceneSpec, seed: int = 0
                 ) -> None:
        if not files:
            raise ValueError("no images")
        self.files = [Path(f) for f in files]
        self.spec = spec
        self.seed = int(seed)
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> torch.Tensor:
        """Decode image ``index``, or the next decodable one (a warning per bad file).

        Raises:
            ValueError: no image of the list decodes.
        """
        return decode_first_readable(self.files, self._bad, index)

    def __getitem__(self, item: tuple[Sequence[int], int]) -> dict[str, torch.Tensor]:
        seed_key, index = item
        gen = make_generator(self.seed, TAG_SCENE, *seed_key)
        spec = self.spec
        pristine = working_crop(self.load(int(index)), spec.work_size, gen)
        pristine = quantize(pristine)[None]
        types, levels = draw_distortion_classes(1, spec.k - 1, gen)
        labels = scene_labels(types, levels)[0]
        if spec.distort_on == "device":
            only = ~DEVICE_TYPE_MASK[types]
            scene = apply_drawn_distortions(pristine, types, levels, gen, only=only)
            return {"images": to_uint8(scene[0]), "types": types[0], "levels": levels[0],
                    "labels": labels}
        scene = quantize(apply_drawn_distortions(pristine, types, levels, gen))
        v1, v2 = make_views(to_uint8(scene), gen, spec.views, spec.out_size)
        return {"views": torch.stack([v1[0], v2[0]], dim=1), "labels": labels}


def finish_device_batch(batch: dict[str, torch.Tensor], spec: SceneSpec, seed: int,
                        device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn a collated batch into float views on ``device``.

    For ``distort_on="device"`` batches, the distortions left to the device are applied
    here, batched over the scenes (their random draws from a generator on ``device``
    seeded with ``seed``), then the views are cut (positions from a CPU generator seeded
    with ``seed``).

    Returns:
        ``(view1, view2, labels)``: ``(B, k, 3, c, c)`` float32 in ``[0, 1]`` twice, and
        ``(B, k)`` int64, all on ``device``.
    """
    labels = batch["labels"].to(device, non_blocking=True)
    if "views" in batch:
        views = from_uint8(batch["views"].to(device, non_blocking=True))
        return views[:, :, 0], views[:, :, 1], labels
    images = from_uint8(batch["images"].to(device, non_blocking=True))
    types, levels = batch["types"], batch["levels"]
    only = DEVICE_TYPE_MASK[types]
    if bool(only.any()):
        gen = torch.Generator(device=device).manual_seed(seed)
        apply_drawn_distortions(images[:, 0], types, levels, gen, only=only, out=images)
        images = quantize(images)
    v1, v2 = make_views(images, torch.Generator().manual_seed(seed), spec.views, spec.out_size)
    return v1.contiguous(), v2.contiguous(), labels


class SceneSampler(Sampler):
    """Yields ``((epoch, slot), image_index)`` for every scene this process trains on.

    Every epoch has ``steps_per_epoch`` steps of ``scenes_per_step`` scenes (summed over
    all processes). The image order of epoch ``e`` is a concatenation of seeded random
    permutations of all images (as many as the epoch needs), so an epoch shorter or
    longer than the image list still visits images evenly. Process ``rank`` of
    ``world_size`` takes the ``rank``-th contiguous share of every step. Iteration starts
    at global step ``start_step``, which is how a resumed run continues exactly.

    Args:
        num_images: images in the dataset.
        scenes_per_step: scenes per optimisation step over all processes.
        steps_per_epoch: steps in one epoch.
        total_steps: steps of the whole run (``epochs * steps_per_epoch``).
        seed: run seed.
        start_step: first global step to yield.
        rank: this process.
        world_size: number of processes (must divide ``scenes_per_step``).
    """

    def __init__(self, num_images: int, scenes_per_step: int, steps_per_epoch: int,
                 total_steps: int, seed: int = 0, start_step: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if num_images < 1 or scenes_per_step < 1 or steps_per_epoch < 1:
            raise ValueError("num_images, scenes_per_step and steps_per_epoch must be >= 1")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad rank {rank} of world size {world_size}")
        if scenes_per_step % world_size:
            raise ValueError(f"scenes per step ({scenes_per_step}) must be divisible by the "
                             f"number of processes ({world_size})")
        self.num_images = num_images
        self.scenes_per_step = scenes_per_step
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = total_steps
        self.seed = seed
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self.local_scenes = scenes_per_step // world_size

    def permutation(self, epoch: int, round_: int) -> torch.Tensor:
        """The ``round_``-th seeded permutation of all images in ``epoch``."""
        gen = make_generator(self.seed, TAG_ORDER, epoch, round_)
        return torch.randperm(self.num_images, generator=gen)

    def image_at(self, epoch: int, slot: int) -> int:
        """Image index of ``slot`` of ``epoch`` (permutation ``slot // n``, entry ``slot % n``)."""
        round_, pos = divmod(slot, self.num_images)
        key = (epoch, round_)
        if getattr(self, "_cached_key", None) != key:
            self._cached_key, self._cached_perm = key, self.permutation(epoch, round_)
        return int(self._cached_perm[pos])

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """Image index of every slot of ``epoch`` (length ``steps * scenes_per_step``)."""
        need = self.steps_per_epoch * self.scenes_per_step
        rounds = -(-need // self.num_images)
        return torch.cat([self.permutation(epoch, j) for j in range(rounds)])[:need]

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step) * self.local_scenes

    def __iter__(self) -> Iterator[tuple[tuple[int, int], int]]:
        for step in range(self.start_step, self.total_steps):
            epoch, in_epoch = divmod(step, self.steps_per_epoch)
            first = in_epoch * self.scenes_per_step + self.rank * self.local_scenes
            for slot in range(first, first + self.local_scenes):
                yield (epoch, slot), self.image_at(epoch, slot)


def collate_scenes(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack the items of :class:`SceneDataset` key by key."""
    return {key: torch.stack([it[key] for it in items]) for key in items[0]}
