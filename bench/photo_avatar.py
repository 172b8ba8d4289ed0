"""Photo-avatar benchmark (issue 22): how well `avatar-from-photo` recovers a face, and how fast.

- Synthetic photos with ground truth: each built-in identity and random mixes of shape targets, rendered at
  512 px (studio light) by a random camera; FaceMesh (the landmark worker) finds the landmarks on that render
  alone and the fit starts from them. Reported: landmark reprojection error (px at 512, fitted vs detected,
  and fitted vs the true mesh's mapped points), the error of the recovered shape coefficients, and the mean
  error of the face's vertices (those within 1 cm of a landmark point) against the template's.
- Real photos shipped in installed packages (scikit-image's astronaut, matplotlib's Grace Hopper): dlib's
  face-recognition distance between the photo and a frontal render of the fitted avatar as every command
  renders it (the .glb through the avatar network; `dlib_distance_fitted`), the same for the plain fitted mesh
  (`dlib_distance_fitted_mesh`), and for the default head (`dlib_distance_default`).
- Fitting time (2 shared CPU cores: noisy).
Writes bench/results/photo_avatar.{json,md} and bench/results/photo_avatar.png.
Run: `make bench-photo` (or `python bench/photo_avatar.py` with a landmark environment and the [eval] extra).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from alteredavatar.avatar.identities import IDENTITY_NAMES, builtin_avatar, get_identity
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net, to_head_frame
from alteredavatar.eval.face_id import face_distance, face_model_available
from alteredavatar.export.bake import bake_mesh
from alteredavatar.export.glb import write_glb
from alteredavatar.export.media import grid, to_uint8, write_png
from alteredavatar.photo.basis import load_basis
from alteredavatar.photo.build import fit_avatar_to_photo
from alteredavatar.photo.correspondence import face_vertices, load_correspondence
from alteredavatar.photo.landmarks import ROOT, detect_faces, landmarks_available
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import orbit
from alteredavatar.render.renderer import RenderConfig, render_mesh

RESULTS = Path(__file__).resolve().parent / "results"
RES = 512
STUDIO = RenderConfig(res=RES, shading="studio", ssaa=1.5)
OBSERVABLE = ("head", "forehead", "eyebrows", "eyes", "nose", "cheek", "mouth", "chin")  # not ears
# face photos that ship inside installed packages: (label, package, path inside it)
REAL_PHOTOS = (
    ("astronaut (scikit-image)", "skimage", "data/astronaut.png"),
    ("Grace Hopper (matplotlib)", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)


def find_packaged(package: str, rel: str) -> Path | None:
    """A data file of `package` in this environment, else in one of the checkout's other environments."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.origin and (Path(spec.origin).parent / rel).exists():
        return Path(spec.origin).parent / rel
    hits = sorted(glob.glob(str(ROOT / ".venv*" / "lib" / "python*" / "site-packages" / package / rel)))
    return Path(hits[0]) if hits else None


def random_mix(rng: np.random.Generator, names: list[str], one_sided: torch.Tensor) -> torch.Tensor:
    """4-6 observable targets with weights in [-0.8, 0.8] (one-sided ones positive)."""
    coef = torch.zeros(len(names))
    pool = [i for i, n in enumerate(names) if n.split("/")[0] in OBSERVABLE]
    for i in rng.choice(pool, size=int(rng.integers(4, 7)), replace=False):
        w = float(rng.uniform(0.3, 0.8)) * (1 if one_sided[i] or rng.random() < 0.5 else -1)
        coef[i] = w
    return coef


def synthetic_case(name: str, coef: torch.Tensor, albedo: torch.Tensor, rng: np.random.Generator) -> dict:
    basis, corr, template = load_basis(), load_correspondence(), builtin_avatar("ada")
    verts = template.verts + basis.offsets(coef)
    cam = dict(
        yaw=float(rng.uniform(-25, 25)),
        pitch=float(rng.uniform(-10, 10)),
        distance=float(rng.uniform(0.5, 0.9)),
        fov=float(rng.uniform(25, 45)),
    )
    cams = orbit(cam["yaw"], cam["pitch"], cam["distance"], cam["fov"])
    with torch.no_grad():
        image = to_uint8(
            render_mesh(verts[None], template.faces, template.uvs, albedo[None], cams, STUDIO).image
        )[0]
        truth = corr.points_seen_from(
            verts, template.faces, cam["yaw"], cam["pitch"]
        )  # where FaceMesh should be
        truth_px = cams.project(truth[None], RES, RES)[0][0]
    found = detect_faces([image], max_faces=1)[0]
    row = {"case": name, "camera": cam, "true_coefficients": int((coef != 0).sum())}
    if found.count == 0:
        return row | {"detected": False}
    result = fit_avatar_to_photo(image, found.landmarks[0])
    fit = result.fit
    face = face_vertices(template.verts, template.faces, corr)
    fitted = template.verts + basis.offsets(fit.coef)
    nz = coef != 0
    return row | {
        "detected": True,
        "landmark_error_px": fit.error_px,
        "landmark_error_vs_truth_px": float((fit.projected - truth_px).norm(dim=-1).mean()),
        "detector_error_px": float(np.linalg.norm(found.landmarks[0] - truth_px.numpy(), axis=1).mean()),
        "coef_mae_all": float((fit.coef - coef).abs().mean()),
        "coef_mae_true_targets": float((fit.coef - coef)[nz].abs().mean()) if nz.any() else 0.0,
        "face_vertex_error_mm": float((fitted - verts)[face].norm(dim=-1).mean() * 1000),
        "face_vertex_error_template_mm": float((template.verts - verts)[face].norm(dim=-1).mean() * 1000),
        "fit_seconds": fit.seconds,
    }


def frontal(avatar: AnimatableAvatar) -> torch.Tensor:
    with torch.no_grad():
        return render_avatar(avatar, torch.zeros(1, 52), orbit(0.0, 0.0), STUDIO).image[0]


def real_case(label: str, path: Path, net) -> tuple[dict, list[np.ndarray]]:
    photo = np.asarray(Image.open(path).convert("RGB"))
    start = time.perf_counter()
    found = detect_faces([photo])[0]
    detect_s = time.perf_counter() - start
    if found.count == 0:
        return {"photo": label, "detected": False}, []
    result = fit_avatar_to_photo(photo, found.landmarks[0])
    total_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:  # the avatar as the commands see it: the .glb, reloaded
        glb = Path(tmp) / "avatar.glb"
        write_glb(bake_mesh(result.mesh, 1024), glb)
        fitted = load_avatar(str(glb), net)
    mesh = to_head_frame(result.mesh)  # the plain mesh framed like a loaded .glb
    with torch.no_grad():
        mesh_img = render_mesh(
            mesh.verts[None], mesh.faces, mesh.uvs, mesh.albedo[None], orbit(0.0, 0.0), STUDIO, mesh.weld
        ).image[0]
    default = load_avatar("builtin:ada", net)
    photo_t = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    images = {"fitted": frontal(fitted), "fitted_mesh": mesh_img, "default": frontal(default)}
    row = {"photo": label, "file": str(path), "detected": True, "faces": found.count}
    for key, img in images.items():
        d = face_distance(photo_t, img) if face_model_available() else None
        row[f"dlib_distance_{key}"] = None if d is None else d["value"]
    row |= {
        "landmark_error_px": result.fit.error_px,
        "face_height_px": float(np.ptp(found.landmarks[0][:, 1])),
        "fit_seconds": result.fit.seconds,
        "detect_seconds": detect_s,
        "total_seconds": total_s,
    }
    lo, hi = found.landmarks[0].min(0), found.landmarks[0].max(0)
    c, side = (lo + hi) / 2, float((hi - lo).max() * 1.6)
    crop = Image.fromarray(photo).crop(
        tuple(round(v) for v in (c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2))
    )
    pics = [np.asarray(crop.resize((RES, RES), Image.LANCZOS))] + [
        to_uint8(images[k][None])[0] for k in images
    ]
    return row, pics


SYNTH_HEADER = [
    "case",
    "landmark error px (fit vs detected)",
    "fit vs true points px",
    "detector vs true px",
    "coef MAE (true targets)",
    "coef MAE (all)",
    "face vertex error mm (fitted / template)",
    "fit s",
]
REAL_HEADER = [
    "photo",
    "dlib_distance_fitted",
    "dlib_distance_fitted_mesh",
    "dlib_distance_default",
    "landmark error px",
    "face height px",
    "fit s",
    "total s (with FaceMesh)",
]


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.fmean(vals) if vals else None


def markdown(out: dict) -> str:
    s = out["synthetic_summary"]
    lines = [
        "# Photo avatar (issue 22)",
        "",
        f"`python bench/photo_avatar.py` on {out['machine']}, torch threads {out['threads']}; "
        "timings are noisy (2 CPU cores shared with other jobs).",
        "",
        "## Synthetic photos with ground truth",
        "",
        f"{s['cases']} renders at {RES} px ({s['detected']} with a face found by FaceMesh): the built-in "
        "identities and random mixes of 4-6 shape targets, each seen by a random camera (yaw +-25, pitch "
        "+-10 degrees, 0.5-0.9 m, fov 25-45 degrees), fitted from FaceMesh's landmarks on the render alone.",
        "",
        row(SYNTH_HEADER),
        row(["---"] * len(SYNTH_HEADER)),
    ]
    for r in out["synthetic"]:
        if not r["detected"]:
            lines.append(f"| {r['case']} | no face found | | | | | | |")
            continue
        lines.append(
            f"| {r['case']} | {r['landmark_error_px']:.2f} | {r['landmark_error_vs_truth_px']:.2f} | "
            f"{r['detector_error_px']:.2f} | {r['coef_mae_true_targets']:.3f} | {r['coef_mae_all']:.3f} | "
            f"{r['face_vertex_error_mm']:.2f} / {r['face_vertex_error_template_mm']:.2f} | "
            f"{r['fit_seconds']:.1f} |"
        )
    lines += [
        f"| **mean** | {s['landmark_error_px']:.2f} | {s['landmark_error_vs_truth_px']:.2f} | "
        f"{s['detector_error_px']:.2f} | {s['coef_mae_true_targets']:.3f} | {s['coef_mae_all']:.3f} | "
        f"{s['face_vertex_error_mm']:.2f} / {s['face_vertex_error_template_mm']:.2f} | "
        f"{s['fit_seconds']:.1f} |",
        "",
        "## Real photos shipped in installed packages",
        "",
        "dlib face-recognition distance (< 0.6 is dlib's 'same person') between the photo and a frontal "
        "render (studio light) of: the fitted avatar as the commands render it (.glb through the avatar "
        "network), the plain fitted mesh with its photo texture, and the default head `builtin:ada`.",
        "",
        row(REAL_HEADER),
        row(["---"] * len(REAL_HEADER)),
    ]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for r in out["real"]:
        if not r["detected"]:
            lines.append(f"| {r['photo']} | no face found | | | | | | |")
            continue
        lines.append(
            f"| {r['photo']} | {fmt(r['dlib_distance_fitted'])} | {fmt(r['dlib_distance_fitted_mesh'])} | "
            f"{fmt(r['dlib_distance_default'])} | {r['landmark_error_px']:.2f} | {r['face_height_px']:.0f} | "
            f"{r['fit_seconds']:.1f} | {r['total_seconds']:.1f} |"
        )
    m = out["real_summary"]
    lines += [
        f"| **mean** | {fmt(m['dlib_distance_fitted'])} | {fmt(m['dlib_distance_fitted_mesh'])} | "
        f"{fmt(m['dlib_distance_default'])} | | | {fmt(m['fit_seconds'])} | |",
        "",
        "![photo | fitted (network) | fitted mesh | default head](photo_avatar.png)",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", type=int, default=8, help="random shape mixes besides the identities")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not landmarks_available():
        raise SystemExit("no MediaPipe environment: run `make landmarks-env` first")
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    basis = load_basis()
    synthetic = []
    for name in IDENTITY_NAMES:
        coef = basis.coefficients(get_identity(name).shape)
        synthetic.append(synthetic_case(name, coef, builtin_avatar(name).albedo, rng))
        print(synthetic[-1], flush=True)
    for k in range(args.mixes):
        coef = random_mix(rng, basis.names, basis.one_sided)
        albedo = builtin_avatar(IDENTITY_NAMES[k % len(IDENTITY_NAMES)]).albedo
        synthetic.append(synthetic_case(f"mix {k}", coef, albedo, rng))
        print(synthetic[-1], flush=True)
    found = [r for r in synthetic if r["detected"]]
    keys = (
        "landmark_error_px",
        "landmark_error_vs_truth_px",
        "detector_error_px",
        "coef_mae_true_targets",
        "coef_mae_all",
        "face_vertex_error_mm",
        "face_vertex_error_template_mm",
        "fit_seconds",
    )
    summary = {"cases": len(synthetic), "detected": len(found)} | {k: mean(found, k) for k in keys}
    net = load_avatar_net()
    real, pictures = [], []
    for label, package, rel in REAL_PHOTOS:
        path = find_packaged(package, rel)
        if path is None:
            real.append({"photo": label, "detected": False, "note": f"{package} is not installed"})
            continue
        row, pics = real_case(label, path, net)
        real.append(row)
        pictures.append(pics)
        print(row, flush=True)
    real_found = [r for r in real if r["detected"]]
    real_summary = {
        k: mean(real_found, k)
        for k in ("dlib_distance_fitted", "dlib_distance_fitted_mesh", "dlib_distance_default", "fit_seconds")
    }
    out = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "threads": args.threads,
        "seed": args.seed,
        "synthetic": synthetic,
        "synthetic_summary": summary,
        "real": real,
        "real_summary": real_summary,
        "note": "timings on 2 CPU cores shared with other jobs: noisy",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "photo_avatar.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "photo_avatar.md").write_text(markdown(out))
    if pictures:
        cells = np.stack(
            [np.stack([np.asarray(Image.fromarray(p).resize((256, 256))) for p in row]) for row in pictures]
        )
        write_png(
            grid(cells, ["photo", "fitted (as rendered)", "fitted mesh", "default head"]),
            RESULTS / "photo_avatar.png",
        )
    print(json.dumps({"synthetic": summary, "real": real_summary}, indent=2))


if __name__ == "__main__":
    main()
